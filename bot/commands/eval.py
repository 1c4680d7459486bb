"""`triage-bot eval FILE...`: how the bot would do on labelled files (field `tag`; optional when
a `sentiment` or `sarcastic` column labels the row).

Each file is reported on its own (real sources must never be averaged into one figure)
and streamed through the classifier in batches, keeping only counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.classifier.evaluation import (
    Tally,
    evaluate_rows,
    has_tone_label,
    render_text,
    summarise,
)
from bot.classifier.training import LabelledRow, LabelProblem, iter_labelled_file
from bot.commands.common import CommandError, classifier_and_policies
from bot.intake.files import TicketFileError
from bot.settings import Settings

MAX_PROBLEMS_SHOWN = 50


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval",
        help=(
            "measure triage on labelled CSV/JSONL files (field 'tag', or 'sentiment'/"
            "'sarcastic'), each reported separately"
        ),
        description=(
            "Per file: precision of the auto-routed tickets with its 95% lower bound, coverage, "
            "per-tag figures and thresholds, calibration error with a reliability table, a "
            "risk-coverage table and the confusion matrix, with the configured classifier and "
            "policies. Several files are reported one by one, never pooled."
        ),
    )
    parser.add_argument(
        "file", type=Path, nargs="+", help="CSV (header row) or JSONL file with a 'tag' field"
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--input-format", choices=["csv", "jsonl"], help="override detection")
    parser.set_defaults(run=run_eval)


class _Problems:
    """Rows without a usable label: the first few kept to show, all of them counted."""

    def __init__(self) -> None:
        self.shown: list[LabelProblem] = []
        self.count = 0

    def add(self, problem: LabelProblem) -> None:
        self.count += 1
        if len(self.shown) < MAX_PROBLEMS_SHOWN:
            self.shown.append(problem)


def _labelled(path: Path, tags: list[str], fmt: str | None, problems: _Problems):
    for item in iter_labelled_file(path, tags, fmt, untagged=has_tone_label):
        if isinstance(item, LabelledRow):
            yield item
        else:
            problems.add(item)


def _evaluate_file(path: Path, args: argparse.Namespace, classifier, policies) -> dict[str, Any]:
    problems = _Problems()
    try:
        tally: Tally = evaluate_rows(
            _labelled(path, list(classifier.tags), args.input_format, problems),
            classifier,
            policies,
        )
    except TicketFileError as exc:
        raise CommandError(str(exc)) from exc
    if problems.count:
        for problem in problems.shown:
            print(f"{path}: {problem}", file=sys.stderr)
        if problems.count > len(problems.shown):
            print(f"{path}: … and {problems.count - len(problems.shown)} more", file=sys.stderr)
        raise CommandError(
            f"{problems.count} row(s) without a usable label; fix them (every row needs a 'tag' "
            f"among: {', '.join(classifier.tags)}; or a 'sentiment' / 'sarcastic' label)"
        )
    if tally.rows == 0:
        raise CommandError(f"{path}: no labelled tickets to evaluate")
    return summarise(tally, classifier, policies)


def run_eval(args: argparse.Namespace, settings: Settings) -> int:
    classifier, policies = classifier_and_policies(settings)
    reports = [(path, _evaluate_file(path, args, classifier, policies)) for path in args.file]
    if args.format == "json":
        if len(reports) == 1:
            payload: dict[str, Any] = reports[0][1]
        else:
            payload = {"files": [{"file": str(path), **report} for path, report in reports]}
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return 0
    for i, (path, report) in enumerate(reports):
        if len(reports) > 1:
            print(("\n" if i else "") + f"== {path} ==")
        print(render_text(report))
    return 0
