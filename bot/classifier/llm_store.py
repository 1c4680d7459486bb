"""What the OpenAI classifier remembers: daily token use (the budget) and its raw answers.

The token budget lives in the bot's database so every `serve` process shares one cap
and a restart does not reset it. `classify` runs without the bot's database and counts
in memory instead. Raw answers are kept (keyed by a hash of the ticket text, never the
text itself) so confidence can be calibrated against later human decisions.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, case, delete, update
from sqlmodel import Field, Session, SQLModel, select

from bot.models import utcnow


class LlmTokenUsage(SQLModel, table=True):
    """Tokens spent (or reserved) on the LLM per UTC day, across all processes."""

    __tablename__ = "llm_token_usage"

    day: str = Field(primary_key=True, max_length=10)  # YYYY-MM-DD (UTC)
    tokens: int = 0
    calls: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class LlmPrediction(SQLModel, table=True):
    """One LLM answer: the raw (uncalibrated) confidence behind a proposal."""

    __tablename__ = "llm_predictions"

    id: int | None = Field(default=None, primary_key=True)
    text_sha: str = Field(max_length=64, index=True)
    model: str = Field(max_length=128)
    method: str = Field(max_length=16)  # "logprobs" | "agreement"
    tag: str = Field(max_length=64)
    raw_confidence: float
    created_at: datetime = Field(default_factory=utcnow, index=True)


def text_sha(text_: str) -> str:
    """The key of a ticket text: lets answers meet human decisions without storing the text."""
    return hashlib.sha256(text_.strip().encode("utf-8", "replace")).hexdigest()


def utc_day(moment: datetime | None = None) -> str:
    return (moment or utcnow()).strftime("%Y-%m-%d")


class TokenBudget(Protocol):
    """A daily token cap. `reserve` before a call, `settle` with the real usage after it."""

    limit: int

    def reserve(self, tokens: int) -> bool: ...

    def settle(self, reserved: int, actual: int) -> None: ...

    def used_today(self) -> int: ...


@dataclass
class MemoryBudget:
    """The cap for one process without a database (`triage-bot classify`)."""

    limit: int
    _day: str = ""
    _used: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def _roll(self) -> None:
        today = utc_day()
        if today != self._day:
            self._day, self._used = today, 0

    def reserve(self, tokens: int) -> bool:
        with self._lock:
            self._roll()
            if self._used + tokens > self.limit:
                return False
            self._used += tokens
            return True

    def settle(self, reserved: int, actual: int) -> None:
        with self._lock:
            self._roll()
            self._used = max(0, self._used + actual - reserved)

    def used_today(self) -> int:
        with self._lock:
            self._roll()
            return self._used


class DbBudget:
    """The cap shared by every process on one database: a conditional UPDATE is the lock."""

    def __init__(self, engine: Engine, limit: int) -> None:
        self.engine = engine
        self.limit = limit

    def _ensure_row(self, day: str) -> None:
        with Session(self.engine) as session:
            if session.get(LlmTokenUsage, day) is None:
                session.add(LlmTokenUsage(day=day))
                try:
                    session.commit()
                except Exception:  # another process inserted it first
                    session.rollback()

    def reserve(self, tokens: int) -> bool:
        """Atomically add `tokens` to today's count unless that would pass the cap."""
        day = utc_day()
        self._ensure_row(day)
        usage = LlmTokenUsage.__table__.c  # type: ignore[attr-defined]
        statement = (
            update(LlmTokenUsage)
            .where(usage.day == day, usage.tokens + tokens <= self.limit)
            .values(tokens=usage.tokens + tokens, calls=usage.calls + 1, updated_at=utcnow())
        )
        with self.engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def settle(self, reserved: int, actual: int) -> None:
        """Replace the reservation by what the API says was used."""
        if actual == reserved:
            return
        usage = LlmTokenUsage.__table__.c  # type: ignore[attr-defined]
        delta = actual - reserved
        statement = (
            update(LlmTokenUsage)
            .where(usage.day == utc_day())
            .values(
                tokens=case((usage.tokens + delta < 0, 0), else_=usage.tokens + delta),
                updated_at=utcnow(),
            )
        )
        with self.engine.begin() as connection:
            connection.execute(statement)

    def used_today(self) -> int:
        with Session(self.engine) as session:
            row = session.get(LlmTokenUsage, utc_day())
            return row.tokens if row else 0


class PredictionLog:
    """Raw LLM answers for calibration; a no-op without a database."""

    RETENTION = timedelta(days=120)

    def __init__(self, engine: Engine | None) -> None:
        self.engine = engine

    def record(self, text_: str, model: str, method: str, tag: str, raw: float) -> None:
        if self.engine is None:
            return
        row = LlmPrediction(
            text_sha=text_sha(text_),
            model=model[:128],
            method=method,
            tag=tag[:64],
            raw_confidence=float(raw),
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()

    def lookup(self, shas: list[str], model: str) -> dict[str, LlmPrediction]:
        """The latest answer of `model` for each text hash."""
        if self.engine is None or not shas:
            return {}
        found: dict[str, LlmPrediction] = {}
        with Session(self.engine) as session:
            for start in range(0, len(shas), 500):
                chunk = shas[start : start + 500]
                rows = session.exec(
                    select(LlmPrediction)
                    .where(LlmPrediction.text_sha.in_(chunk))  # type: ignore[attr-defined]
                    .where(LlmPrediction.model == model[:128])
                    .order_by(LlmPrediction.id)  # type: ignore[arg-type]
                ).all()
                for row in rows:
                    found[row.text_sha] = row
        return found

    def prune(self) -> None:
        if self.engine is None:
            return
        created = LlmPrediction.__table__.c.created_at  # type: ignore[attr-defined]
        with self.engine.begin() as connection:
            connection.execute(delete(LlmPrediction).where(created < utcnow() - self.RETENTION))
