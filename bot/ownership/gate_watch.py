"""Announce launch-gate changes: a policy that asks for `auto` starts or stops routing alone.

The gate is re-measured continuously, so a policy can leave `auto` by itself when its
precision drops (or enter it once enough tickets are decided). Owners must not learn that
from a surprised agent: each change is announced in TRIAGE_CHANNEL and audited
(`gate_open` / `gate_closed`, actor `bot`). The last audited state per policy is the
memory, so every process agrees and a restart announces nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.models import AuditEvent, utcnow
from bot.policies import Mode
from bot.store import OutboxItem, Store

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.ownership.modes import ModeBook
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

GATE_EVENTS = ("gate_open", "gate_closed")
WATCH_SECONDS = 300


def last_gate_states(store: Store) -> dict[str, str]:
    """The latest `gate_open` / `gate_closed` per policy (absent: closed, the starting state)."""
    with store.session() as session:
        rows = session.exec(
            select(AuditEvent.policy, AuditEvent.action)
            .where(col(AuditEvent.action).in_(GATE_EVENTS))
            .order_by(col(AuditEvent.id))
        ).all()
    return {str(policy): action for policy, action in rows if policy}


def watch_gates(
    book: ModeBook, announce: Callable[[str], OutboxItem], now: datetime | None = None
) -> list[str]:
    """Record and announce every gate change since the last check; returns the policies."""
    if book.policies.global_settings.launch_min_decided == 0:
        return []  # gate off: nothing ever changes
    now = now or utcnow()
    book.invalidate()
    modes = book.effective(now)
    last = last_gate_states(book.store)
    changed = []
    for name, effective in sorted(modes.items()):
        if effective.requested is not Mode.AUTO or effective.gate_overridden:
            continue
        is_open = not effective.held_by_gate
        if is_open == (last.get(name) == "gate_open"):
            continue
        gate = effective.gate
        measured = gate.describe() if gate else "not measured"
        if is_open:
            text = (
                f":white_check_mark: Policy `{name}` passed the launch gate ({measured}): "
                "the bot now routes its confident tickets automatically."
            )
        else:
            text = (
                f":warning: Policy `{name}` is below the launch gate ({measured}): back to "
                "*suggest*, a human decides every ticket until precision recovers."
            )
        detail = {
            "precision": gate.precision if gate else None,
            "decided": gate.decided if gate else 0,
            "correct": gate.correct if gate else 0,
            "min_decided": gate.min_decided if gate else None,
            "target": gate.target if gate else None,
        }
        book.store.audit(
            AuditEvent(
                actor="bot",
                action="gate_open" if is_open else "gate_closed",
                policy=name,
                at=now,
                detail=detail,
            ),
            [announce(text)],
        )
        changed.append(name)
    return changed


def register_gate_watch(scheduler: AsyncIOScheduler, runtime: Runtime) -> None:
    """Every 5 minutes, once across processes (`claim_run`), announce gate changes."""

    async def watch() -> None:
        now = utcnow()
        key = f"gate_watch:{now:%Y-%m-%dT%H}:{now.minute // 5}"
        if not await asyncio.to_thread(runtime.store.claim_run, key, "gate_watch"):
            return
        try:
            changed = await asyncio.to_thread(
                watch_gates, runtime.service.modes, runtime.control.announce, now
            )
        except Exception:
            log.exception("launch gate watch failed; will retry")
            await asyncio.to_thread(runtime.store.release_run, key)
            return
        await asyncio.to_thread(runtime.store.finish_run, key)
        if changed:
            log.info("launch gate changed for: %s", ", ".join(changed))
            runtime.worker.kick()

    scheduler.add_job(
        watch, "interval", seconds=WATCH_SECONDS, id="launch_gate_watch", max_instances=1
    )
