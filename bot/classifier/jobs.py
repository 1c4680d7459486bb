"""The scheduled retrain inside `serve`, and picking up a model another process trained.

Once a day (RETRAIN_TIME in TIMEZONE) one process — whichever claims the day's run key in
the store first — retrains from the team's history (the files the live model was trained
on, SOURCE_TRAIN_QUERY), the base examples and every human decision so far, records
`model_trained`, and scores the new model in shadow: it replaces MODEL_PATH only when at
least as precise as the live one (bot.classifier.rollout). Every process checks MODEL_PATH
each minute and swaps in a newer model, so all of them route with the same one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from bot.classifier.base import ModelFileError
from bot.classifier.local import LocalModel
from bot.classifier.registry import Registry, RegistryError
from bot.classifier.retrain import TrainingError, deployment_policies, fit, gather
from bot.classifier.rollout import live_model, review
from bot.models import AuditEvent, utcnow

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.runtime import Runtime

log = logging.getLogger(__name__)
RELOAD_SECONDS = 60


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def install(runtime: Runtime, model: LocalModel) -> None:
    """Route with `model` from now on (the classifier and the service share it)."""
    runtime.classifier = model
    runtime.service.classifier = model


def retrain_once(runtime: Runtime, day: date | None = None, **train_options: object) -> str | None:
    """Retrain if this process wins today's run; returns the new version when it went live.

    The new model is a candidate until shadow scoring says it is at least as precise as
    the live one (bot.classifier.governance); the scheduler never promotes an unscored one.
    """
    settings = runtime.settings
    key = f"retrain:{(day or utcnow().date()).isoformat()}"
    if not runtime.store.claim_run(key, owner=_owner()):
        return None
    registry = Registry(settings.model_path)
    try:
        live = live_model(settings)
        known = registry.entry(live.version)
        history = [Path(p) for p in (known.history if known else []) if Path(p).is_file()]
        data = gather(settings, history, use_human=True, engine=runtime.engine)
        arrays, report = fit(data, **train_options)
        registry.add_candidate(arrays, "retrain", [str(p) for p in history])
        policies = deployment_policies(settings)
        if policies is None:
            raise TrainingError("the policies are invalid; run: triage-bot check-policies")
        runtime.store.audit(
            AuditEvent(
                actor="bot",
                action="model_trained",
                detail={
                    "model_version": report.version,
                    "n_fit": report.n_fit,
                    "n_calibration": report.n_calibration,
                    "n_human": report.meta.get("n_human", 0),
                    "n_history": data.n_history,
                    "thresholds": report.meta["thresholds"],
                    "path": str(registry.file_of(report.version)),
                },
            )
        )
        outcome = review(settings, runtime.store, policies, report.version, actor="bot")
    except (TrainingError, RegistryError, ModelFileError, OSError) as exc:
        runtime.store.release_run(key)
        log.error("scheduled retrain failed: %s", exc)
        return None
    except Exception:
        runtime.store.release_run(key)
        log.exception("scheduled retrain failed")
        return None
    runtime.store.finish_run(key)
    log.info("scheduled retrain: %s", outcome.line())
    if not outcome.promoted:
        return None
    if isinstance(runtime.classifier, LocalModel):
        model = LocalModel.load(settings.model_path)
        install(runtime, model)
    return report.version


def reload_if_changed(runtime: Runtime) -> str | None:
    """Swap in MODEL_PATH when it holds a different model than the one in use."""
    current = runtime.classifier
    path: Path = runtime.settings.model_path
    if not isinstance(current, LocalModel) or not path.is_file():
        return None
    try:
        stamp = path.stat().st_mtime_ns
        if current.path == path and getattr(current, "loaded_mtime", None) == stamp:
            return None
        model = LocalModel.load(path)
    except (OSError, ModelFileError) as exc:
        log.error("not reloading the model: %s", exc)
        return None
    model.loaded_mtime = stamp
    if model.version == current.version:
        current.loaded_mtime = stamp
        current.path = path
        return None
    install(runtime, model)
    log.info("model reloaded from %s: %s", path, model.version)
    return model.version


def register_retrain(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    """Daily retrain at RETRAIN_TIME (unset: off) and a per-minute reload check."""
    settings = runtime.settings
    if settings.classifier != "local":
        return
    if settings.retrain_time:
        hour, minute = (int(part) for part in settings.retrain_time.split(":"))

        async def retrain() -> None:
            await asyncio.to_thread(retrain_once, runtime)

        scheduler.add_job(
            retrain,
            "cron",
            hour=hour,
            minute=minute,
            id="retrain_model",
            max_instances=1,
            coalesce=True,
        )

    async def reload() -> None:
        await asyncio.to_thread(reload_if_changed, runtime)

    scheduler.add_job(
        reload, "interval", seconds=RELOAD_SECONDS, id="reload_model", max_instances=1
    )
