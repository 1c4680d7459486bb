"""Can the bot reach its database? One line that says what is wrong and how to fix it.

Used by `doctor`, by `serve` before it migrates anything, and by the CLI so that a refused
connection or a missing database never ends in a driver traceback.
"""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

CONNECT_TIMEOUT_SECONDS = 5


def _where(url: str) -> str:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return "the database"
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database or ':memory:'}"
    default = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}.get(parsed.get_backend_name())
    return f"{parsed.host or 'localhost'}:{parsed.port or default}"


def describe_error(exc: BaseException, url: str) -> str:
    """A driver error as one line with the fix; never the password, never a traceback."""
    orig = getattr(exc, "orig", None) or exc
    message = str(orig).strip()
    lowered = message.lower()
    where = _where(url)
    try:
        parsed = make_url(url)
        user = parsed.username
    except (ArgumentError, ValueError):
        user = None
    if "connection refused" in lowered:
        return (
            f"cannot connect to {where}: connection refused; is PostgreSQL running and "
            "listening there (host and port in DATABASE_URL)?"
        )
    missing = re.search(r'database "([^"]+)" does not exist', message)
    if missing:
        return (
            f"database {missing.group(1)!r} does not exist on {where}; create it "
            f"(createdb {missing.group(1)}, or CREATE DATABASE {missing.group(1)};) "
            "or fix the name in DATABASE_URL"
        )
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"{where} refused the login of user {user!r}; check the user and password in DATABASE_URL"
    role = re.search(r'role "([^"]+)" does not exist', message)
    if role:
        return f"user {role.group(1)!r} does not exist on {where}; fix the user in DATABASE_URL"
    if "translate host name" in lowered or "name or service not known" in lowered:
        return f"unknown host in DATABASE_URL ({where}); check the host name"
    if "timeout" in lowered or "timed out" in lowered:
        return f"connecting to {where} timed out; check the host, port and firewall"
    if "unable to open database file" in lowered:
        return (
            f"cannot open the {where}: its directory does not exist or is not writable; "
            "create the directory or point DATABASE_URL elsewhere"
        )
    first = message.splitlines()[0] if message else type(orig).__name__
    return f"cannot use {where}: {type(orig).__name__}: {first}"


def check_connection(
    url: str, timeout: int = CONNECT_TIMEOUT_SECONDS, name: str = "DATABASE_URL"
) -> str | None:
    """None when `SELECT 1` works on `url`; otherwise the one-line problem."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"{name} is not a database URL; use sqlite:///triage.db or postgresql+psycopg://…"
    connect_args: dict[str, object] = {}
    if parsed.get_backend_name() in {"postgresql", "mysql", "mariadb"}:
        connect_args["connect_timeout"] = timeout
    elif parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            from pathlib import Path

            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                return (
                    f"cannot open the SQLite file {database}: folder {folder} does not exist; "
                    "create it or point DATABASE_URL elsewhere"
                )
            return None  # SQLite creates the file on first use; doctor must not create it
    try:
        engine = create_engine(url, connect_args=connect_args, hide_parameters=True)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        return f"{name}: {exc}".splitlines()[0]
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (DBAPIError, SQLAlchemyError, OSError) as exc:
        return describe_error(exc, url).replace("DATABASE_URL", name)
    finally:
        engine.dispose()
    return None
