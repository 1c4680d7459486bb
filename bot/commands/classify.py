"""`triage-bot classify FILE`: offline triage of a CSV/JSONL file, no Slack, no network."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from bot.commands.common import CommandError, classifier_and_policies, progress
from bot.intake.files import TicketFileError, read_ticket_file
from bot.settings import Settings
from bot.triage import TriageResult, triage_text


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="triage a CSV or JSONL file of tickets offline",
        description="Propose a tag, confidence, sentiment and decision for every ticket in FILE.",
    )
    parser.add_argument("file", type=Path, help="CSV (header row) or JSONL file of tickets")
    parser.add_argument("--format", choices=["table", "jsonl"], default="table")
    parser.add_argument("--input-format", choices=["csv", "jsonl"], help="override detection")
    parser.set_defaults(run=run)


def _table_row(result: TriageResult) -> str:
    reasons = "; ".join(r.split(":", 1)[0] for r in result.reasons) or "-"
    return (
        f"{result.ticket_id[:14]:<14} {result.tag:<18} {result.confidence:>5.2f}  "
        f"{result.sentiment!s:<9} {result.decision:<7} {reasons}"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    classifier, policies = classifier_and_policies(settings)
    decisions: Counter[str] = Counter()
    skipped = 0
    out = sys.stdout
    if args.format == "table":
        print(
            f"{'ticket':<14} {'tag':<18} {'conf':>5}  {'sentiment':<9} {'decision':<7} why",
            file=out,
        )
    try:
        for row in read_ticket_file(args.file, args.input_format):
            if row.ticket is None:
                skipped += 1
                print(f"{args.file}: {row.problem}; skipped", file=sys.stderr)
                continue
            result = triage_text(row.ticket.id, row.ticket.text, classifier, policies)
            decisions[result.decision] += 1
            if args.format == "jsonl":
                out.write(json.dumps(result.as_output(), ensure_ascii=False) + "\n")
            else:
                print(_table_row(result), file=out)
            progress(sum(decisions.values()))
    except TicketFileError as exc:
        raise CommandError(str(exc)) from exc
    total = sum(decisions.values())
    share = f" ({decisions['auto'] / total:.0%} automated)" if total else ""
    print(
        f"{total} ticket(s): {decisions['auto']} auto, {decisions['review']} to review{share}"
        + (f"; {skipped} row(s) skipped" if skipped else ""),
        file=sys.stderr,
    )
    return 0
