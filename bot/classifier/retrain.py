"""What a training run learns from: the team's history, the base examples, human decisions.

Shared by `triage-bot train` and the scheduled retrain inside `serve`.

- History (real, the team's own): `--data` files and SOURCE_TRAIN_QUERY; labels are tags or
  helpdesk categories mapped by the policies (bot.classifier.history).
- Human decisions in Slack (real): every approve/reassign, except the share kept for
  shadow scoring (bot.classifier.feedback).
- Base examples (TRAINING_DATA, synthetic): for the tags the real data lacks (fewer than
  MIN_REAL_PER_TAG tickets), so a tag missing from the history keeps the base model's
  knowledge; `base="all"` adds them for every tag, `"none"` never.

When real tickets exist, a fixed hash share of them is held out: temperature and thresholds
are chosen on real text only, never on synthetic.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.feedback import human_examples, is_shadow_reserved
from bot.classifier.history import (
    HistoryError,
    read_history_file,
    read_history_query,
    to_examples,
)
from bot.classifier.local import ModelArrays, save_model
from bot.classifier.training import (
    Example,
    LabelProblem,
    TrainReport,
    file_examples,
    is_calibration,
    read_labelled_file,
    train,
)
from bot.policies import PolicySet, load_policies
from bot.settings import Settings

log = logging.getLogger(__name__)

MIN_REAL_PER_TAG = 30  # below this many real tickets, a tag also learns from the base examples
CROSS_FIT_MIN = 200  # real tickets from which thresholds are cross-fitted on all of them
BASE_MODES = ("missing", "all", "none")

Progress = Callable[[str], None]


class TrainingError(RuntimeError):
    """Training cannot start: no data, bad labels, or an unusable store."""


@dataclass
class TrainingData:
    fit: list[Example]
    calibration: list[Example] | None  # held-out real tickets; None: hash split of `fit`
    n_file: int  # base examples used
    n_human: int
    tags: tuple[str, ...]
    target_precision: float
    n_history: int = 0
    history_sources: list[str] = field(default_factory=list)
    real_per_tag: dict[str, int] = field(default_factory=dict)
    base_tags: list[str] = field(default_factory=list)  # tags that learned from base examples
    real: list[Example] = field(default_factory=list)  # history + human decisions
    base: list[Example] = field(default_factory=list)  # TRAINING_DATA examples used

    @property
    def examples(self) -> list[Example]:
        return [*self.fit, *(self.calibration or [])]

    def lines(self) -> list[str]:
        """What went in, for the operator."""
        out = [
            f"history: {self.n_history} labelled ticket(s) from "
            f"{', '.join(self.history_sources) or 'no history'}; "
            f"{self.n_human} human decision(s); {self.n_file} base example(s)"
        ]
        if self.calibration is not None:
            out.append(
                f"thresholds and calibration: {len(self.calibration)} held-out real ticket(s)"
            )
        elif self.n_history or self.n_human:
            out.append("thresholds and calibration: too few real tickets to hold out; base split")
        if self.base_tags and (self.n_history or self.n_human):
            out.append(
                "tags missing from the real data (learned from base examples, routed alone "
                f"only once real evidence exists): {', '.join(self.base_tags)}"
            )
        return out


def deployment_policies(settings: Settings) -> PolicySet | None:
    policies, _problems = load_policies(settings.policies_dir)
    return policies if policies is not None and policies.tags else None


def deployment_tags(settings: Settings) -> tuple[tuple[str, ...], float]:
    """The tags the policies cover and the target precision from `_global.yml`."""
    policies = deployment_policies(settings)
    if policies is None:
        return DEFAULT_TAGS, 0.97
    return tuple(policies.tags), policies.global_settings.target_precision


def _store_has_decisions(engine: Engine) -> bool:
    try:
        return inspect(engine).has_table("decisions") and inspect(engine).has_table("tickets")
    except Exception:  # an unreachable store is reported by the caller as "no human labels"
        return False


def _human(settings: Settings, tags: tuple[str, ...], engine: Engine | None) -> list[Example]:
    own = engine is None
    url = settings.database_url
    if own and url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return []
    engine = engine or create_engine(url)
    try:
        if not _store_has_decisions(engine):
            return []
        return human_examples(engine, tags, exclude=is_shadow_reserved)
    finally:
        if own:
            engine.dispose()


def _base(settings: Settings, tags: tuple[str, ...]) -> list[Example]:
    """TRAINING_DATA's examples; a missing default file is fine, a named missing one is not."""
    path = settings.training_data
    if not path.is_file():
        if "training_data" in settings.model_fields_set:
            raise TrainingError(f"training file {path} does not exist (set TRAINING_DATA)")
        return []
    rows, bad = read_labelled_file(path, tags)
    problems: list[tuple[Path, LabelProblem]] = [(path, p) for p in bad]
    if problems:
        shown = "; ".join(f"{p}: {problem}" for p, problem in problems[:5])
        raise TrainingError(f"{len(problems)} unusable labelled row(s): {shown}")
    return file_examples(rows)


