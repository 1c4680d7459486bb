"""Which mode each policy is really in: the policy file, a stored override, and the launch gate.

Precedence: a mode stored with `/triage-mode` (table `policy_modes`, shared by every
process) wins over the policy file's `mode`. `auto` is then only effective while the
launch gate is met, or when an owner overrode the gate explicitly; otherwise the policy
runs in `suggest` and every proposal says `launch_gate`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import select

from bot.models import AuditEvent
from bot.ownership.gate import GateStatus, launch_gate
from bot.ownership.models import PolicyMode
from bot.policies import Mode, PolicySet
from bot.store import OutboxItem, Store

GATE_TTL_SECONDS = 30.0  # the gate reads many rows; a 30 s old measure is fresh enough


@dataclass(frozen=True)
class EffectiveMode:
    """A policy's mode as the bot applies it, and why."""

    policy: str
    mode: Mode  # what the bot does now
    requested: Mode  # the policy file's mode, or the stored override
    override: PolicyMode | None  # the stored `/triage-mode` row, if any
    gate: GateStatus | None  # measured when `auto` was requested without a gate override

    @property
    def held_by_gate(self) -> bool:
        """`auto` was asked for but the launch gate is not met: the bot runs `suggest`."""
        return self.requested is Mode.AUTO and self.mode is not Mode.AUTO

    @property
    def gate_overridden(self) -> bool:
        return self.override is not None and self.override.gate_override

    @property
    def source(self) -> str:
        if self.override is None:
            return "policy file"
        how = "auto, launch gate overridden" if self.gate_overridden else self.override.mode
        return f"{how} by <@{self.override.set_by}>"

    def gate_reason(self) -> str:
        """The `launch_gate` review reason."""
        measured = self.gate.describe() if self.gate else "not measured"
        return (
            f"launch_gate: policy {self.policy} asks for auto but has not passed the launch "
            f"gate ({measured}); an owner may override with /triage-mode {self.policy} auto override"
        )


class ModeBook:
    """Reads and writes per-policy modes; one per process, state in the store."""

    def __init__(
        self,
        store: Store,
        policies: PolicySet,
        versions: Callable[[], Collection[str] | None] | None = None,
    ) -> None:
        self.store = store
        self.policies = policies
        # The live model's lineage: whose proposals are launch-gate evidence (None: all).
        self.versions = versions
        self._gates: dict[str, tuple[float, GateStatus]] = {}

    # --- reading ---------------------------------------------------------------------------

    def overrides(self) -> dict[str, PolicyMode]:
        with self.store.session() as session:
            return {row.policy: row for row in session.exec(select(PolicyMode)).all()}

    def gate(self, policy: str, now: datetime | None = None) -> GateStatus:
        """The policy's launch-gate status; cached briefly unless a `now` is given."""
        versions = self.versions() if self.versions is not None else None
        if now is not None:
            return launch_gate(self.store, self.policies, policy, now, versions)
        cached = self._gates.get(policy)
        if cached is not None and time.monotonic() - cached[0] < GATE_TTL_SECONDS:
            return cached[1]
        status = launch_gate(self.store, self.policies, policy, versions=versions)
        self._gates[policy] = (time.monotonic(), status)
        return status

    def invalidate(self) -> None:
        """Forget cached gate measures (after a mode change, or in tests)."""
        self._gates.clear()

    def effective(self, now: datetime | None = None) -> dict[str, EffectiveMode]:
        """Every policy's effective mode. Called once per batch of new tickets."""
        overrides = self.overrides()
        gate_off = self.policies.global_settings.launch_min_decided == 0
        result: dict[str, EffectiveMode] = {}
        for name, policy in self.policies.policies.items():
            override = overrides.get(name)
            requested = Mode(override.mode) if override is not None else policy.mode
            gate = None
            mode = requested
            overridden = override is not None and override.gate_override
            if requested is Mode.AUTO and not overridden and not gate_off:
                gate = self.gate(name, now)
                if not gate.meets:
                    mode = Mode.SUGGEST
            result[name] = EffectiveMode(name, mode, requested, override, gate)
        return result

    # --- writing (each one transaction with its audit row and announcement) -----------------

    def set(self, row: PolicyMode, audit: AuditEvent, outbox: Iterable[OutboxItem] = ()) -> None:
        with self.store.session() as session:
            existing = session.get(PolicyMode, row.policy)
            if existing is not None:
                session.delete(existing)
                session.flush()
            session.add(row)
            session.add(audit)
            Store._enqueue(session, outbox)
            session.commit()
        self.invalidate()

    def reset(self, policy: str, audit: AuditEvent, outbox: Iterable[OutboxItem] = ()) -> bool:
        """Go back to the policy file's mode; False when there was no override."""
        with self.store.session() as session:
            result = session.exec(delete(PolicyMode).where(PolicyMode.policy == policy))  # type: ignore[call-overload,arg-type]
            if result.rowcount != 1:
                session.rollback()
                return False
            session.add(audit)
            Store._enqueue(session, outbox)
            session.commit()
        self.invalidate()
        return True
