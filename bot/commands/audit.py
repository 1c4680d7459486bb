"""`triage-bot audit TICKET_ID` (a ticket's whole story) and `triage-bot audit --since 24h`
(pauses, resumes, mode changes and launch-gate overrides), read from the append-only trail."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot.commands.common import CommandError
from bot.db import make_engine
from bot.models import AuditEvent, utcnow
from bot.ownership.story import CONTROL_ACTIONS, as_json, line, ticket_story
from bot.settings import Settings
from bot.store import Store

_SINCE = re.compile(r"^(\d{1,5})([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="print a ticket's audit story, or the control actions since a time",
        description=(
            "With TICKET_ID: every event of that ticket (received, proposed with model, "
            "confidence and guardrails, each human action), oldest first. With --since: "
            "every pause, resume, timed resume, mode change and launch-gate override."
        ),
    )
    parser.add_argument("ticket_id", nargs="?", help="the ticket's id as it arrived")
    parser.add_argument("--since", help="how far back: 30m, 24h, 7d, 2w, or an ISO date/time")
    parser.add_argument("--format", choices=["text", "jsonl"], default="text")
    parser.set_defaults(run=run)


def parse_since(value: str, now: datetime | None = None) -> datetime:
    """`24h` → now - 24 h; `2026-11-01` or `2026-11-01T09:00` (UTC unless a zone is given)."""
    now = now or utcnow()
    match = _SINCE.match(value.strip().lower())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            f"--since {value!r}: use a duration like 30m, 24h, 7d, 2w or an ISO date", code=2
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def open_store(url: str) -> Store:
    """The store, read-only in spirit: a missing SQLite file or schema is an error, not created."""
    parsed = make_url(url)
    on_disk = parsed.get_backend_name() == "sqlite" and parsed.database not in (
        None,
        "",
        ":memory:",
    )
    if on_disk and not Path(str(parsed.database)).exists():
        raise CommandError(f"DATABASE_URL: no database file at {parsed.database}")
    engine = make_engine(url)
    if not inspect(engine).has_table("audit_events"):
        engine.dispose()
        raise CommandError("DATABASE_URL has no triage-bot schema; run: triage-bot db upgrade")
    return Store(engine)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if not args.ticket_id and not args.since:
        raise CommandError("give a TICKET_ID, or --since 24h for the control actions", code=2)
    since = parse_since(args.since) if args.since else None
    zone = _zone(settings.timezone)
    store = open_store(settings.database_url)
    try:
        if args.ticket_id:
            events = store.audit_events(ticket_id=args.ticket_id, since=since)
            ticket = store.get_ticket(args.ticket_id)
            if ticket is None and not events:
                raise CommandError(f"no ticket {args.ticket_id!r} in the store")
            lines = (
                [as_json(e) for e in events]
                if args.format == "jsonl"
                else ticket_story(ticket, events, zone)
            )
        else:
            with store.session() as session:
                events = list(
                    session.exec(
                        select(AuditEvent)
                        .where(
                            col(AuditEvent.action).in_(CONTROL_ACTIONS),
                            col(AuditEvent.at) >= since,
                        )
                        .order_by(col(AuditEvent.at), col(AuditEvent.id))
                    ).all()
                )
            if args.format == "jsonl":
                lines = [as_json(e) for e in events]
            else:
                assert since is not None
                header = f"Control actions since {since.astimezone(zone):%Y-%m-%d %H:%M %Z}:"
                lines = [header] + [line(e, zone) for e in events]
                if not events:
                    lines.append("(none)")
    finally:
        store.engine.dispose()
    sys.stdout.write("\n".join(lines) + ("\n" if lines else ""))
    return 0
