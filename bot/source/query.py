"""Refuse at start any SOURCE_QUERY (or other query setting) that is not one plain SELECT.

The bot must never write to the helpdesk. The database role should be SELECT-only and
the session is opened read-only (see reader.py); this check is the first of those three
locks and the one that gives the operator a clear message before anything runs.
"""

from __future__ import annotations

import re

import sqlparse
from sqlparse import tokens as T

from bot.commands.common import CommandError
from bot.source.sql_functions import UnsafeSQL, check_functions, check_lexing

# Keywords that make a statement do more than read, wherever they appear (also inside
# a CTE: PostgreSQL allows `WITH x AS (DELETE … RETURNING *) SELECT …`).
_FORBIDDEN = frozenset(
    {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "UPSERT",
        "REPLACE",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "COPY",
        "CALL",
        "EXEC",
        "EXECUTE",
        "DO",
        "SET",
        "LOCK",
        "INTO",
        "OUTFILE",
        "DUMPFILE",
        "VACUUM",
        "ANALYZE",
        "COMMENT",
        "RENAME",
        "HANDLER",
        "LOAD",
        "PREPARE",
        "DEALLOCATE",
        "REFRESH",
        "REINDEX",
        "CLUSTER",
        "NOTIFY",
        "LISTEN",
        "DISCARD",
        "RESET",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "SAVEPOINT",
        "SHARE",
    }
)
# `FOR UPDATE` / `FOR SHARE` / `FOR NO KEY UPDATE` / `FOR KEY SHARE` take row locks.
_LOCKING = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)
# Named bind markers (`:name`) that SQLAlchemy's text() would take as parameters.
_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")


class SourceConfigError(CommandError):
    """A SOURCE_* setting is missing or wrong: refused at start with one clear line."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code=2)


class SourceQueryError(SourceConfigError):
    """A query setting is not a single read-only SELECT; the message names the setting."""

    def __init__(self, message: str, setting: str = "SOURCE_QUERY") -> None:
        super().__init__(f"{setting} {message}")
        self.setting = setting


def _code(statement: sqlparse.sql.Statement) -> str:
    """The statement with comments and string literals blanked, for the lock check."""
    parts = []
    for token in statement.flatten():
        if token.ttype in T.Comment or token.ttype in T.String or token.ttype in T.Literal.String:
            parts.append(" ")
        else:
            parts.append(token.value)
    return "".join(parts)


def check_query(sql: str | None, setting: str = "SOURCE_QUERY") -> str:
    """The query, trimmed of a trailing `;`, or SourceQueryError naming `setting` and why.

    The one check for every setting that holds SQL the bot runs on the helpdesk
    (SOURCE_QUERY, SOURCE_TRAIN_QUERY, …): one plain SELECT, no writes, no locks, only
    functions from a safe allow-list (see bot.source.sql_functions), and no SQL whose
    meaning differs between the databases the bot reads. It is a first lock that gives
    a clear message; the real guarantee is a database role that can only SELECT.
    """

    def refuse(message: str) -> SourceQueryError:
        return SourceQueryError(message, setting)

    if not sql or not sql.strip():
        raise refuse("is empty; give a SELECT whose columns are aliased to id, subject, …")
    statements = [s for s in sqlparse.parse(sql) if s.token_first(skip_cm=True, skip_ws=True)]
    if len(statements) != 1:
        raise refuse(f"holds {len(statements)} statements; give exactly one SELECT (no `;` chains)")
    statement = statements[0]
    first = statement.token_first(skip_cm=True, skip_ws=True)
    if (
        statement.get_type() != "SELECT"
        or first is None
        or first.normalized
        not in {
            "SELECT",
            "WITH",
        }
    ):
        raise refuse("must be a SELECT (or WITH … SELECT); nothing else is run")
    try:
        check_lexing(statement)
    except UnsafeSQL as exc:
        raise refuse(str(exc)) from None
    for token in statement.flatten():
        if not token.is_keyword:
            continue
        word = token.normalized.upper()
        if token.ttype in T.Keyword.DML and word != "SELECT":
            raise refuse(f"contains {word}; the bot only reads the helpdesk")
        if token.ttype in T.Keyword.DDL or word in _FORBIDDEN:
            raise refuse(f"contains {word}; the bot only reads the helpdesk")
    code = _code(statement)
    if _LOCKING.search(code) or re.search(r"\bLOCK\s+IN\s+SHARE\s+MODE\b", code, re.I):
        raise refuse("takes row locks (FOR UPDATE/SHARE); a poll must not block agents")
    try:
        check_functions(statement)
    except UnsafeSQL as exc:
        raise refuse(str(exc)) from None
    text = str(statement).strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if ";" in _code(sqlparse.parse(text)[0]):
        raise refuse("holds a `;` inside; give exactly one SELECT")
    return text


def validate_query(sql: str | None) -> str:
    """SOURCE_QUERY checked (see check_query)."""
    return check_query(sql, "SOURCE_QUERY")


def check_query_settings(settings: object) -> None:
    """Check every set `*_QUERY` setting (SOURCE_QUERY, SOURCE_TRAIN_QUERY, …) at start."""
    fields = getattr(type(settings), "model_fields", {})
    for name in sorted(fields):
        if name.endswith("_query"):
            value = getattr(settings, name, None)
            if value:
                check_query(value, name.upper())


def escape_binds(sql: str) -> str:
    """Escape `:word` in the operator's SQL so SQLAlchemy's text() leaves it alone."""
    return _BIND.sub(lambda m: "\\:" + m.group(1), sql)
