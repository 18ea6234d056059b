"""Runtime stand-ins for the fixes the benchmarks propose, so each can be measured before the lead
applies it to lib/ (the benchmarks never edit lib/ or supabase/). Selected with BENCH_PATCHES
(comma list) in a child process; SQL counterparts live in benchmarks/proposed/*.sql.

  json   lib/db/postgres.py PostgresDatabase.call: pass dict/list arguments to Jsonb with a
         json.dumps that has a `default=` hook for datetime/UUID (C encoder, compact separators)
         instead of copying every row through the recursive pure-Python to_json_value first.
"""
from __future__ import annotations

import json
import os
from datetime import date, datetime
from functools import partial
from typing import Any
from uuid import UUID


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


FAST_DUMPS = partial(json.dumps, default=_json_default, separators=(",", ":"))


def apply(names: str | None = None) -> list[str]:
    names = names if names is not None else os.environ.get("BENCH_PATCHES", "")
    applied = []
    for name in [n.strip() for n in names.split(",") if n.strip()]:
        if name == "json":
            import lib.db.postgres as pgmod
            from psycopg.types.json import set_json_dumps

            set_json_dumps(FAST_DUMPS)
            pgmod.to_json_value = lambda value: value  # type: ignore[assignment]
        else:
            raise ValueError(f"unknown patch {name!r}")
        applied.append(name)
    return applied
