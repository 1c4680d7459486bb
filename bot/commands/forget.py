"""`triage-bot forget --requester X | --ticket ID`: erase ticket text and personal data.

For a data subject's request. The tickets stay known by id (so the helpdesk source or a
re-sent webhook does not bring them back), their decisions and the append-only audit
trail keep their metadata, and the Slack messages the bot posted for them are replaced by
a notice (through the outbox: `serve` sends it, or `--no-slack` leaves Slack alone).
"""

from __future__ import annotations

import argparse

from bot.commands.audit import open_store
from bot.commands.common import CommandError
from bot.retention import REQUEST_REASON
from bot.settings import Settings
from bot.text import escape_mrkdwn

NOTICE = "Ticket #{id}: its text and personal data were erased on request."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "forget",
        help="erase ticket text and personal data (the audit trail keeps its metadata)",
        description=(
            "Erase the subject, body and requester of one requester's tickets or of one "
            "ticket. Decisions and the audit trail keep their metadata."
        ),
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--requester", help="an e-mail address or name, as the tickets carry it")
    who.add_argument("--ticket", help="a ticket id, as it arrived")
    parser.add_argument(
        "--dry-run", action="store_true", help="list the tickets that would be erased"
    )
    parser.add_argument("--no-slack", action="store_true", help="do not replace the Slack messages")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings.database_url)
    try:
        if args.ticket is not None:
            ticket = store.get_ticket(args.ticket)
            if ticket is None:
                raise CommandError(f"no ticket {args.ticket!r} in the store")
            ids = [ticket.id]
        else:
            ids = store.tickets_of_requester(args.requester)
            if not ids:
                raise CommandError("no ticket in the store has that requester")
        if args.dry_run:
            print(f"would erase {len(ids)} ticket(s): {', '.join(ids)}")
            return 0
        erased: list[str] = []
        for tid in ids:  # one notice text per ticket
            notice = "" if args.no_slack else NOTICE.format(id=escape_mrkdwn(tid))
            erased += store.erase_tickets(
                [tid], actor="cli:forget", reason=REQUEST_REASON, notice=notice
            )
    finally:
        store.engine.dispose()
    already = len(ids) - len(erased)
    line = f"erased {len(erased)} ticket(s)"
    if erased:
        line += f": {', '.join(erased)}"
    if already:
        line += f" ({already} already erased)"
    print(line)
    return 0
