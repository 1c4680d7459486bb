"""Model changes are governed: shadow scoring on decided tickets, promotion, rollback, audit,
announcements, and launch-gate evidence tied to the models that earned it.

Real stores: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlmodel import select

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.feedback import is_shadow_reserved
from bot.classifier.governance import MIN_SHADOW_TICKETS
from bot.classifier.local import LocalModel, ModelArrays, save_model
from bot.classifier.registry import Registry
from bot.classifier.retrain import deployment_policies
from bot.classifier.rollout import evidence_versions, review
from bot.classifier.training import train
from bot.cli import main
from bot.db import make_engine
from bot.models import Decision, OutboxMessage, Proposal, Ticket, TicketStatus, utcnow
from bot.ownership.gate import launch_gate
from bot.ownership.modes import ModeBook
from bot.store import Store
from tests.classifier.conftest import ROOT, SMALL, as_examples, small_rows
from tests.conftest import make_settings

pytestmark = pytest.mark.global_policy(target_precision=0.8)


@pytest.fixture
def store(database_url: str):
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def good() -> ModelArrays:
    return train(as_examples(small_rows(70)), DEFAULT_TAGS, target_precision=0.8, **SMALL)[0]


@pytest.fixture(scope="module")
def bad() -> ModelArrays:
    """Confident and wrong: trained with every tag shifted onto the next one."""
    shift = {t: DEFAULT_TAGS[(i + 1) % len(DEFAULT_TAGS)] for i, t in enumerate(DEFAULT_TAGS)}
    rows = [{**r, "tag": shift[r["tag"]]} for r in small_rows(70)]
    return train(as_examples(rows), DEFAULT_TAGS, target_precision=0.8, **SMALL)[0]


def decide_tickets(store: Store, count: int) -> list[str]:
    """Tickets of the shadow share, decided by agents (reassign to the true tag), now."""
    chosen = []
    with (ROOT / "data" / "tickets_test.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["lang"] == "en" and not row["hard"] and is_shadow_reserved(row["id"]):
                chosen.append(row)
            if len(chosen) == count:
                break
    now = utcnow()
    with store.session() as session:
        for row in chosen:
            session.add(
                Ticket(
                    id=row["id"],
                    subject=row["subject"],
                    body=row["body"],
                    status=TicketStatus.ROUTED.value,
                    final_tag=row["tag"],
                    decided_at=now,
                    decided_by="U0AGENT01",
                )
            )
        session.flush()
        for row in chosen:
            session.add(
                Decision(
                    ticket_id=row["id"],
                    action="reassign",
                    tag=row["tag"],
                    proposed_tag="how_to",
                    actor="U0AGENT01",
                    at=now,
                )
            )
        session.commit()
    return [r["id"] for r in chosen]


@pytest.fixture
def deployment(tmp_path: Path, database_url: str, policies_dir: Path):
    settings = make_settings(
        database_url=database_url,
        model_path=tmp_path / "models" / "triage-model.npz",
        policies_dir=policies_dir,
    )
    policies = deployment_policies(settings)
    assert policies is not None
    return settings, policies


def notices(store: Store) -> list[str]:
    with store.session() as session:
        return [m.payload["text"] for m in session.exec(select(OutboxMessage)).all()]


def test_a_less_precise_model_is_refused_and_the_live_one_keeps_routing(
    store: Store, deployment, good: ModelArrays, bad: ModelArrays
):
    settings, policies = deployment
    decide_tickets(store, 60)
    save_model(settings.model_path, good)  # the model routing today
    before = settings.model_path.read_bytes()
    registry = Registry(settings.model_path)
    candidate = registry.add_candidate(bad, "retrain")

    outcome = review(settings, store, policies, candidate.version, actor="bot")

    assert not outcome.promoted and outcome.status == "refused"
    assert outcome.verdict.code in {"less_precise", "routes_nothing"}
    live, new = outcome.verdict.live, outcome.verdict.candidate
    assert live is not None and new is not None and live.tickets == new.tickets == 60
    assert live.precision is not None and live.precision > 0.8
    assert settings.model_path.read_bytes() == before
    entry = registry.entry(candidate.version)
    assert entry is not None and entry.status == "refused"
    [event] = [e for e in store.audit_events() if e.action == "model_refused"]
    assert event.detail["model_version"] == candidate.version and event.actor == "bot"
    assert notices(store) == []  # nothing changed for anyone: audited, not announced


def test_a_model_at_least_as_precise_is_promoted_and_rollback_restores_the_previous(
    store: Store,
    deployment,
    good: ModelArrays,
    bad: ModelArrays,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
):
    settings, policies = deployment
    decide_tickets(store, 60)
    save_model(settings.model_path, bad)
    old = LocalModel.load(settings.model_path).version
    registry = Registry(settings.model_path)
    candidate = registry.add_candidate(good, "train")

    outcome = review(settings, store, policies, candidate.version, actor="cli:ops")

    assert outcome.promoted and outcome.previous == old
    assert LocalModel.load(settings.model_path).version == candidate.version
    assert registry.file_of(old).is_file()  # the previous model is kept
    [promoted] = [e for e in store.audit_events() if e.action == "model_promoted"]
    assert promoted.detail["scored"] is True and promoted.detail["previous_version"] == old
    assert promoted.actor == "cli:ops"
    # Scored at least as precise: it inherits the evidence of the model it replaced.
    live = LocalModel.load(settings.model_path)
    assert evidence_versions(settings, live) == [old, candidate.version]
    assert any(candidate.version in t and "<@U0SUPPLEAD>" in t for t in notices(store))

    # The operator takes it back through the CLI.
    monkeypatch.chdir(settings.model_path.parent.parent)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MODEL_PATH", str(settings.model_path))
    monkeypatch.setenv("POLICIES_DIR", str(settings.policies_dir))
    monkeypatch.setenv("TRIAGE_CHANNEL", "C0TRIAGE")
    assert main(["model", "rollback", "--reason", "agents report misroutes"]) == 0
    assert f"the live model is {old} again" in capsys.readouterr().out
    assert LocalModel.load(settings.model_path).version == old
    [rolled] = [e for e in store.audit_events() if e.action == "model_rolled_back"]
    assert rolled.detail == {
        "model_version": old,
        "removed_version": candidate.version,
        "reason": "agents report misroutes",
    }
    assert any(":rewind:" in t and old in t for t in notices(store))
    entry = registry.entry(candidate.version)
    assert entry is not None and entry.status == "rolled_back"

    # The scheduler may not bring a rolled-back model back by itself.
    again = review(settings, store, policies, candidate.version, actor="bot")
    assert not again.promoted and again.verdict.code == "rolled_back"
    # Nothing left to roll back to: said plainly, nothing changes.
    assert main(["model", "rollback"]) == 1
    assert "no previous model" in capsys.readouterr().err
    assert main(["model", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"live: {old}" in listing and candidate.version in listing


def test_too_few_decided_tickets_hold_the_model_unless_an_operator_promotes_it(
    store: Store, deployment, good: ModelArrays, bad: ModelArrays
):
    settings, policies = deployment
    decide_tickets(store, MIN_SHADOW_TICKETS - 1)
    save_model(settings.model_path, bad)
    registry = Registry(settings.model_path)
    candidate = registry.add_candidate(good, "retrain")

    held = review(settings, store, policies, candidate.version, actor="bot")
    assert not held.promoted and held.status == "held" and held.verdict.code == "too_few"
    assert f"only {MIN_SHADOW_TICKETS - 1} decided" in held.verdict.reason
    assert [e.action for e in store.audit_events()] == ["model_held"]

    forced = review(
        settings, store, policies, candidate.version, actor="cli:ops", allow_unscored=True
    )
    assert forced.promoted
    live = LocalModel.load(settings.model_path)
    assert live.version == candidate.version
    # Unscored: the launch gate starts over with this model's own decided tickets.
    assert evidence_versions(settings, live) == [candidate.version]


def test_the_launch_gate_counts_only_the_live_models_lineage(store: Store, deployment):
    _settings, policies = deployment
    now = utcnow()
    with store.session() as session:
        for n, version in enumerate(["old-model"] * 3 + ["new-model"]):
            ticket_id = f"g{n}"
            session.add(
                Ticket(
                    id=ticket_id,
                    status=TicketStatus.ROUTED.value,
                    proposed_tag="billing",
                    final_tag="billing",
                    decided_at=now,
                    decided_by="U0AGENT01",
                )
            )
            session.flush()
            session.add(
                Proposal(
                    ticket_id=ticket_id,
                    tag="billing",
                    policy="billing",
                    confidence=0.95,
                    sentiment="neutral",
                    decision="review",
                    guardrails=["mode_suggest"],
                    model_version=version,
                )
            )
        session.commit()
    everyone = launch_gate(store, policies, "billing", now)
    assert everyone.decided == 4 and everyone.model_versions is None
    own = launch_gate(store, policies, "billing", now, versions=["new-model"])
    assert own.decided == 1 and own.model_versions == ("new-model",)
    lineage = launch_gate(store, policies, "billing", now, versions=["old-model", "new-model"])
    assert lineage.decided == 4
    book = ModeBook(store, policies, versions=lambda: ["new-model"])
    assert book.gate("billing", now).decided == 1


def test_the_scheduled_retrain_promotes_a_model_that_scores_at_least_as_well(
    store: Store, deployment, bad: ModelArrays, tmp_path: Path
):
    from types import SimpleNamespace

    from bot.classifier.jobs import retrain_once
    from tests.classifier.conftest import write_csv

    settings, _policies = deployment
    decide_tickets(store, 60)
    save_model(settings.model_path, bad)  # a poor model is live
    settings = make_settings(
        database_url=settings.database_url,
        model_path=settings.model_path,
        policies_dir=settings.policies_dir,
        training_data=write_csv(tmp_path / "base.csv", small_rows(70)),
    )
    live = LocalModel.load(settings.model_path)
    runtime = SimpleNamespace(
        settings=settings,
        store=store,
        engine=store.engine,
        classifier=live,
        service=SimpleNamespace(classifier=live),
    )

    version = retrain_once(runtime, **SMALL)

    assert version is not None and version != live.version
    assert LocalModel.load(settings.model_path).version == version
    assert (
        runtime.classifier.version == version and runtime.service.classifier is runtime.classifier
    )
    [promoted] = [e for e in store.audit_events() if e.action == "model_promoted"]
    assert promoted.actor == "bot" and promoted.detail["scored"] is True
    assert promoted.detail["candidate"]["precision"] >= (promoted.detail["live"]["precision"] or 0)
    assert Registry(settings.model_path).file_of(live.version).is_file()
