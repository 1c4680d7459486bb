"""Database URL forms: the aliases people paste (`postgres://…`) and one-line refusals.

Kept apart from bot/db.py so settings can validate URLs without importing Alembic; SQLAlchemy
itself is imported only when a URL is actually checked, so commands without a database
(`classify`, `eval`) never pay for it.
"""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")

# Heroku, Render, Fly and most hosting dashboards print `postgres://`; SQLAlchemy's bare
# `postgresql://` means psycopg2, which is not installed. Both mean psycopg 3 here.
_STORE_ALIASES = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg"}
_SOURCE_ALIASES = {
    **_STORE_ALIASES,
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
}
STORE_EXAMPLES = "sqlite:///triage.db or postgresql+psycopg://USER:PASSWORD@HOST:5432/DBNAME"
# A SQLite file path without query options: SQLAlchemy parses every such URL as SQLite.
_PLAIN_SQLITE = re.compile(r"sqlite:///[^?]*")
_DRIVER_FIXES = {"psycopg2": "psycopg", "asyncpg": "psycopg", "pg8000": "psycopg"}


def _alias(url: str, aliases: dict[str, str]) -> str:
    match = _SCHEME.match(url)
    if match and match["scheme"].lower() in aliases:
        return aliases[match["scheme"].lower()] + url[match.end("scheme") :]
    return url


def _parse(url: str, name: str, examples: str):  # -> sqlalchemy URL
    if not _SCHEME.match(url):
        raise ValueError(f"not a database URL (no scheme://); use {examples}")
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        scheme = _SCHEME.match(url)["scheme"]  # type: ignore[index]
        raise ValueError(
            f"{scheme}://… cannot be parsed as a database URL; use {examples}"
        ) from None


def normalize_store_url(url: str) -> str:
    """DATABASE_URL as the bot uses it, or ValueError with the fix in one line."""
    url = _alias(url.strip(), _STORE_ALIASES)
    if _PLAIN_SQLITE.fullmatch(url):
        return url  # the default's form: always valid, and no need to load SQLAlchemy for it
    parsed = _parse(url, "DATABASE_URL", STORE_EXAMPLES)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ValueError(
            f"{backend} is not supported for the bot's own store; use {STORE_EXAMPLES}"
        )
    if backend == "postgresql" and driver != "psycopg":
        fixed = _DRIVER_FIXES.get(driver, "psycopg")
        raise ValueError(
            f"driver {driver} is not installed; write postgresql+{fixed}://… (or just postgres://…)"
        )
    return url


def normalize_source_url(url: str) -> str:
    """SOURCE_DATABASE_URL: the same aliases, any SQLAlchemy backend the operator installed."""
    url = _alias(url.strip(), _SOURCE_ALIASES)
    _parse(
        url,
        "SOURCE_DATABASE_URL",
        "postgresql+psycopg://USER:PASSWORD@HOST/DB or mysql+pymysql://USER:PASSWORD@HOST/DB",
    )
    return url


def masked(url: str) -> str:
    """A URL safe for logs and messages: the password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unparseable URL)"
