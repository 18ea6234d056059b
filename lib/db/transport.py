"""The one interface everything above the database uses: call(function, **args) -> JSON value."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class TextArray(list[str]):
    """A list argument that is a Postgres text[] (e.g. scopes); every other list or dict is jsonb."""


FUNCTION_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class Database(Protocol):
    def call(self, function: str, **args: Any) -> Any:
        """Runs public.<function>(p_<arg> => value, ...) in its own transaction; returns its jsonb."""
        ...

    def close(self) -> None: ...


def check_function_name(function: str) -> str:
    if not FUNCTION_NAME.match(function):
        raise ValueError(f"not a database API function name: {function!r}")
    return function


def check_arg_name(name: str) -> str:
    if not FUNCTION_NAME.match(name):
        raise ValueError(f"not a valid argument name: {name!r}")
    return name


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` for the values the API passes besides JSON ones."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON text of an argument without copying it first (pages hold thousands of nested dicts)."""
    return json.dumps(value, default=json_default, separators=(",", ":"))


def to_json_value(value: Any) -> Any:
    """JSON-ready form of an argument (what PostgREST receives)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return value