def read_history(
    settings: Settings,
    files: list[Path],
    policies: PolicySet | None,
    tags: tuple[str, ...],
    use_query: bool,
    progress: Progress | None = None,
) -> tuple[list[Example], list[str]]:
    """The team's labelled history from files and SOURCE_TRAIN_QUERY, mapped onto tags."""
    tickets = []
    problems: list[str] = []
    sources: list[str] = []
    for path in files:
        if not path.is_file():
            raise TrainingError(f"training file {path} does not exist (check --data)")
        try:
            found, bad = read_history_file(path)
        except HistoryError as exc:
            raise TrainingError(str(exc)) from None
        tickets.extend(found)
        problems.extend(bad)
        sources.append(str(path))
    if use_query:

        def rows_read(n: int) -> None:
            if progress is not None and n % 5000 == 0:
                progress(f"reading SOURCE_TRAIN_QUERY: {n:,} rows")

        try:
            found, bad = read_history_query(
                settings.source_database_url, settings.source_train_query, rows_read
            )
        except HistoryError as exc:
            raise TrainingError(str(exc)) from None
        tickets.extend(found)
        problems.extend(bad)
        sources.append("SOURCE_TRAIN_QUERY")
    if problems:
        raise TrainingError(f"{len(problems)} unusable labelled row(s): {'; '.join(problems[:5])}")
    try:
        return to_examples(tickets, tags, policies), sources
    except HistoryError as exc:
        raise TrainingError(str(exc)) from None


def gather(
    settings: Settings,
    history_files: list[Path],
    use_human: bool = True,
    engine: Engine | None = None,
    *,
    use_query: bool | None = None,
    base: str = "missing",
    progress: Progress | None = None,
) -> TrainingData:
    """Every labelled example available to this deployment, or TrainingError saying why not."""
    if base not in BASE_MODES:
        raise TrainingError(f"base must be one of {', '.join(BASE_MODES)}")
    policies = deployment_policies(settings)
    tags, target = deployment_tags(settings)
    query = bool(settings.source_train_query) if use_query is None else use_query
    history, sources = read_history(settings, history_files, policies, tags, query, progress)
    human = _human(settings, tags, engine) if use_human else []
    real = [*history, *human]
    per_tag = Counter(e.tag for e in real)
    base_examples = _base(settings, tags) if base != "none" else []
    if base == "missing":
        thin = {t for t in tags if per_tag[t] < MIN_REAL_PER_TAG}
        base_examples = [e for e in base_examples if e.tag in thin]
    base_tags = sorted({e.tag for e in base_examples})
    if not real and not base_examples:
        raise TrainingError(
            "no labelled examples: give the team's history (--data FILE or SOURCE_TRAIN_QUERY), "
            "a TRAINING_DATA file, or decide tickets in Slack"
        )
    absent = [t for t in tags if per_tag[t] == 0 and t not in base_tags]
    if absent:
        raise TrainingError(
            f"no examples for tag(s) {', '.join(absent)}: neither the history nor the base "
            f"examples ({settings.training_data}) have any; add some or remove the tag from "
            "the policies"
        )
    held = [e for e in real if is_calibration(e.key)]
    calibration: list[Example] | None = held or None
    fit_real = [e for e in real if not is_calibration(e.key)] if held else real
    if calibration is not None and not {e.tag for e in [*fit_real, *base_examples]} >= set(tags):
        calibration, fit_real = None, real  # too thin to hold out: every tag must be fitted
    return TrainingData(
        fit=[*fit_real, *base_examples],
        calibration=calibration,
        n_file=len(base_examples),
        n_human=len(human),
        tags=tags,
        target_precision=target,
        n_history=len(history),
        history_sources=sources,
        real_per_tag=dict(per_tag),
        real=real,
        base=base_examples,
        base_tags=base_tags if real else [],
    )


