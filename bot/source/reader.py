"""Reads the helpdesk database: read-only sessions, the operator's SELECT wrapped with a
watermark filter, rows streamed in bounded batches (server-side cursors) so memory stays flat.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url

from bot.source.errors import classify, mask_url
from bot.source.query import SourceQueryError, escape_binds, validate_query

log = logging.getLogger(__name__)

FIELDS = (
    "id",
    "subject",
    "body",
    "created_at",
    "requester",
    "url",
    "first_response_at",
    "resolved_at",
)
OUTCOME_FIELDS = ("first_response_at", "resolved_at")
CURSOR = "bot_cursor"  # the alias the wrapper gives the ordering column
CONNECT_TIMEOUT_SECONDS = 10


def make_source_engine(url: str) -> Engine:
    """An engine whose every session is read-only where the driver supports it."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    connect_args: dict[str, Any] = {}
    if backend == "postgresql":
        options = parsed.query.get("options", "")
        if isinstance(options, tuple):
            options = " ".join(options)
        options = f"{options} -c default_transaction_read_only=on".strip()
        parsed = parsed.update_query_dict({"options": options})
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    elif backend in {"mysql", "mariadb"}:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
    elif backend == "sqlite":
        connect_args["check_same_thread"] = False
    engine = (
        create_engine(
            parsed, pool_pre_ping=True, pool_size=2, max_overflow=2, connect_args=connect_args
        )
        if backend != "sqlite"
        else create_engine(parsed, connect_args=connect_args)
    )

    @event.listens_for(engine, "connect")
    def _read_only(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        if backend == "postgresql" and parsed.get_driver_name() == "psycopg":
            tolerate_absurd_times(dbapi_connection)
        cursor = dbapi_connection.cursor()
        if backend in {"mysql", "mariadb"}:
            cursor.execute("SET SESSION TRANSACTION READ ONLY")
        elif backend == "sqlite":
            cursor.execute("PRAGMA query_only = ON")
        cursor.close()

    if backend not in {"postgresql", "mysql", "mariadb", "sqlite"}:
        log.warning(
            "source %s: read-only sessions are not enforced for %s; rely on a SELECT-only role",
            mask_url(url),
            backend,
        )
    return engine


def tolerate_absurd_times(connection: Any) -> None:
    """Read PostgreSQL times that Python cannot hold (year 0 BC, 10000, `infinity`) as NULL.

    psycopg raises DataError for them, which would fail every poll until a human deleted
    the row; as NULL the ticket is stored with no creation time and polling continues.
    """
    from psycopg import DataError
    from psycopg.types import datetime as pgdt

    def tolerant(base: type) -> type:
        class Tolerant(base):  # type: ignore[misc, valid-type]
            def load(self, data: Any) -> Any:
                try:
                    return super().load(data)
                except DataError:
                    return None

        return Tolerant

    for name, loaders in {
        "timestamptz": (pgdt.TimestamptzLoader, pgdt.TimestamptzBinaryLoader),
        "timestamp": (pgdt.TimestampLoader, pgdt.TimestampBinaryLoader),
        "date": (pgdt.DateLoader, pgdt.DateBinaryLoader),
    }.items():
        for loader in loaders:
            connection.adapters.register_loader(name, tolerant(loader))


@dataclass(frozen=True)
class Columns:
    """Which ticket fields the operator's query returns (lower-case field -> its column name)."""

    present: dict[str, str]
    cursor: str  # the field or column used as the watermark

    def has(self, field: str) -> bool:
        return field in self.present


class SourceReader:
    """The operator's query, checked once, then read through a read-only engine."""

    def __init__(
        self, url: str, query: str, cursor_column: str = "created_at", max_chars: int = 200_000
    ) -> None:
        self.url = url
        self.query = validate_query(query)
        self.cursor_column = cursor_column.strip().lower()
        self.max_chars = max_chars
        self.engine = make_source_engine(url)
        self._columns: Columns | None = None

    @property
    def masked_url(self) -> str:
        return mask_url(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def _q(self, name: str) -> str:
        return self.engine.dialect.identifier_preparer.quote(name)

    def _subquery(self) -> str:
        # Newlines keep a trailing `-- comment` in the operator's SQL from eating the `)`.
        return f"(\n{escape_binds(self.query)}\n) AS src"

    def columns(self) -> Columns:
        """Run the query for its column names only (no rows); validates aliases at start."""
        if self._columns is not None:
            return self._columns
        try:
            with self.engine.connect() as connection:
                result = connection.execute(text(f"SELECT * FROM {self._subquery()} WHERE 1 = 0"))
                names = list(result.keys())
        except Exception as exc:
            raise classify(exc, self.url) from None
        present: dict[str, str] = {}
        lower = {n.lower(): n for n in names}
        for field in FIELDS:
            if field in lower:
                present[field] = lower[field]
        if "id" not in present:
            raise SourceQueryError(
                f"returns no `id` column (it returns: {', '.join(names) or 'nothing'}); "
                "alias the helpdesk's ticket key AS id"
            )
        cursor = self.cursor_column
        if cursor not in lower:
            if cursor != "created_at":
                raise SourceQueryError(
                    f"returns no `{cursor}` column, which SOURCE_CURSOR_COLUMN names"
                )
            log.warning("SOURCE_QUERY has no created_at column: new tickets are found by id")
            cursor = "id"
        self._columns = Columns(present=present, cursor=lower[cursor])
        return self._columns

    def _bounded(self, expr: str, chars: int) -> str:
        """`expr` cut to `chars` characters in the database.

        SQLite's substr() and length() stop at the first NUL of a TEXT value, which would
        cut the rest of a body off; there the value is cut as UTF-8 bytes instead (at most
        four per character) and only when it is long, and clean.py decodes it.
        """
        if self.engine.dialect.name != "sqlite":
            return f"substr({expr}, 1, {chars})"
        limit = chars * 4
        return (
            f"CASE WHEN length(CAST({expr} AS BLOB)) <= {limit} THEN {expr} "
            f"ELSE substr(CAST({expr} AS BLOB), 1, {limit}) END"
        )

    def _uncut(self, row: dict[str, Any]) -> dict[str, Any]:
        """Text that _bounded cut as bytes (SQLite) back to str, minus a split last character."""
        if self.engine.dialect.name != "sqlite":
            return row
        limit = int(self.max_chars) * 2 * 4
        for field in ("subject", "body", "requester"):
            value = row.get(field)
            if isinstance(value, bytes) and len(value) == limit:
                for drop in range(4):
                    try:
                        row[field] = value[: limit - drop].decode("utf-8")
                        break
                    except UnicodeDecodeError:
                        continue
        return row

    def _select_list(self) -> str:
        cols = self.columns()
        parts = []
        for field, column in cols.present.items():
            expr = f"src.{self._q(column)}"
            if field in {"subject", "body", "requester"}:
                # Bounded in the database: a megabyte body never crosses the wire whole.
                expr = self._bounded(expr, int(self.max_chars) * 2)
            parts.append(f"{expr} AS {self._q(field)}")
        parts.append(f"src.{self._q(cols.cursor)} AS {self._q(CURSOR)}")
        return ", ".join(parts)

    def _stream(
        self, sql: str, params: dict[str, Any], batch: int
    ) -> Iterator[list[dict[str, Any]]]:
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(yield_per=batch).execute(text(sql), params)
                for part in result.mappings().partitions(batch):
                    yield [self._uncut(dict(row)) for row in part]
        except GeneratorExit:
            raise
        except Exception as exc:
            raise classify(exc, self.url) from None

    def new_rows(self, low: Any | None, batch: int) -> Iterator[list[dict[str, Any]]]:
        """Rows whose cursor is at or after `low` (all rows when None), in cursor order."""
        cols = self.columns()
        cursor = f"src.{self._q(cols.cursor)}"
        where = f"{cursor} IS NOT NULL" + (f" AND {cursor} >= :low" if low is not None else "")
        sql = (
            f"SELECT {self._select_list()} FROM {self._subquery()} WHERE {where} "
            f"ORDER BY {cursor}, src.{self._q(cols.present['id'])}"
        )
        return self._stream(sql, {"low": low} if low is not None else {}, batch)

    def null_cursor_rows(self, after_id: Any | None, batch: int) -> Iterator[list[dict[str, Any]]]:
        """Rows with no cursor value (e.g. no created_at), found by id instead."""
        cols = self.columns()
        if cols.cursor == cols.present["id"]:
            return iter(())
        ident = f"src.{self._q(cols.present['id'])}"
        where = f"src.{self._q(cols.cursor)} IS NULL AND {ident} IS NOT NULL"
        if after_id is not None:
            where += f" AND {ident} > :after"
        sql = f"SELECT {self._select_list()} FROM {self._subquery()} WHERE {where} ORDER BY {ident}"
        return self._stream(sql, {"after": after_id} if after_id is not None else {}, batch)

    def outcomes(self, raw_ids: Sequence[Any]) -> list[dict[str, Any]]:
        """Current first_response_at / resolved_at for these source ids (one bounded query)."""
        cols = self.columns()
        wanted = [f for f in OUTCOME_FIELDS if cols.has(f)]
        if not wanted or not raw_ids:
            return []
        ident = f"src.{self._q(cols.present['id'])}"
        select_list = ", ".join(
            [f"{ident} AS {self._q('id')}"]
            + [f"src.{self._q(cols.present[f])} AS {self._q(f)}" for f in wanted]
        )
        statement = text(
            f"SELECT {select_list} FROM {self._subquery()} WHERE {ident} IN :ids"
        ).bindparams(bindparam("ids", expanding=True))
        try:
            with self.engine.connect() as connection:
                return [
                    dict(r)
                    for r in connection.execute(statement, {"ids": list(raw_ids)}).mappings()
                ]
        except Exception as exc:
            raise classify(exc, self.url) from None
