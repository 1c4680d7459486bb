"""`triage-bot train`: fit the local model on the team's history, base examples and human
decisions; a model meant for MODEL_PATH goes live only through shadow scoring."""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from pathlib import Path

from bot.classifier.local import save_model
from bot.classifier.registry import Registry, RegistryError
from bot.classifier.retrain import (
    BASE_MODES,
    TrainingError,
    deployment_policies,
    fit,
    gather,
)
from bot.commands.common import CommandError
from bot.models import AuditEvent
from bot.settings import Settings

NOT_PROMOTED = 3  # exit code: trained and kept as a candidate, the live model unchanged


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the local classifier on your history and choose its per-tag thresholds",
        description=(
            "Fit the embedded classifier on the team's labelled history (--data files and "
            "SOURCE_TRAIN_QUERY), base examples (TRAINING_DATA) for tags the history lacks, "
            "and the human decisions in DATABASE_URL; choose thresholds on held-out real "
            "tickets. Written to MODEL_PATH, the model goes live only if, scored in shadow on "
            "recently decided tickets, it is at least as precise as the live one."
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        help="the team's labelled history, CSV/JSONL with `tag` or `category` (repeatable)",
    )
    parser.add_argument("--output", type=Path, help="model file to write (default MODEL_PATH)")
    parser.add_argument(
        "--no-human", action="store_true", help="ignore human decisions in the store"
    )
    parser.add_argument(
        "--no-query", action="store_true", help="do not run SOURCE_TRAIN_QUERY even when set"
    )
    parser.add_argument(
        "--base",
        choices=BASE_MODES,
        default="missing",
        help="base examples (TRAINING_DATA): for tags the real data lacks (default), all, none",
    )
    parser.add_argument(
        "--promote-unscored",
        action="store_true",
        help="promote even when too few decided tickets exist to score the model in shadow "
        "(a first model; audited, and the launch gate starts over)",
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


def stage(message: str) -> None:
    """A progress line on stderr: training on a large history takes a while."""
    from bot.progress import clear_line

    clear_line()  # a redrawn rows-read line on a terminal is cleared first
    print(f"… {message}", file=sys.stderr, flush=True)


def _phase(progress) -> str:  # type: ignore[no-untyped-def]
    """'fitting' once the rows stop coming (reading is over; the model is being fitted)."""
    return "fitting the model" if progress.clock() - progress.last_change > 1.0 else ""


def operator() -> str:
    """Who ran the command, for the audit trail."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except Exception:  # no user database in some containers
        return "cli"


def _is_live_path(output: Path, settings: Settings) -> bool:
    return output.resolve() == settings.model_path.resolve()


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.target_precision is not None and not 0.5 < args.target_precision < 1.0:
        raise CommandError("--target-precision must be between 0.5 and 1")
    if not 0.5 <= args.confidence < 1.0:
        raise CommandError("--confidence must be in [0.5, 1)")
    files = list(args.data or [])
    use_query = bool(settings.source_train_query) and not args.no_query
    if args.compare:
        from bot.classifier.selection import compare, render_table

        try:
            gathered = gather(settings, files, use_human=False, use_query=use_query, base=args.base)
        except TrainingError as exc:
            raise CommandError(str(exc)) from exc
        print(render_table(compare(gathered.examples, gathered.tags, gathered.target_precision)))
        return 0
    output = args.output or settings.model_path
    if not _is_live_path(output, settings):
        return _train_file(args, settings, files, use_query, output)
    return _train_governed(args, settings, files, use_query)


def _train(
    args: argparse.Namespace, settings: Settings, files: list[Path], use_query: bool, engine=None
):  # type: ignore[no-untyped-def]
    from bot.progress import Progress, reporting

    started = time.perf_counter()
    stage("reading the labelled history" + (" and SOURCE_TRAIN_QUERY" if use_query else ""))
    # Rows read, their rate and the elapsed time on stderr (on a terminal, or on long runs).
    progress = Progress("train", unit="rows read")
    try:
        with reporting(progress, phase=lambda: _phase(progress)):
            data = gather(
                settings,
                files,
                use_human=not args.no_human,
                engine=engine,
                use_query=use_query,
                base=args.base,
                progress=stage,
            )
            stage(f"fitting on {len(data.fit):,} tickets")
            arrays, report = fit(data, args.confidence, args.target_precision, stage)
    except TrainingError as exc:
        raise CommandError(str(exc)) from exc
    for line in data.lines():
        print(line)
    for line in report.lines():
        print(line)
    print(f"trained in {time.perf_counter() - started:.1f} s")
    return data, arrays, report


def _train_file(
    args: argparse.Namespace, settings: Settings, files: list[Path], use_query: bool, output: Path
) -> int:
    """Not MODEL_PATH: an artefact to evaluate; nothing routes with it, nothing to govern."""
    _data, arrays, _report = _train(args, settings, files, use_query)
    save_model(output, arrays)
    print(f"wrote {output} (size {output.stat().st_size:,} bytes)")
    return 0


def _train_governed(
    args: argparse.Namespace, settings: Settings, files: list[Path], use_query: bool
) -> int:
    from bot.classifier.rollout import review
    from bot.db import SchemaOutOfDateError, ensure_schema, make_engine
    from bot.store import Store

    policies = deployment_policies(settings)
    if policies is None:
        raise CommandError("the policies are invalid; run: triage-bot check-policies")
    data, arrays, report = _train(args, settings, files, use_query)
    try:
        ensure_schema(settings.database_url, auto_upgrade=False)
    except SchemaOutOfDateError as exc:
        raise CommandError(f"{exc}; the store records every model change") from exc
    engine = make_engine(settings.database_url)
    try:
        store = Store(engine)
        registry = Registry(settings.model_path)
        history = [str(p.resolve()) for p in files]
        registry.add_candidate(arrays, "train", history)
        actor = operator()
        store.audit(
            AuditEvent(
                actor=actor,
                action="model_trained",
                detail={
                    "model_version": report.version,
                    "n_fit": report.n_fit,
                    "n_calibration": report.n_calibration,
                    "n_human": data.n_human,
                    "n_history": data.n_history,
                    "history": data.history_sources,
                    "thresholds": report.meta["thresholds"],
                },
            )
        )
        stage("scoring the new model in shadow on recently decided tickets")
        try:
            outcome = review(
                settings, store, policies, report.version, actor, args.promote_unscored
            )
        except RegistryError as exc:
            raise CommandError(str(exc)) from exc
    finally:
        engine.dispose()
    print(outcome.line())
    if outcome.promoted or outcome.verdict.code == "already_live":
        print(f"live model: {settings.model_path} ({report.version})")
        return 0
    if outcome.verdict.code == "too_few":
        print(
            "to put it live anyway (e.g. a first model, before any ticket was decided): "
            f"triage-bot model promote {report.version} --unscored"
        )
    print(f"candidate kept at {registry.file_of(report.version)}; see: triage-bot model list")
    return NOT_PROMOTED
