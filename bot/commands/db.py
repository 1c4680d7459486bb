"""`triage-bot db upgrade`: apply schema migrations to DATABASE_URL."""

from __future__ import annotations

import argparse

from bot.audit_guard import RoleSetupError, is_privilege_error
from bot.commands.common import CommandError
from bot.db import upgrade
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema management")
    sub = parser.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply pending migrations to DATABASE_URL")
    up.add_argument(
        "--runtime-role",
        help=(
            "PostgreSQL: after migrating (as the owner role), grant this role what the "
            "running bot needs, with only INSERT and SELECT on the audit trail "
            "(default DATABASE_RUNTIME_ROLE)"
        ),
    )
    up.set_defaults(run=run_upgrade)


def run_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    role = getattr(args, "runtime_role", None) or settings.database_runtime_role
    try:
        upgrade(settings.database_url, runtime_role=role)
    except RoleSetupError as exc:
        raise CommandError(f"db upgrade: {exc}") from None
    except Exception as exc:
        if is_privilege_error(exc):
            raise CommandError(
                "db upgrade: this database role may not change the schema; run it with "
                "DATABASE_URL set to the owner role's URL (docs/postgres-roles.md)"
            ) from None
        raise
    print("database schema is up to date" + (f"; runtime role {role} granted" if role else ""))
    return 0
