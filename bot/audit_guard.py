"""The audit trail is append-only against the bot itself: two PostgreSQL roles.

Triggers refuse UPDATE, DELETE and TRUNCATE on `audit_events`, but the role that owns a
table may disable its triggers. So the tables belong to an owner role that only runs
`triage-bot db upgrade`, and the bot runs as a separate runtime role that may read and
write what it needs but only INSERT and SELECT on `audit_events` (docs/postgres-roles.md).

- grant_runtime_role(): run by `db upgrade` as the owner, after the migrations.
- audit_guard(): what the operator's check command (`doctor`) reports: warnings when
  the role the bot connects as could alter or rewrite the audit table.
- is_privilege_error(): tells `serve` that its role may not migrate, so it can say what
  to run as the owner instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

AUDIT_TABLE = "audit_events"
VERSION_TABLE = "alembic_version"
# Write access the running bot needs on every other table of its schema.
RUNTIME_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
# insufficient_privilege ("permission denied", "must be owner"), and invalid_schema_name
# ("no schema has been selected to create in": a role without USAGE on the bot's schema).
PRIVILEGE_STATES = frozenset({"42501", "3F000"})
DOCS = "docs/postgres-roles.md"


class RoleSetupError(RuntimeError):
    """The runtime role cannot be granted its rights (missing, or the owner itself)."""


def is_privilege_error(exc: BaseException) -> bool:
    """A PostgreSQL 'permission denied' / 'must be owner' error, however wrapped."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in PRIVILEGE_STATES:
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if orig is not None and orig is not seen else seen.__cause__
    return False


def _quote(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote_identifier(name)


def grant_runtime_role(connection: Connection, role: str) -> list[str]:
    """Give `role` what the running bot needs in the current schema, and no more.

    Every table: SELECT, INSERT, UPDATE, DELETE; `audit_events`: SELECT and INSERT only;
    `alembic_version`: SELECT (so `serve` can see whether the schema is current);
    sequences: USAGE and SELECT. Runs again after every upgrade, so tables added by later
    migrations are covered. Returns the statements run.
    """
    if connection.dialect.name != "postgresql":
        raise RoleSetupError("--runtime-role needs PostgreSQL; SQLite has no roles")
    exists = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if exists is None:
        raise RoleSetupError(
            f"role {role!r} does not exist; create it first: CREATE ROLE {role} LOGIN "
            f"PASSWORD '…' ({DOCS})"
        )
    if exists[0]:
        raise RoleSetupError(f"role {role!r} is a superuser; the bot's runtime role must not be")
    me = connection.execute(text("SELECT current_user")).scalar_one()
    if role == me:
        raise RoleSetupError(
            f"role {role!r} is the role running the migrations (the owner); give the bot "
            f"a separate runtime role ({DOCS})"
        )
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    q_role, q_schema = _quote(connection, role), _quote(connection, schema)
    statements = [
        f"GRANT USAGE ON SCHEMA {q_schema} TO {q_role}",
        f"REVOKE CREATE ON SCHEMA {q_schema} FROM {q_role}",
        f"GRANT {RUNTIME_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {q_schema} TO {q_role}",
        f"REVOKE ALL ON {q_schema}.{AUDIT_TABLE} FROM {q_role}",
        f"GRANT SELECT, INSERT ON {q_schema}.{AUDIT_TABLE} TO {q_role}",
        f"REVOKE ALL ON {q_schema}.{VERSION_TABLE} FROM {q_role}",
        f"GRANT SELECT ON {q_schema}.{VERSION_TABLE} TO {q_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {q_schema} TO {q_role}",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    return statements


@dataclass
class AuditGuardReport:
    """`warnings`: the trail can be rewritten through the bot's role (a doctor failure).
    `notes`: facts worth printing that are not a misconfiguration."""

    role: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.warnings


_PG_FACTS = text(
    """
    SELECT current_user AS role,
           r.rolsuper AS superuser,
           pg_get_userbyid(c.relowner) AS owner,
           pg_has_role(current_user, c.relowner, 'MEMBER') AS owner_member,
           (has_table_privilege(c.oid, 'UPDATE')
            OR has_any_column_privilege(c.oid, 'UPDATE')) AS can_update,
           has_table_privilege(c.oid, 'DELETE') AS can_delete,
           has_table_privilege(c.oid, 'TRUNCATE') AS can_truncate,
           has_table_privilege(c.oid, 'TRIGGER') AS can_trigger,
           has_table_privilege(c.oid, 'INSERT') AS can_insert,
           (SELECT count(*) FROM pg_trigger t
             WHERE t.tgrelid = c.oid AND NOT t.tgisinternal AND t.tgenabled <> 'D') AS triggers
      FROM pg_class c, pg_roles r
     WHERE c.oid = to_regclass(:table) AND r.rolname = current_user
    """
)


def audit_guard(engine: Engine) -> AuditGuardReport:
    """Could the role this engine connects as alter, rewrite or erase the audit trail?

    For the operator's check command, not for the unauthenticated /healthz.
    """
    report = AuditGuardReport()
    if engine.dialect.name == "sqlite":
        report.notes.append(
            "SQLite has no roles: triggers refuse UPDATE and DELETE on the audit trail, but "
            "anyone who can write the database file can rewrite it; for an append-only "
            f"trail use PostgreSQL with an owner and a runtime role ({DOCS})"
        )
        return report
    if engine.dialect.name != "postgresql":
        report.notes.append(f"{engine.dialect.name}: the audit guard is not checked")
        return report
    with engine.connect() as connection:
        facts = connection.execute(_PG_FACTS, {"table": AUDIT_TABLE}).mappings().first()
    if facts is None:
        report.warnings.append("no audit_events table; run: triage-bot db upgrade")
        return report
    role, owner = facts["role"], facts["owner"]
    report.role = role
    fix = (
        f"run migrations as {owner} (`triage-bot db upgrade --runtime-role <bot role>`) and "
        f"the bot as a role without these rights ({DOCS})"
    )
    if facts["superuser"]:
        report.warnings.append(
            f"the bot's database role {role} is a superuser: it can disable the audit "
            f"trail's triggers and rewrite it; {fix}"
        )
    elif facts["owner_member"]:
        which = "owns" if role == owner else f"is a member of {owner}, which owns"
        report.warnings.append(
            f"the bot's database role {role} {which} audit_events: it can disable the "
            f"append-only triggers (ALTER TABLE … DISABLE TRIGGER) and rewrite the trail; {fix}"
        )
    rights = [
        verb
        for verb, key in (
            ("UPDATE", "can_update"),
            ("DELETE", "can_delete"),
            ("TRUNCATE", "can_truncate"),
            ("TRIGGER", "can_trigger"),
        )
        if facts[key]
    ]
    if rights and not (facts["superuser"] or facts["owner_member"]):
        report.warnings.append(
            f"the bot's database role {role} has {', '.join(rights)} on audit_events; "
            f"as {owner} run: triage-bot db upgrade --runtime-role {role}"
        )
    if not facts["can_insert"]:
        report.warnings.append(
            f"the bot's database role {role} cannot INSERT into audit_events, so every "
            f"audited action fails; as {owner} run: triage-bot db upgrade --runtime-role {role}"
        )
    if facts["triggers"] < 2:
        report.warnings.append(
            "the append-only triggers of audit_events are missing or disabled; as the owner "
            "run: ALTER TABLE audit_events ENABLE TRIGGER USER (then triage-bot db upgrade)"
        )
    return report
