"""The launch gate's measure, on a real store (SQLite file, and PostgreSQL when configured)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.db import make_engine
from bot.models import Decision, Proposal, Ticket, TicketStatus, utcnow
from bot.ownership.gate import launch_gate, launch_gates
from bot.ownership.models import PolicyMode
from bot.ownership.modes import ModeBook
from bot.policies import GlobalSettings, Mode, PolicySet, load_policies
from bot.store import Store

NOW = utcnow()


@pytest.fixture
def store(database_url: str):
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()


def policy_set(policies_dir: Path, **gate) -> PolicySet:
    loaded, problems = load_policies(policies_dir)
    assert loaded is not None and not problems
    settings = GlobalSettings(owners=["U0SUPPLEAD"], **gate)
    return PolicySet(policies=loaded.policies, global_settings=settings)


def add(
    store: Store,
    ticket_id: str,
    proposed: str,
    final: str | None,
    *,
    guardrails: list[str] | None = None,
    decision: str = "review",
    age: timedelta = timedelta(hours=1),
    by: str = "U0AGENT01",
) -> None:
    """One decided (or undecided) ticket with its proposal, as the service would store it."""
    decided_at = NOW - age if final else None
    status = (
        (TicketStatus.AUTO_ROUTED if by == "bot" else TicketStatus.ROUTED)
        if final
        else TicketStatus.REVIEW
    )
    with store.session() as session:
        session.add(
            Ticket(
                id=ticket_id,
                status=status.value,
                proposed_tag=proposed,
                final_tag=final,
                decided_at=decided_at,
                decided_by=by if final else None,
                received_at=NOW - age - timedelta(minutes=5),
            )
        )
        session.flush()
        session.add(
            Proposal(
                ticket_id=ticket_id,
                tag=proposed,
                policy=proposed,
                confidence=0.95,
                sentiment="neutral",
                decision=decision,
                reasons=[],
                guardrails=["mode_suggest"] if guardrails is None else guardrails,
                model_version="test",
            )
        )
        if final:
            session.add(Decision(ticket_id=ticket_id, action="approve", tag=final, actor=by))
        session.commit()


def test_precision_counts_only_what_the_bot_would_have_routed(store: Store, policies_dir: Path):
    policies = policy_set(policies_dir, launch_min_decided=4, target_precision=0.75)
    add(store, "a1", "billing", "billing")  # approved in suggest mode: correct
    add(store, "a2", "billing", "billing", guardrails=["mode_shadow"])  # shadow pick: correct
    add(store, "a3", "billing", "bug")  # reassigned: wrong
    add(store, "a4", "billing", "billing", decision="auto", guardrails=[], by="bot")  # uncorrected
    # Not evidence about auto-routing: a guardrail fired, or no decision yet, or too old.
    add(store, "x1", "billing", "bug", guardrails=["mode_suggest", "low_confidence"])
    add(store, "x2", "billing", "billing", guardrails=["ambiguous"])
    add(store, "x3", "billing", None)
    add(store, "x4", "billing", "bug", age=timedelta(days=31))
    add(store, "o1", "bug", "bug")  # another policy

    gate = launch_gate(store, policies, "billing", NOW)
    assert (gate.decided, gate.correct) == (4, 3)
    assert gate.precision == pytest.approx(0.75)
    assert gate.meets  # 4 decided ≥ 4, and 0.75 ≥ 0.75
    assert "75.0% (3/4, 30 days); launch gate met" in gate.describe()

    stricter = policy_set(policies_dir, launch_min_decided=4, target_precision=0.8)
    assert not launch_gate(store, stricter, "billing", NOW).meets
    fewer = policy_set(policies_dir, launch_min_decided=5, target_precision=0.75)
    assert not launch_gate(store, fewer, "billing", NOW).meets
    wider = policy_set(
        policies_dir, launch_min_decided=5, target_precision=0.6, launch_window_days=40
    )
    assert launch_gate(store, wider, "billing", NOW).decided == 5

    gates = launch_gates(store, policies, NOW)
    assert set(gates) == set(policies.policies)
    assert (gates["bug"].decided, gates["bug"].correct) == (1, 1)
    assert gates["security"].precision is None and not gates["security"].meets
    assert "no decided tickets" in gates["security"].describe()


def test_a_corrected_auto_route_counts_as_wrong(store: Store, policies_dir: Path):
    policies = policy_set(policies_dir, launch_min_decided=1)
    add(store, "c1", "billing", "cancellation", decision="auto", guardrails=[])
    gate = launch_gate(store, policies, "billing", NOW)
    assert (gate.decided, gate.correct, gate.meets) == (1, 0, False)


def test_gate_off_and_effective_modes(store: Store, policies_dir: Path):
    off = policy_set(policies_dir, launch_min_decided=0)
    assert launch_gate(store, off, "billing", NOW).meets
    assert "launch gate off" in launch_gate(store, off, "billing", NOW).describe()

    policies = policy_set(policies_dir, launch_min_decided=10)
    book = ModeBook(store, policies)
    modes = book.effective(NOW)
    assert all(m.requested is Mode.AUTO for m in modes.values())  # bundled files say auto
    assert all(m.mode is Mode.SUGGEST and m.held_by_gate for m in modes.values())
    assert "launch_gate: policy billing asks for auto" in modes["billing"].gate_reason()

    with store.session() as session:
        session.add(PolicyMode(policy="billing", mode="auto", gate_override=True, set_by="U0X"))
        session.add(PolicyMode(policy="bug", mode="shadow", set_by="U0Y"))
        session.commit()
    modes = book.effective(NOW)
    assert modes["billing"].mode is Mode.AUTO and modes["billing"].gate is None
    assert modes["bug"].mode is Mode.SHADOW and not modes["bug"].held_by_gate
    assert modes["how_to"].mode is Mode.SUGGEST


def test_gate_changes_are_announced_and_audited_once(store: Store, policies_dir: Path):
    from bot.ownership.gate_watch import watch_gates
    from bot.store import OutboxItem

    policies = policy_set(policies_dir, launch_min_decided=2, target_precision=0.9)
    book = ModeBook(store, policies)

    def announce(text: str) -> OutboxItem:
        return OutboxItem(
            dedupe_key=f"notice:{text[:200]}:{utcnow().timestamp()}",
            method="chat.postMessage",
            payload={"channel": "C0TRIAGE", "text": text},
            purpose="notice",
        )

    assert watch_gates(book, announce, NOW) == []  # closed from the start: nothing to say
    add(store, "w1", "billing", "billing")
    add(store, "w2", "billing", "billing")
    assert watch_gates(book, announce, NOW) == ["billing"]
    assert watch_gates(book, announce, NOW) == []  # announced once
    add(store, "w3", "billing", "bug", age=timedelta(minutes=1))  # 2/3 < 0.9
    assert watch_gates(book, announce, NOW) == ["billing"]

    events = [(e.action, e.actor, e.policy) for e in store.audit_events()]
    assert events == [("gate_open", "bot", "billing"), ("gate_closed", "bot", "billing")]
    texts = [m.payload["text"] for m in store.outbox_messages() if m.purpose == "notice"]
    assert "passed the launch gate" in texts[0] and "100.0% (2/2" in texts[0]
    assert "below the launch gate" in texts[1] and "*suggest*" in texts[1]

    # An explicit override is the owner's call: no announcements about it.
    with store.session() as session:
        session.add(PolicyMode(policy="billing", mode="auto", gate_override=True, set_by="U0X"))
        session.commit()
    assert watch_gates(book, announce, NOW) == []
    off = ModeBook(store, policy_set(policies_dir, launch_min_decided=0))
    assert watch_gates(off, announce, NOW) == []
