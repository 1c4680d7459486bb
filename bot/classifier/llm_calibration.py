"""Calibrating the LLM's confidence against human decisions, conservatively.

A table maps raw confidence to the one-sided 95% Wilson lower bound of the precision
humans confirmed in that range (approve = right, reassign = wrong), made monotone by
pooling and then lowering, never raising. Until enough decisions exist the LLM gets a
cap instead: never more confident than the local model it agrees with, and at most 0.5
when the two disagree.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, select

from bot.classifier.llm_store import PredictionLog, text_sha

EDGES: tuple[float, ...] = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
MIN_SAMPLES = 50
DISAGREE_CAP = 0.5
_Z = 1.645  # one-sided 95%


def wilson_lower(correct: int, total: int, z: float = _Z) -> float:
    """Lower confidence bound of a binomial proportion; 0 for no data."""
    if total <= 0:
        return 0.0
    p = correct / total
    centre = p + z * z / (2 * total)
    spread = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, (centre - spread) / (1 + z * z / total))


@dataclass(frozen=True)
class CalibrationTable:
    """Raw confidence bins (upper edges) and the calibrated value of each."""

    edges: tuple[float, ...]
    values: tuple[float, ...]
    samples: int

    def apply(self, raw: float) -> float:
        index = min(bisect_left(self.edges, min(max(raw, 0.0), 1.0)), len(self.values) - 1)
        return self.values[index]


def fit(
    pairs: Iterable[tuple[float, bool]], min_samples: int = MIN_SAMPLES
) -> CalibrationTable | None:
    """A table from (raw confidence, was it right) pairs; None when there are too few."""
    counts = [[0, 0] for _ in EDGES]  # [correct, total]
    total = 0
    for raw, correct in pairs:
        index = min(bisect_left(EDGES, min(max(raw, 0.0), 1.0)), len(EDGES) - 1)
        counts[index][0] += int(correct)
        counts[index][1] += 1
        total += 1
    if total < min_samples:
        return None
    # Pool adjacent bins whose precision decreases (pool-adjacent-violators on counts).
    blocks: list[list[int]] = []  # [correct, total, bins]
    for correct, n in counts:
        blocks.append([correct, n, 1])
        while len(blocks) > 1 and _rate(blocks[-2]) > _rate(blocks[-1]):
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1], blocks[-1][2] + last[2]]
    values: list[float] = []
    for correct, n, bins in blocks:
        values.extend([wilson_lower(correct, n)] * bins)
    # Lower bounds of pooled blocks may still dip: lower the bins below a dip, never raise.
    for index in range(len(values) - 2, -1, -1):
        values[index] = min(values[index], values[index + 1])
    return CalibrationTable(EDGES, tuple(round(v, 4) for v in values), total)


def _rate(block: Sequence[int]) -> float:
    return block[0] / block[1] if block[1] else 0.0


def calibrated(
    raw: float,
    table: CalibrationTable | None,
    *,
    agrees: bool,
    local_confidence: float,
) -> float:
    """The confidence the thresholds see."""
    if table is not None:
        return table.apply(raw)
    return min(raw, local_confidence) if agrees else min(raw, DISAGREE_CAP)


def human_labelled(
    engine: Engine, log: PredictionLog, model: str
) -> dict[str, list[tuple[float, bool]]]:
    """(raw, right?) pairs per method, from tickets a human approved or reassigned."""
    from bot.classifier.signals import MAX_SCAN_CHARS
    from bot.models import Decision, Ticket

    with Session(engine) as session:
        rows = session.exec(
            select(Decision, Ticket)
            .where(Decision.ticket_id == Ticket.id)
            .where(Decision.action.in_(["approve", "reassign"]))  # type: ignore[attr-defined]
            .order_by(Decision.id.desc())  # type: ignore[union-attr]
            .limit(20_000)
        ).all()
    latest: dict[str, tuple[str, str]] = {}
    for decision, ticket in rows:
        if ticket.id in latest or not decision.tag:
            continue
        # The cut the service classifies (bot.service.CLASSIFY_CHARS), named from below it.
        text = f"{ticket.subject}\n{ticket.body}"[: MAX_SCAN_CHARS + 1].strip()
        latest[ticket.id] = (text_sha(text), decision.tag)
    answers = log.lookup([sha for sha, _ in latest.values()], model)
    pairs: dict[str, list[tuple[float, bool]]] = {}
    for sha, final_tag in latest.values():
        answer = answers.get(sha)
        if answer is not None:
            pairs.setdefault(answer.method, []).append(
                (answer.raw_confidence, answer.tag == final_tag)
            )
    return pairs