def fit(
    data: TrainingData,
    confidence: float = 0.95,
    target_precision: float | None = None,
    progress: Progress | None = None,
    **train_options: object,
) -> tuple[ModelArrays, TrainReport]:
    """Train on gathered data; thresholds from real held-out tickets whenever there are some.

    With at least CROSS_FIT_MIN real tickets, every real ticket serves as held-out evidence
    once (cross-fitting, bot.classifier.crossfit) and the model is then fitted on all of
    them; with fewer, a fixed share of them is held out. `progress` hears of each model
    a cross-fit fits (several minutes each on a large history).
    """
    target = target_precision or data.target_precision
    if data.calibration and len(data.real) >= CROSS_FIT_MIN:
        from bot.classifier.crossfit import cross_fit

        try:
            return cross_fit(
                data.real, data.base, data.tags, target, confidence, progress, **train_options
            )
        except ValueError as exc:
            raise TrainingError(str(exc)) from exc
    try:
        arrays, report = train(
            data.fit,
            data.tags,
            target_precision=target,
            confidence=confidence,
            calibration=data.calibration,
            **train_options,  # type: ignore[arg-type]
        )
    except ValueError as exc:
        raise TrainingError(str(exc)) from exc
    if data.calibration:
        pool_thresholds(arrays, data.calibration, target, confidence)
    return arrays, report


def pool_thresholds(
    arrays: ModelArrays, calibration: list[Example], target: float, confidence: float
) -> list[str]:
    """Give tags too thin for a bound of their own the threshold proven over all held-out
    tickets (rules: bot.classifier.crossfit.choose_all). Returns the tags that took it."""
    import numpy as np

    from bot.classifier.crossfit import choose_all
    from bot.classifier.local import LocalModel

    model = LocalModel(arrays)
    tags = list(model.tags)
    probs = np.array([model.probabilities(e.text) for e in calibration])
    truth = np.array([tags.index(e.tag) for e in calibration])
    chosen, pooled = choose_all(probs, truth, tags, target, confidence)
    for t in chosen:
        if arrays.meta["thresholds"].get(t.tag) is None and t.threshold is not None:
            arrays.meta["thresholds"][t.tag] = t.threshold
    arrays.meta["pooled_threshold"] = pooled
    return list(pooled["tags"])  # type: ignore[arg-type]


def train_to(
    settings: Settings,
    output: Path,
    history_files: list[Path],
    use_human: bool = True,
    engine: Engine | None = None,
    confidence: float = 0.95,
    target_precision: float | None = None,
    **train_options: object,
) -> tuple[ModelArrays, TrainReport]:
    """Train and write the model file atomically (not governed: `output` is not live)."""
    data = gather(settings, history_files, use_human, engine)
    arrays, report = fit(data, confidence, target_precision, **train_options)
    save_model(output, arrays)
    log.info("trained model %s written to %s", report.version, output)
    return arrays, report
