"""`triage-bot db upgrade`: apply schema migrations to DATABASE_URL."""

from __future__ import annotations

import argparse

from bot.db import upgrade
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("db", help="database schema management")
    sub = parser.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply pending migrations to DATABASE_URL")
    up.set_defaults(run=run_upgrade)


def run_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings.database_url)
    print("database schema is up to date")
    return 0
