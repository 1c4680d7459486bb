"""What a running bot holds, in one object; handlers and jobs reach their services through it.

It lives below `bot.app` (which builds it) so that jobs, health checks and listeners can
name it without importing the app and its web stack.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.group_commit import SerialLane
from bot.intake.batcher import IntakeBatcher, lookalike_problems

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from sqlalchemy import Engine

    from bot.classifier.base import Classifier
    from bot.control import Control
    from bot.http_guard import RequestGuard
    from bot.intake_async import LoopIntake
    from bot.outbox import OutboxDispatcher
    from bot.policies import PolicySet
    from bot.service import TriageService
    from bot.settings import Settings
    from bot.store import IntakeResult, Store
    from bot.worker import Worker


@dataclass
class Runtime:
    """Everything a running bot holds; handlers reach it through Bolt's context."""

    settings: Settings
    engine: Engine
    store: Store
    classifier: Classifier
    policies: PolicySet
    service: TriageService
    control: Control
    client: AsyncWebClient
    dispatcher: OutboxDispatcher
    worker: Worker
    bolt: AsyncApp
    source: Any = None  # bot.source.poller.SourcePoller when SOURCE_* is set
    intake_batcher: IntakeBatcher = field(init=False)
    intake_async: LoopIntake | None = field(init=False, default=None)
    http_guard: RequestGuard | None = None  # set by build_web_app (HTTP server state)
    # Click work, first come first served, a few per thread hop (handlers.actions).
    click_lane: SerialLane = field(default_factory=SerialLane)

    def __post_init__(self) -> None:
        if self.click_lane.together is None:  # a hop's clicks commit together
            self.click_lane.together = self.store.batched
        self.intake_batcher, self.intake_async = intake_batcher(
            self.store,
            lambda tickets, connection=None: self.service.intake(
                tickets, source="webhook", connection=connection
            ),
        )

    async def close(self) -> None:
        await self.worker.stop()
        if self.intake_async is not None:
            await self.intake_async.close()
        with contextlib.suppress(Exception):
            await self.dispatcher.webhooks.close()
        with contextlib.suppress(Exception):
            await self.client.session.close() if self.client.session else None
        if self.source is not None:
            self.source.close()
        self.engine.dispose()
        self.click_lane.executor.shutdown(wait=False)  # its thread ends once idle


def intake_batcher(
    store: Store, intake: Callable[..., IntakeResult]
) -> tuple[IntakeBatcher, LoopIntake | None]:
    """The webhook's batcher: `intake(tickets, connection=None)` stores a batch (in its
    thread); look-alikes of a request of several tickets are checked first, in the batch's
    transaction. Batches of one-ticket requests are written from the event loop instead
    (bot.intake_async; close it with the runtime)."""
    from bot.intake_async import AsyncIntake, InlineSqliteIntake

    writer: LoopIntake | None = None
    if store.engine.dialect.name == "postgresql":
        writer = AsyncIntake(store)
    elif store.engine.dialect.name == "sqlite":
        writer = InlineSqliteIntake(store)
    batcher = IntakeBatcher(
        intake,
        check=lambda requests, connection=None: lookalike_problems(store, requests, connection),
        begin=store.engine.begin,
        store_async=(
            (lambda tickets: writer.add_tickets(tickets, source="webhook"))
            if writer is not None
            else None
        ),
    )
    return batcher, writer
