"""What a running bot holds, in one object; handlers and jobs reach their services through it.

It lives below `bot.app` (which builds it) so that jobs, health checks and listeners can
name it without importing the app and its web stack.
"""

from __future__ import annotations

import contextlib
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
    from bot.outbox import OutboxDispatcher
    from bot.policies import PolicySet
    from bot.service import TriageService
    from bot.settings import Settings
    from bot.store import Store
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
    http_guard: RequestGuard | None = None  # set by build_web_app (HTTP server state)
    # Click work, first come first served, a few per thread hop (handlers.actions).
    click_lane: SerialLane = field(default_factory=SerialLane)

    def __post_init__(self) -> None:
        if self.click_lane.together is None:  # a hop's clicks commit together
            self.click_lane.together = self.store.batched
        self.intake_batcher = IntakeBatcher(
            lambda tickets, connection=None: self.service.intake(
                tickets, source="webhook", connection=connection
            ),
            check=lambda requests, connection=None: lookalike_problems(
                self.store, requests, connection
            ),
            begin=self.store.engine.begin,
        )

    async def close(self) -> None:
        await self.worker.stop()
        with contextlib.suppress(Exception):
            await self.dispatcher.webhooks.close()
        with contextlib.suppress(Exception):
            await self.client.session.close() if self.client.session else None
        if self.source is not None:
            self.source.close()
        self.engine.dispose()
        self.click_lane.executor.shutdown(wait=False)  # its thread ends once idle
