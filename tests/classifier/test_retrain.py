"""Learning from human decisions, the scheduled retrain and picking up a new model file.

Runs on a real store: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import Session

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.feedback import human_examples, is_shadow_reserved
from bot.classifier.jobs import register_retrain, reload_if_changed, retrain_once
from bot.classifier.local import BUNDLED_MODEL, LocalModel
from bot.classifier.registry import Registry
from bot.classifier.retrain import deployment_policies
from bot.classifier.rollout import review
from bot.db import make_engine
from bot.models import Decision, utcnow
from bot.store import Store
from bot.tickets import TicketIn
from tests.classifier.conftest import ROOT, small_rows, write_csv
from tests.conftest import make_settings

FAST = {"max_features": 6000, "folds": 2}


def seed_decisions(store: Store) -> None:
    """Five tickets: approved, reassigned, approved-then-reassigned, auto only, not sure only."""
    store.add_tickets(
        [
            TicketIn(id="h1", subject="Invoice", body="Our invoice shows the wrong VAT number."),
            TicketIn(id="h2", subject="Hmm", body="The export button does nothing at all today."),
            TicketIn(id="h3", subject="Login", body="Cannot sign in with SSO since this morning."),
            TicketIn(id="h4", subject="Auto", body="Please add dark mode to the mobile app."),
            TicketIn(id="h5", subject="?", body="Something about my plan, not sure."),
        ],
        source="test",
    )
    now = utcnow()
    rows = [
        Decision(
            ticket_id="h1",
            action="approve",
            tag="billing",
            proposed_tag="billing",
            actor="U1",
            at=now,
        ),
        Decision(
            ticket_id="h2", action="reassign", tag="bug", proposed_tag="how_to", actor="U1", at=now
        ),
        Decision(
            ticket_id="h3",
            action="approve",
            tag="security",
            proposed_tag="security",
            actor="U1",
            at=now - timedelta(minutes=5),
        ),
        Decision(
            ticket_id="h3",
            action="reassign",
            tag="account_access",
            proposed_tag="security",
            actor="U2",
            at=now,
        ),
        Decision(
            ticket_id="h4",
            action="auto",
            tag="feature_request",
            proposed_tag="feature_request",
            actor="bot",
            at=now,
        ),
        Decision(
            ticket_id="h5", action="not_sure", tag=None, proposed_tag="billing", actor="U1", at=now
        ),
    ]
    with Session(store.engine) as session:
        session.add_all(rows)
        session.commit()


@pytest.fixture
def store(database_url: str) -> Store:
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()


def runtime_for(store: Store, tmp_path: Path, database_url: str, classifier) -> SimpleNamespace:
    settings = make_settings(
        database_url=database_url,
        model_path=tmp_path / "models" / "triage-model.npz",
        training_data=write_csv(tmp_path / "train.csv", small_rows(40)),
        policies_dir=ROOT / "policies",
    )
    service = SimpleNamespace(classifier=classifier)
    return SimpleNamespace(
        settings=settings, store=store, engine=store.engine, classifier=classifier, service=service
    )


def test_human_decisions_become_examples_approve_confirms_reassign_corrects(store: Store):
    seed_decisions(store)
    examples = {e.key: e for e in human_examples(store.engine, DEFAULT_TAGS)}
    assert set(examples) == {"human:h1", "human:h2", "human:h3"}  # no auto, no not-sure
    assert examples["human:h1"].tag == "billing"
    assert examples["human:h2"].tag == "bug"
    assert examples["human:h3"].tag == "account_access"  # the later reassign wins
    assert "VAT number" in examples["human:h1"].text


def trained_versions(store: Store) -> list[str]:
    return [e.detail["model_version"] for e in store.audit_events() if e.action == "model_trained"]


def test_scheduled_retrain_learns_from_the_store_once_per_day_but_never_promotes_unscored(
    store: Store, tmp_path: Path, database_url: str
):
    seed_decisions(store)
    bundled = LocalModel.load(BUNDLED_MODEL)
    runtime = runtime_for(store, tmp_path, database_url, bundled)
    day = date(2026, 11, 27)

    # Three human decisions cannot score a new model in shadow: it is kept, not put live.
    assert retrain_once(runtime, day=day, **FAST) is None
    assert not runtime.settings.model_path.exists()
    assert runtime.classifier is bundled and runtime.service.classifier is bundled
    [version] = trained_versions(store)
    registry = Registry(runtime.settings.model_path)
    candidate = LocalModel.load(registry.file_of(version))
    assert candidate.version == version != bundled.version
    reserved = sum(is_shadow_reserved(t) for t in ("h1", "h2", "h3"))
    assert candidate.meta["n_human"] == 3 - reserved  # the shadow share is never trained on
    entry = registry.entry(version)
    assert entry is not None and entry.status == "held" and "decided ticket" in entry.note
    held = [e for e in store.audit_events() if e.action == "model_held"]
    assert len(held) == 1 and held[0].detail["model_version"] == version
    assert held[0].detail["code"] == "too_few"

    # Another process (or a second firing) the same day does nothing.
    assert retrain_once(runtime, day=day, **FAST) is None
    assert len(trained_versions(store)) == 1


def test_a_new_decision_changes_the_next_models_version(
    store: Store, tmp_path: Path, database_url: str
):
    runtime = runtime_for(store, tmp_path, database_url, LocalModel.load(BUNDLED_MODEL))
    retrain_once(runtime, day=date(2026, 11, 27), **FAST)
    seed_decisions(store)
    retrain_once(runtime, day=date(2026, 11, 28), **FAST)
    first, second = trained_versions(store)
    assert first != second


def test_failed_retrain_releases_the_day_so_it_can_be_retried(
    store: Store, tmp_path: Path, database_url: str
):
    runtime = runtime_for(store, tmp_path, database_url, LocalModel.load(BUNDLED_MODEL))
    bad = tmp_path / "bad.csv"
    bad.write_text("id,subject,body,tag\n1,a,b,not_a_tag\n", encoding="utf-8")
    runtime.settings = make_settings(
        database_url=database_url,
        model_path=runtime.settings.model_path,
        training_data=bad,
        policies_dir=ROOT / "policies",
    )
    day = date(2026, 11, 27)
    assert retrain_once(runtime, day=day, **FAST) is None
    assert not runtime.settings.model_path.exists()
    assert store.claim_run(f"retrain:{day.isoformat()}")  # released: still claimable


def test_other_processes_pick_up_the_new_model_file(
    store: Store, tmp_path: Path, database_url: str
):
    bundled = LocalModel.load(BUNDLED_MODEL)
    trainer = runtime_for(store, tmp_path, database_url, bundled)
    other = runtime_for(store, tmp_path, database_url, LocalModel.load(BUNDLED_MODEL))
    assert reload_if_changed(other) is None  # nothing at MODEL_PATH yet
    retrain_once(trainer, day=date(2026, 11, 27), **FAST)
    [version] = trained_versions(store)
    policies = deployment_policies(trainer.settings)
    assert policies is not None
    # An operator puts the held candidate live; every process follows within a minute.
    outcome = review(trainer.settings, store, policies, version, "cli:ops", allow_unscored=True)
    assert outcome.promoted
    assert reload_if_changed(other) == version
    assert other.classifier.version == version and other.service.classifier is other.classifier
    assert reload_if_changed(other) is None  # unchanged file: no reload


def test_a_corrupt_new_file_keeps_the_current_model(
    store: Store, tmp_path: Path, database_url: str
):
    runtime = runtime_for(store, tmp_path, database_url, LocalModel.load(BUNDLED_MODEL))
    runtime.settings.model_path.parent.mkdir(parents=True)
    runtime.settings.model_path.write_bytes(b"garbage")
    before = runtime.classifier
    assert reload_if_changed(runtime) is None
    assert runtime.classifier is before


def test_registrar_schedules_the_daily_retrain_and_the_reload_check(
    store: Store, tmp_path: Path, database_url: str
):
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    runtime = runtime_for(store, tmp_path, database_url, LocalModel.load(BUNDLED_MODEL))
    scheduler = AsyncIOScheduler(timezone="UTC")
    register_retrain(scheduler, runtime)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"retrain_model", "reload_model"}
    assert "hour='3'" in str(jobs["retrain_model"].trigger)
    runtime.settings = make_settings(retrain_time="")
    off = AsyncIOScheduler(timezone="UTC")
    register_retrain(off, runtime)
    assert {job.id for job in off.get_jobs()} == {"reload_model"}
