"""`triage-bot train`: fit the local model on the labelled file plus human decisions."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.classifier.retrain import TrainingError, train_to
from bot.commands.common import CommandError
from bot.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the local classifier and choose its per-tag thresholds",
        description=(
            "Fit the embedded classifier on the labelled file (TRAINING_DATA) plus every human "
            "decision in DATABASE_URL, choose per-tag thresholds on a calibration split, and "
            "write the model to MODEL_PATH."
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help="labelled CSV/JSONL (repeatable; default TRAINING_DATA)",
    )
    parser.add_argument("--output", type=Path, help="model file to write (default MODEL_PATH)")
    parser.add_argument(
        "--no-human", action="store_true", help="ignore human decisions in the store"
    )
    parser.add_argument(
        "--target-precision", type=float, help="default: target_precision in policies/_global.yml"
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="confidence level of the precision bound"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="compare candidate models by cross-validation on the data instead of training",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.target_precision is not None and not 0.5 < args.target_precision < 1.0:
        raise CommandError("--target-precision must be between 0.5 and 1")
    if not 0.5 <= args.confidence < 1.0:
        raise CommandError("--confidence must be in [0.5, 1)")
    data = args.data or [settings.training_data]
    if args.compare:
        from bot.classifier.retrain import gather
        from bot.classifier.selection import compare, render_table

        try:
            gathered = gather(settings, data, use_human=False)
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        print(render_table(compare(gathered.examples, gathered.tags, gathered.target_precision)))
        return 0
    output = args.output or settings.model_path
    try:
        _arrays, report = train_to(
            settings,
            output,
            data,
            use_human=not args.no_human,
            confidence=args.confidence,
            target_precision=args.target_precision,
        )
    except TrainingError as exc:
        raise CommandError(str(exc)) from exc
    for line in report.lines():
        print(line)
    print(f"wrote {output} (size {output.stat().st_size:,} bytes)")
    return 0
