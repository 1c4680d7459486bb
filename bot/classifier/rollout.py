"""Putting a trained model live, or not, and taking it back: the steps `train`, the
scheduled retrain and `triage-bot model` share. Rules: bot.classifier.governance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.classifier.governance import Verdict, compare, record, shadow_set
from bot.classifier.local import BUNDLED_MODEL, LocalModel
from bot.classifier.registry import Entry, Registry, RegistryError
from bot.policies import PolicySet
from bot.settings import Settings
from bot.store import Store


@dataclass
class Outcome:
    promoted: bool
    version: str
    previous: str | None
    verdict: Verdict
    status: str  # live | held | refused

    def line(self) -> str:
        if self.promoted:
            how = "" if self.verdict.code != "too_few" else " without shadow scoring"
            return f"promoted {self.version}{how} (replaces {self.previous}): {self.verdict.reason}"
        return (
            f"not promoted: {self.version} kept as a candidate ({self.status}): "
            f"{self.verdict.reason}"
        )


def live_model(settings: Settings) -> LocalModel:
    """The model routing now: MODEL_PATH, or the shipped one when MODEL_PATH is absent."""
    if settings.model_path.is_file():
        return LocalModel.load(settings.model_path)
    return LocalModel.load(BUNDLED_MODEL)


def review(
    settings: Settings,
    store: Store,
    policies: PolicySet,
    version: str,
    actor: str,
    allow_unscored: bool = False,
    now: datetime | None = None,
) -> Outcome:
    """Score candidate `version` in shadow against the live model; promote it if it may."""
    registry = Registry(settings.model_path)
    entry = registry.entry(version)
    if entry is None or not registry.file_of(version).is_file():
        raise RegistryError(f"no candidate model {version}; see: triage-bot model list")
    candidate = LocalModel.load(registry.file_of(version))
    live = live_model(settings)
    if candidate.version == live.version:
        verdict = Verdict(False, "already_live", "it is the live model already", 0)
        return Outcome(False, version, live.version, verdict, "live")
    if entry.status == "rolled_back" and actor == "bot":
        verdict = Verdict(
            False,
            "rolled_back",
            "an operator rolled this model back; only an operator may promote it again",
            0,
        )
        return Outcome(False, version, live.version, verdict, "rolled_back")
    tickets = shadow_set(
        store.engine, policies.tags, policies.global_settings.launch_window_days, now
    )
    verdict = compare(candidate, live, tickets, policies)
    unscored = verdict.code == "too_few" and allow_unscored
    if verdict.promote or unscored:
        previous, promoted = registry.promote(
            version, live, verdict.as_dict(), scored=verdict.promote, note=verdict.reason
        )
        _announce_promotion(settings, store, policies, actor, promoted, previous, verdict)
        return Outcome(True, version, previous, verdict, "live")
    status = "held" if verdict.code == "too_few" else "refused"
    registry.mark(version, status, verdict.as_dict(), verdict.reason)
    # Nothing changed for anyone routing: audited, not announced (a nightly retrain that
    # keeps the live model would otherwise post every day). The operator of `train` sees it.
    record(
        store,
        settings,
        policies,
        f"model_{status}",
        actor,
        {"model_version": version, "live_version": live.version, **verdict.as_dict()},
        None,
    )
    return Outcome(False, version, live.version, verdict, status)


def _announce_promotion(
    settings: Settings,
    store: Store,
    policies: PolicySet,
    actor: str,
    promoted: Entry,
    previous: str,
    verdict: Verdict,
) -> None:
    scored = verdict.code != "too_few"
    if scored:
        why = f"scored in shadow on {verdict.tickets} decided tickets: {verdict.reason}"
    else:
        why = (
            f"promoted by {actor} without shadow scoring ({verdict.reason}); the launch gate "
            "counts only this model's own decided tickets from now on"
        )
    text = (
        f":arrows_counterclockwise: The bot now routes with model {promoted.version} "
        f"(was {previous}); {why}. Undo with `triage-bot model rollback`."
    )
    record(
        store,
        settings,
        policies,
        "model_promoted",
        actor,
        {
            "model_version": promoted.version,
            "previous_version": previous,
            "scored": scored,
            "lineage": promoted.lineage,
            **verdict.as_dict(),
        },
        text,
    )


def rollback(
    settings: Settings, store: Store, policies: PolicySet | None, actor: str, reason: str = ""
) -> tuple[str, Entry]:
    """Restore the previous model at MODEL_PATH; audited and announced."""
    registry = Registry(settings.model_path)
    live = live_model(settings)
    removed, restored = registry.rollback(live, note=reason)
    text = (
        f":rewind: Model rolled back by {actor}: the bot routes with {restored.version} again "
        f"(was {removed})" + (f": {reason}" if reason else "") + "."
    )
    record(
        store,
        settings,
        policies,
        "model_rolled_back",
        actor,
        {"model_version": restored.version, "removed_version": removed, "reason": reason},
        text,
    )
    return removed, restored


def evidence_versions(settings: Settings, classifier: object) -> list[str] | None:
    """Model versions whose decided proposals count for the launch gate (None: all)."""
    version = getattr(classifier, "version", None)
    if not isinstance(classifier, LocalModel) or not version:
        return None
    try:
        return Registry(settings.model_path).lineage(version)
    except RegistryError:
        return None
