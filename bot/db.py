"""Engine creation and schema migrations (Alembic), in one place."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from bot import jsonio

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# A pooled PostgreSQL connection idle this long is pinged before use (_ping_when_idle).
IDLE_PING_SECONDS = 10.0


class SchemaOutOfDateError(RuntimeError):
    """The store's schema is behind the code; the message says what to run."""


def make_engine(url: str, idle_ping_seconds: float = IDLE_PING_SECONDS) -> Engine:
    """An engine tuned for the bot: SQLite in WAL mode with a busy timeout, pooled PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # No pre-ping: a connection to a local file does not go stale, and a ping per
            # checkout is a statement per store call on every click and intake batch.
            hide_parameters=True,  # SQL errors must not carry ticket bodies into logs
            json_serializer=jsonio.dumps,
            json_deserializer=jsonio.loads,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        hide_parameters=True,
        json_serializer=jsonio.dumps,
        json_deserializer=jsonio.loads,
    )
    _ping_when_idle(engine, idle_ping_seconds)
    return engine


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection's liveness at checkout only when it sat idle a while.

    pool_pre_ping would cost a round trip on every checkout: one per intake batch and per
    click, doubling the round trips of a one-statement batch. A connection used moments
    ago is alive; one idle past `idle_seconds` (a restarted or failed-over server, a
    firewall's idle cut) is pinged and, if dead, replaced before use. A server lost
    between two busy checkouts fails that one call, after which SQLAlchemy recognises
    the disconnect and invalidates the whole pool; intake repeats such a batch once
    (bot.intake.batcher), other callers retry as after any store error.
    """

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return  # new (just connected) or in use moments ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool discards it and checks out another
            raise DisconnectionError(f"idle connection is dead: {exc!r}") from exc


def alembic_config(url: str) -> Config:
    """An Alembic config that needs no alembic.ini on disk."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, runtime_role: str | None = None) -> None:
    """Apply every pending migration (all heads) to the database at `url`.

    With `runtime_role` (PostgreSQL), the bot's runtime role is then granted what it needs
    and no more (bot.audit_guard), in the same transaction: run this as the owner role.
    """
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            if connection.dialect.name == "postgresql":
                # Several `serve` processes may start at once; one migrates, the rest wait.
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
            command.upgrade(config, "heads")
            if runtime_role:
                from bot.audit_guard import grant_runtime_role

                grant_runtime_role(connection, runtime_role)
    finally:
        engine.dispose()


def pending_revisions(engine: Engine) -> set[str]:
    """Head revisions in the code that the database does not have yet."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(script.get_heads())
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    return heads - applied


def _refuse_if_runtime_role(exc: Exception, url: str, what: str) -> None:
    """A privilege error means the bot runs as the runtime role, which may not touch the
    schema: say so (`what`, with `{role}` filled in) and name the owner's command."""
    from bot.audit_guard import is_privilege_error

    if not is_privilege_error(exc):
        return
    role = make_url(url).username or "this role"
    raise SchemaOutOfDateError(
        f"{what.replace('{role}', role)}; as the owner role run: DATABASE_URL=<owner's URL> "
        f"triage-bot db upgrade --runtime-role {role}"
    ) from None


def ensure_schema(url: str, *, auto_upgrade: bool) -> None:
    """Bring the schema up to date, or explain exactly what to run."""
    engine = make_engine(url)
    try:
        missing = pending_revisions(engine)
    except Exception as exc:
        _refuse_if_runtime_role(
            exc, url, "the bot's database role {role} may not read the schema version"
        )
        raise
    finally:
        engine.dispose()
    if not missing:
        return
    pending = ", ".join(sorted(missing))
    if auto_upgrade:
        try:
            upgrade(url)
        except Exception as exc:
            _refuse_if_runtime_role(
                exc,
                url,
                f"the database schema is out of date (pending: {pending}) and the bot's "
                "database role {role} may not change it (by design: it is the runtime role)",
            )
            raise
        return
    raise SchemaOutOfDateError(
        f"the database schema is out of date; run: triage-bot db upgrade (pending: {pending})"
    )
