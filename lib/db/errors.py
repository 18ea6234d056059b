"""Database errors as values the caller can act on, mapped from our custom SQLSTATEs."""

from __future__ import annotations


class DbError(RuntimeError):
    """A database API call failed. `code` is the SQLSTATE (FV404/FV409/FV422 are ours)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotFound(DbError):
    pass


class Conflict(DbError):
    pass


class InvalidInput(DbError):
    pass


def error_for(code: str | None, message: str) -> DbError:
    code = code or "unknown"
    kind = {
        "FV404": NotFound,
        "FV409": Conflict,
        "FV422": InvalidInput,
        "23514": InvalidInput,
        "23502": InvalidInput,
        "22P02": InvalidInput,
        "22007": InvalidInput,
        "22008": InvalidInput,
    }.get(code, DbError)
    return kind(code, message)
