"""`triage-bot classify FILE`: offline triage of a CSV/JSONL file, no Slack, no network.

It streams: rows are read, classified in batches of what is ready and written as they go,
in constant memory however large the file (or `-` for standard input, or a pipe).
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections import Counter
from pathlib import Path

BATCH = 256  # tickets per model call; a slow pipe gets smaller batches, never a wait
BATCH_CHARS = 131_072  # a batch of a file also ends at this much text (long tickets: fewer)
GC_YOUNG = 100_000  # allocations between collections of young objects while tickets run


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "classify",
        help="triage a CSV or JSONL file of tickets offline",
        description="Propose a tag, confidence, sentiment and decision for every ticket in FILE.",
    )
    parser.add_argument(
        "file", type=Path, help="CSV (header row) or JSONL file of tickets; '-' reads stdin"
    )
    parser.add_argument("--format", choices=["table", "jsonl"], default="table")
    parser.add_argument("--input-format", choices=["csv", "jsonl"], help="override detection")
    parser.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress on stderr: auto = on a terminal or once a run gets long (never stdout)",
    )
    parser.set_defaults(run=run)


TABLE_HEADER = f"{'ticket':<14} {'tag':<18} {'conf':>5}  {'sentiment':<9} {'decision':<7} why"


def _table_row(result) -> str:
    reasons = "; ".join(r.split(":", 1)[0] for r in result.reasons) or "-"
    return (
        f"{result.ticket_id[:14]:<14} {result.tag:<18} {result.confidence:>5.2f}  "
        f"{result.sentiment!s:<9} {result.decision:<7} {reasons}"
    )


def _row_chars(row) -> int:
    """How much text a row brings to its batch."""
    ticket = row.ticket
    return 0 if ticket is None else len(ticket.subject) + len(ticket.body)


def make_progress(args: argparse.Namespace, label: str, path: Path | None, holder: list):
    """The stderr progress line for a command reading `path` (ETA from bytes read)."""
    from bot.progress import Progress, file_fraction

    if getattr(args, "progress", "auto") == "never":
        return None
    size = path.stat().st_size if path is not None and path.is_file() else 0
    always = getattr(args, "progress", "auto") == "always"
    return Progress(label, fraction=file_fraction(holder, size), always=always)


def run(args: argparse.Namespace, settings) -> int:
    # Imports and models build objects that live until exit, not garbage: no collection
    # while they load (each would walk all of them again), then they are frozen below.
    threshold = gc.get_threshold()
    gc.disable()
    try:
        return _run(args, settings)
    finally:
        gc.set_threshold(*threshold)
        gc.enable()


def _run(args: argparse.Namespace, settings) -> int:
    from bot.commands.common import CommandError, classifier_and_policies
    from bot.intake.files import STDIN, TicketFileError, read_ticket_file
    from bot.streaming import full_batches, ready_batches
    from bot.triage_batch import triage_many

    handle: list = []
    try:
        # The file is checked before anything is printed: an error is one line, no header.
        rows = read_ticket_file(args.file, args.input_format, on_open=handle.append)
    except TicketFileError as exc:
        raise CommandError(str(exc)) from exc
    classifier, policies = classifier_and_policies(settings)
    # Everything loaded so far (models, vocabularies, modules) lives until exit: frozen, the
    # collector stops walking it again and again while tickets churn through (~4% of a run).
    # A batch's own objects (a few hundred per ticket, freed by reference counting) would
    # still be walked every 700 allocations: the collector runs every GC_YOUNG instead.
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
    gc.enable()
    progress = make_progress(args, "classify", args.file, handle)
    # A regular file is always ready: read in this thread. A pipe or stdin is read by a
    # thread of its own, so each batch is what has arrived.
    if args.file != STDIN and args.file.is_file():
        batches = full_batches(rows, BATCH, _row_chars, BATCH_CHARS)
    else:
        batches = ready_batches(rows, BATCH)
    decisions: Counter[str] = Counter()
    skipped = 0
    out = sys.stdout
    table = args.format == "table"
    header_due = table
    try:
        for batch in batches:
            items = []
            for row in batch:
                if row.ticket is None:
                    skipped += 1
                    print(f"{args.file}: {row.problem}; skipped", file=sys.stderr)
                else:
                    items.append((row.ticket.id, row.ticket.text))
            lines = []
            for result in triage_many(items, classifier, policies):
                decisions[result.decision] += 1
                if table:
                    lines.append(_table_row(result))
                else:
                    lines.append(result.jsonl_line())
            if header_due and lines:
                out.write(TABLE_HEADER + "\n")
                header_due = False
            if lines:
                out.write("\n".join(lines) + "\n")
                out.flush()  # as it goes: a reader of a pipe sees each batch at once
            if progress is not None:
                progress.update(decisions.total())
    except TicketFileError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        if progress is not None:
            progress.finish()
    total = decisions.total()
    share = f" ({decisions['auto'] / total:.0%} automated)" if total else ""
    print(
        f"{total} ticket(s): {decisions['auto']} auto, {decisions['review']} to review{share}"
        + (f"; {skipped} row(s) skipped" if skipped else ""),
        file=sys.stderr,
    )
    return 0
