"""`triage-bot eval FILE`: how the bot would do on a labelled file (field `tag`; optional when
a `sentiment` or `sarcastic` column labels the row)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.classifier.evaluation import read_eval_file, render_text, run, summarise
from bot.commands.common import CommandError, classifier_and_policies
from bot.intake.files import TicketFileError
from bot.settings import Settings

MAX_PROBLEMS_SHOWN = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="measure triage on a labelled CSV/JSONL file (field 'tag', or 'sentiment'/'sarcastic')",
        description=(
            "Per-tag precision, coverage and threshold, calibration error, a risk-coverage "
            "table and the confusion matrix, with the configured classifier and policies."
        ),
    )
    parser.add_argument("file", type=Path, help="CSV (header row) or JSONL file with a 'tag' field")
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--input-format", choices=["csv", "jsonl"], help="override detection")
    parser.set_defaults(run=run_eval)


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    classifier, policies = classifier_and_policies(settings)
    try:
        rows, problems = read_eval_file(args.file, list(classifier.tags), args.input_format)
    except TicketFileError as exc:
        raise CommandError(str(exc)) from exc
    if problems:
        for problem in problems[:MAX_PROBLEMS_SHOWN]:
            print(f"{args.file}: {problem}", file=sys.stderr)
        if len(problems) > MAX_PROBLEMS_SHOWN:
            print(f"{args.file}: … and {len(problems) - MAX_PROBLEMS_SHOWN} more", file=sys.stderr)
        raise CommandError(
            f"{len(problems)} row(s) without a usable label; fix them (every row needs a 'tag' "
            f"among: {', '.join(classifier.tags)}; or a 'sentiment' / 'sarcastic' label)"
        )
    if not rows:
        raise CommandError(f"{args.file}: no labelled tickets to evaluate")
    report = summarise(run(rows, classifier, policies), classifier, policies)
    if args.format == "json":
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print(render_text(report))
    return 0
