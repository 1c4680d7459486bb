"""Training from the deployment's settings: labelled file + human decisions → MODEL_PATH.

Shared by `triage-bot train` and the scheduled retrain inside `serve`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.feedback import human_examples
from bot.classifier.local import ModelArrays, save_model
from bot.classifier.training import (
    Example,
    LabelProblem,
    TrainReport,
    file_examples,
    read_labelled_file,
    train,
)
from bot.policies import load_policies
from bot.settings import Settings

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot start: no data, bad labels, or an unusable store."""


@dataclass
class TrainingData:
    examples: list[Example]
    n_file: int
    n_human: int
    tags: tuple[str, ...]
    target_precision: float


def deployment_tags(settings: Settings) -> tuple[tuple[str, ...], float]:
    """The tags the policies cover and the target precision from `_global.yml`."""
    policies, _problems = load_policies(settings.policies_dir)
    if policies is None or not policies.tags:
        return DEFAULT_TAGS, 0.97
    return tuple(policies.tags), policies.global_settings.target_precision


def _store_has_decisions(engine: Engine) -> bool:
    try:
        return inspect(engine).has_table("decisions") and inspect(engine).has_table("tickets")
    except Exception:  # an unreachable store is reported by the caller as "no human labels"
        return False


def gather(
    settings: Settings,
    data_files: list[Path],
    use_human: bool = True,
    engine: Engine | None = None,
) -> TrainingData:
    """Every labelled example available to this deployment, or TrainingError saying why not."""
    tags, target = deployment_tags(settings)
    examples: list[Example] = []
    problems: list[tuple[Path, LabelProblem]] = []
    n_file = 0
    for path in data_files:
        if not path.is_file():
            raise TrainingError(
                f"training file {path} does not exist (set TRAINING_DATA or --data)"
            )
        rows, bad = read_labelled_file(path, tags)
        problems.extend((path, p) for p in bad)
        examples.extend(file_examples(rows))
        n_file += len(rows)
    if problems:
        shown = "; ".join(f"{path}: {p}" for path, p in problems[:5])
        raise TrainingError(f"{len(problems)} unusable labelled row(s): {shown}")
    n_human = 0
    if use_human:
        own = engine is None
        url = settings.database_url
        skip = own and url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists()
        if not skip:
            engine = engine or create_engine(url)
            try:
                if _store_has_decisions(engine):
                    human = human_examples(engine, tags)
                    examples.extend(human)
                    n_human = len(human)
            finally:
                if own:
                    engine.dispose()
    if not examples:
        raise TrainingError("no labelled examples: give a labelled file or decide tickets in Slack")
    return TrainingData(examples, n_file, n_human, tags, target)


def train_to(
    settings: Settings,
    output: Path,
    data_files: list[Path],
    use_human: bool = True,
    engine: Engine | None = None,
    confidence: float = 0.95,
    target_precision: float | None = None,
    **train_options: object,
) -> tuple[ModelArrays, TrainReport]:
    """Train and write the model file atomically; returns the model and its report."""
    data = gather(settings, data_files, use_human, engine)
    try:
        arrays, report = train(
            data.examples,
            data.tags,
            target_precision=target_precision or data.target_precision,
            confidence=confidence,
            **train_options,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        raise TrainingError(str(exc)) from exc
    save_model(output, arrays)
    log.info("trained model %s written to %s", report.version, output)
    return arrays, report
