"""Source failures as one clear, secret-free line: what kind of failure, and the database's word.

Driver messages can echo values from the helpdesk (a failed cast quotes the value), so
quoted literals are blanked; the URL is only ever shown with its password masked.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

UNREACHABLE = "unreachable"
PERMISSION = "permission denied"
QUERY = "query error"
OTHER = "error"

_QUOTED = re.compile(r"(?<!\w)'(?:[^']|'')*'|(?<!\w)\"(?:[^\"]|\"\")*\"")
_MYSQL_PERMISSION = {1044, 1045, 1142, 1143, 1227, 1370}
_MYSQL_UNREACHABLE = {2002, 2003, 2005, 2006, 2013, 2055}


class SourceError(RuntimeError):
    """A poll that failed; `kind` is one of UNREACHABLE, PERMISSION, QUERY, OTHER."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"source {kind}: {detail}")
        self.kind = kind
        self.detail = detail


def mask_url(url: str | None) -> str:
    """The URL with its password replaced by ***; junk URLs are not echoed at all."""
    if not url:
        return "(unset)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable URL)"


def _password(url: str | None) -> str | None:
    try:
        return make_url(url).password if url else None  # type: ignore[return-value]
    except Exception:
        return None


def _first_line(exc: BaseException, url: str | None) -> str:
    args = getattr(exc, "args", ())
    if len(args) == 2 and isinstance(args[0], int) and isinstance(args[1], str):
        text = f"{args[1]} (error {args[0]})"  # PyMySQL: (code, message)
    else:
        text = str(exc).strip()
    text = text.splitlines()[0] if text.strip() else type(exc).__name__
    secret = _password(url)
    if secret:
        text = text.replace(str(secret), "***")
    text = _QUOTED.sub("'…'", text)
    return text[:200]


def classify(exc: BaseException, url: str | None) -> SourceError:
    """Turn a driver or SQLAlchemy exception into a SourceError of a known kind."""
    if isinstance(exc, SourceError):
        return exc
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    sqlstate = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "diag", None), "sqlstate", None
    )
    code = orig.args[0] if getattr(orig, "args", None) and isinstance(orig.args[0], int) else None
    detail = _first_line(orig, url)
    if sqlstate == "42501" or code in _MYSQL_PERMISSION or "permission denied" in detail.lower():
        return SourceError(PERMISSION, detail)
    if code in _MYSQL_UNREACHABLE or (sqlstate or "").startswith("08"):
        return SourceError(UNREACHABLE, detail)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return SourceError(UNREACHABLE, detail)
    # psycopg raises connection failures as OperationalError without a SQLSTATE.
    no_code = sqlstate is None and code is None
    module = type(orig).__module__
    if no_code and type(orig).__name__ == "OperationalError" and module.startswith("psycopg"):
        return SourceError(UNREACHABLE, detail)
    if module.startswith("sqlite3") and ("unable to open" in detail or "disk I/O" in detail):
        return SourceError(UNREACHABLE, detail)
    if isinstance(exc, (DBAPIError, SQLAlchemyError)):
        return SourceError(QUERY, detail)
    if isinstance(exc, OSError | TimeoutError):
        return SourceError(UNREACHABLE, detail)
    return SourceError(OTHER, f"{type(exc).__name__}: {detail}")
