"""Shared fixtures: real databases (SQLite files, PostgreSQL when TEST_DATABASE_URL is set),
a local Slack Web API server, and the real bot on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from sqlalchemy import create_engine, text

from bot.app import Runtime, build_runtime, running
from bot.db import upgrade
from bot.intake.webhook import sign
from bot.settings import Settings
from tests.fakes.slack_api import WAIT_SECONDS, FakeSlack
from tests.fakes.slack_requests import block_action, signed_headers, slash_command

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret"
INTAKE_SECRET = "test-intake-secret"
TRIAGE_CHANNEL = "C0TRIAGE"
GLOBAL_OWNER = "U0SUPPLEAD"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "policies(**fields): set fields in every policy file")
    config.addinivalue_line("markers", "global_policy(**fields): set fields in _global.yml")


def _postgres_url() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'triage.db'}"
        upgrade(url)
        yield url
        return
    with postgres_schema("t") as url:
        yield url


@contextlib.contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A fresh, migrated schema on TEST_DATABASE_URL, dropped afterwards (or a skip).

    Its connections carry the schema name as application_name, so a test can find (and
    terminate) exactly this bot's connections, and teardown ends any that leaked.
    """
    base = _postgres_url()
    if not base:
        pytest.skip(
            "PostgreSQL tests need TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
        )
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    url = f"{base}{separator}options=-csearch_path%3D{schema}&application_name={schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND application_name = :name"
                ),
                {"name": schema},
            )
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def policies_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of the bundled policies that a test may edit.

    `@pytest.mark.policies(mode="suggest")` sets fields in every policy file and
    `@pytest.mark.global_policy(ambiguity_margin=0)` in `_global.yml`, so a test can pin
    the decision path without depending on what the classifier happens to answer.
    """
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    # The launch gate (bot.ownership.gate) is off in test copies: tests pin auto paths with
    # thresholds. Gate tests turn it on with @pytest.mark.global_policy(launch_min_decided=N).
    global_file = target / "_global.yml"
    global_file.write_text(
        yaml.safe_dump({**yaml.safe_load(global_file.read_text()), "launch_min_decided": 0})
    )
    for marker_name, pattern in (("policies", "[!_]*.yml"), ("global_policy", "_global.yml")):
        marker = request.node.get_closest_marker(marker_name)
        if marker is None:
            continue
        for path in target.glob(pattern):
            data = yaml.safe_load(path.read_text())
            data.update(marker.kwargs)
            path.write_text(yaml.safe_dump(data))
    return target


def make_settings(**overrides: Any) -> Settings:
    """Settings that ignore the developer's environment and .env."""
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-test-token",
        "slack_signing_secret": SIGNING_SECRET,
        "slack_app_token": None,
        "triage_channel": TRIAGE_CHANNEL,
        "intake_secret": INTAKE_SECRET,
        "classifier": "local",
        "worker_poll_seconds": 0.2,
        "source_database_url": None,
        "source_query": None,
        "openai_api_key": None,
        # One message per ticket, as the per-ticket contract says; channel tests turn
        # routed summaries and surge groups on explicitly.
        "routed_summary_seconds": 0,
        "surge_min_tickets": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


@dataclass
class BotUnderTest:
    """The running bot plus helpers that talk to it the way Slack and senders do."""

    runtime: Runtime
    base_url: str
    slack: FakeSlack
    http: aiohttp.ClientSession

    async def post_tickets(
        self, payload: Any, *, secret: str = INTAKE_SECRET, raw: bytes | None = None
    ) -> aiohttp.ClientResponse:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-Triage-Signature": sign(secret, body)}
        return await self.http.post(f"{self.base_url}/tickets", data=body, headers=headers)

    async def slack_post(
        self, body: str, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        return await self.http.post(
            f"{self.base_url}/slack/events",
            data=body.encode(),
            headers=headers if headers is not None else signed_headers(SIGNING_SECRET, body),
        )

    async def command(self, command: str, text: str, user: str) -> aiohttp.ClientResponse:
        return await self.slack_post(slash_command(command, text, user, self.slack.response_url))

    async def click(
        self,
        action_id: str,
        ticket_id: str,
        user: str,
        message_ts: str,
        *,
        selected: str | None = None,
        block_prefix: str = "triage:",
        channel: str = TRIAGE_CHANNEL,
        wait_shown: bool = True,
    ) -> aiohttp.ClientResponse:
        """Click as a person would: only once the message shows the control (the bot records
        where controls are shown when Slack accepts a post, a moment after the fake sees it)."""
        if wait_shown:
            await self.wait_shown(channel, message_ts, f"{block_prefix}{ticket_id}", ticket_id)
        body = block_action(
            action_id=action_id,
            block_id=f"{block_prefix}{ticket_id}",
            user_id=user,
            channel=channel,
            message_ts=message_ts,
            response_url=self.slack.response_url,
            value=None if selected else ticket_id,
            selected=selected,
        )
        return await self.slack_post(body)

    async def proposal_ts(self, ticket_id: str, timeout: float = WAIT_SECONDS) -> str:
        """The ts of a ticket's proposal message, once Slack (the fake) has accepted it."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            ticket = await asyncio.to_thread(self.runtime.store.get_ticket, ticket_id)
            if ticket is not None and ticket.message_ts:
                return ticket.message_ts
            await asyncio.sleep(0.05)
        raise AssertionError(f"ticket {ticket_id} was never posted")

    async def wait_shown(
        self, channel: str, ts: str, block_id: str, ticket_id: str, timeout: float = WAIT_SECONDS
    ) -> None:
        """Poll (bounded) until the store knows (channel, ts) shows `block_id`; a click sent
        before that would be refused, so a timeout fails here, where it is clear."""
        store = self.runtime.store
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if await asyncio.to_thread(store.shows_control, channel, ts, block_id, ticket_id):
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{channel}/{ts} never showed {block_id}")

    def posts_to(self, channel: str) -> list[Any]:
        return [c for c in self.slack.of("chat.postMessage") if c.params.get("channel") == channel]

    def proposal_for(self, ticket_id: str) -> Any:
        for call in self.posts_to(TRIAGE_CHANNEL):
            for block in call.params.get("blocks", []):
                if block.get("block_id") == f"triage:{ticket_id}":
                    return call
        return None


Starter = Callable[..., contextlib.AbstractAsyncContextManager[BotUnderTest]]


@pytest.fixture
def bot_starter(database_url: str, fake_slack: FakeSlack, policies_dir: Path) -> Starter:
    """`async with bot_starter(**settings) as bot:` runs the real bot with those settings;
    leaving the block stops it, so a test can start another on the same store (a restart)."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[BotUnderTest]:
        settings = make_settings(
            database_url=database_url,
            slack_api_url=fake_slack.api_url,
            policies_dir=policies_dir,
            **overrides,
        )
        runtime = build_runtime(settings)
        async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
            yield BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)

    return start


@pytest.fixture
def start_bot(bot_starter: Starter) -> Starter:
    """The same, under the name the channel tests use (tests/reliability has its own)."""
    return bot_starter


@pytest.fixture
async def bot(bot_starter: Starter) -> AsyncIterator[BotUnderTest]:
    async with bot_starter() as running_bot:
        yield running_bot
