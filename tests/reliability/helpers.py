"""Helpers for reliability tests: real `triage-bot serve` processes, a cuttable TCP proxy
in front of PostgreSQL, ticket batches, and counting what reached the fake Slack."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from bot.intake.webhook import sign
from tests.conftest import INTAKE_SECRET, SIGNING_SECRET, TRIAGE_CHANNEL
from tests.fakes.slack_api import WAIT_SECONDS, FakeSlack

ROOT = Path(__file__).resolve().parents[2]

# Bot settings that would leak in from the developer's shell and change what a process does.
_OURS = (
    "SLACK_",
    "TRIAGE_",
    "DIGEST_",
    "DATABASE_URL",
    "POLICIES_DIR",
    "CLASSIFIER",
    "OPENAI_",
    "INTAKE_SECRET",
    "SOURCE_",
    "OUTBOX_",
    "WORKER_",
    "MAX_",
    "PORT",
    "LOG_LEVEL",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ticket_text(index: int) -> dict[str, Any]:
    """A mix of urgent (cancellation no-go, angry billing), routine and praise tickets."""
    kind = index % 4
    if kind == 0:
        return {
            "subject": "Cancel my account",
            "body": "Please cancel my subscription and delete my account.",
        }
    if kind == 1:
        return {
            "subject": "Charged twice!!",
            "body": "This is unacceptable, you charged my card twice. I am furious. Refund now.",
        }
    if kind == 2:
        return {"subject": "How do I export?", "body": "How do I export my reports to CSV?"}
    return {"subject": "Thank you", "body": "Great support team, thanks a lot, you are wonderful!"}


def tickets(count: int, prefix: str = "R") -> list[dict[str, Any]]:
    return [{"id": f"{prefix}{i:05d}", **ticket_text(i)} for i in range(count)]


def proposal_ticket(call: Any) -> str | None:
    for block in call.params.get("blocks") or []:
        block_id = str(block.get("block_id") or "")
        if block_id.startswith("triage:"):
            return block_id.split(":", 1)[1]
    return None


def proposals_posted(slack: FakeSlack) -> Counter[str]:
    """How many accepted proposal posts each ticket got in the triage channel."""
    return Counter(
        ticket
        for call in slack.accepted("chat.postMessage", TRIAGE_CHANNEL)
        if (ticket := proposal_ticket(call)) is not None
    )


def repeats_per_channel(slack: FakeSlack) -> dict[str, int]:
    """Accepted posts that repeat an earlier identical one, per channel."""
    seen: Counter[tuple[str, str]] = Counter()
    for call in slack.accepted("chat.postMessage"):
        key = (
            str(call.params.get("channel")),
            json.dumps(call.params.get("blocks"), sort_keys=True) + str(call.params.get("text")),
        )
        seen[key] += 1
    repeats: Counter[str] = Counter()
    for (channel, _), count in seen.items():
        repeats[channel] += count - 1
    return {c: n for c, n in repeats.items() if n}


async def post_signed(
    http: aiohttp.ClientSession, base_url: str, payload: Any, secret: str = INTAKE_SECRET
) -> aiohttp.ClientResponse:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "X-Triage-Signature": sign(secret, body)}
    response = await http.post(f"{base_url}/tickets", data=body, headers=headers)
    await response.read()
    return response


@dataclass
class ServeProcess:
    """A `triage-bot serve` subprocess on a loopback port."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServeProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=self.log_path.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited early:\n{self.log()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{self.base_url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} did not become ready:\n{self.log()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


def serve_env(
    database_url: str, slack: FakeSlack, policies_dir: Path, **settings: Any
) -> dict[str, str]:
    """The environment of a serve process: only these settings, nothing from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_OURS)}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "SLACK_API_URL": slack.api_url,
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "TRIAGE_CHANNEL": TRIAGE_CHANNEL,
            "INTAKE_SECRET": INTAKE_SECRET,
            "POLICIES_DIR": str(policies_dir),
            "CLASSIFIER": "local",
            "WORKER_POLL_SECONDS": "0.2",
            "SLACK_TIMEOUT_SECONDS": "2",
            "OUTBOX_MAX_BACKOFF_SECONDS": "1",
            # One message per ticket: these tests count per-ticket posts.
            "ROUTED_SUMMARY_SECONDS": "0",
            "SURGE_MIN_TICKETS": "0",
        }
    )
    env.update({k.upper(): str(v) for k, v in settings.items()})
    return env


class TcpProxy:
    """A loopback TCP proxy that a test can cut (every connection dropped, port refused)
    and restore on the same port: a database restart without touching the database."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def cut(self) -> None:
        """Refuse new connections and drop every open one."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()
                self._writers.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def eventually(check, timeout: float = WAIT_SECONDS, every: float = 0.05) -> None:
    """Wait until check() is truthy (e.g. the store caught up with Slack's answer).

    check() runs in a thread: it may block on the database without stalling the loop
    that serves the bot (and, in outage tests, the proxy in front of the database).
    """
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {check}")
        await asyncio.sleep(every)


def unmatched_deliveries(store: Any, slack: FakeSlack) -> tuple[list[int], list[str]]:
    """Compare the outbox with what Slack accepted: (rows not delivered exactly once as
    their count, accepted posts that match no outbox row)."""

    def key(channel: Any, text: Any, blocks: Any) -> str:
        return json.dumps([channel, text, blocks], sort_keys=True)

    accepted = Counter(
        key(c.params.get("channel"), c.params.get("text"), c.params.get("blocks"))
        for c in slack.accepted("chat.postMessage")
    )
    rows = [r for r in store.outbox_messages() if r.method == "chat.postMessage"]
    expected = Counter(
        key(r.payload.get("channel"), r.payload.get("text"), r.payload.get("blocks")) for r in rows
    )
    wrong = [
        accepted.get(k, 0) for k, n in expected.items() for _ in range(n) if accepted.get(k, 0) != n
    ]
    extra = [k for k in accepted if k not in expected]
    return wrong, extra


def review_ticket(store: Any, ticket_id: str) -> None:
    """A ticket waiting for a human in `store` (a `bot.store.Store`), as the worker leaves it."""
    from bot.models import Ticket, TicketStatus

    with store.session() as session:
        session.add(
            Ticket(
                id=ticket_id,
                subject="Invoice",
                body="charged twice",
                status=TicketStatus.REVIEW.value,
                proposed_tag="billing",
            )
        )
        session.commit()


def sender(store: Any, api_url: str) -> Any:
    """An outbox dispatcher of `store` (a `bot.store.Store`) talking to a local Slack API."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.outbox import OutboxDispatcher

    client = AsyncWebClient(token="xoxb-test", base_url=api_url)
    return OutboxDispatcher(store, client, lease=timedelta(seconds=60))


@contextlib.asynccontextmanager
async def handing(store: Any, api_url: str) -> AsyncIterator[Any]:
    """A `sender` that takes the store's chat.update rows straight from their transitions,
    as `serve` does; stops taking them on exit."""
    dispatcher = sender(store, api_url)
    dispatcher.hand_updates()
    try:
        yield dispatcher
    finally:
        dispatcher.stop_handing()


@contextlib.contextmanager
def store_of(kind: type, database_url: str) -> Iterator[Any]:
    """A store of class `kind` (a `bot.store.Store` staging a race) on its own engine."""
    from bot.db import make_engine

    engine = make_engine(database_url)
    try:
        yield kind(engine)
    finally:
        engine.dispose()
