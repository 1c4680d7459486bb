"""Decisions are told back to the helpdesk: one signed POST per decision, retried, never lost."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from bot import outbound
from bot.models import OutboxStatus
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest
from tests.reliability.helpers import eventually

SECRET = "outbound-test-secret"
AGENT = "U0AGENT01"


@dataclass
class Receiver:
    """A helpdesk endpoint on a loopback port that can refuse the first N deliveries."""

    fail_first: int = 0
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def _receive(self, request: web.Request) -> web.Response:
        self.calls.append((dict(request.headers), await request.read()))
        if len(self.calls) <= self.fail_first:
            return web.Response(status=503)
        return web.Response(status=204)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait(self, count: int, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.calls) < count:
                await asyncio.sleep(0.05)


def verified_bodies(receiver: Receiver) -> list[dict]:
    """Bodies whose signature checks out, computed as a receiver would from the docs."""
    bodies = []
    for headers, body in receiver.calls:
        timestamp = headers["X-Triage-Timestamp"]
        expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        assert headers["X-Triage-Signature"] == "sha256=" + expected.hexdigest()
        bodies.append(json.loads(body))
    return bodies


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


@pytest.fixture
async def hooked_bot(
    bot_starter, policies_dir: Path, receiver: Receiver
) -> AsyncIterator[BotUnderTest]:
    for path in policies_dir.glob("[!_]*.yml"):
        data = yaml.safe_load(path.read_text())
        data["webhook_url"] = receiver.url
        path.write_text(yaml.safe_dump(data))
    async with bot_starter(
        outbound_webhook_secret=SECRET, outbox_max_backoff_seconds=0.5
    ) as running_bot:
        yield running_bot


@pytest.mark.policies(mode="suggest")
async def test_an_approval_is_posted_once_signed_even_after_the_receiver_failed(
    hooked_bot: BotUnderTest, receiver: Receiver
):
    receiver.fail_first = 1
    await hooked_bot.post_tickets(
        {"id": "W-1", "subject": "Invoice", "body": "Please resend my invoice for October."}
    )
    await hooked_bot.slack.wait_for(lambda s: hooked_bot.proposal_for("W-1") is not None)
    assert receiver.calls == []  # a proposal is not a decision
    ts = await hooked_bot.proposal_ts("W-1")
    await hooked_bot.click("triage_approve", "W-1", AGENT, ts)
    await hooked_bot.click("triage_approve", "W-1", AGENT, ts)  # a double click is one decision

    await receiver.wait(2)
    # One call queued for the decision (the double click added none), and it is marked
    # sent: no attempt of it is left to come, so the two calls received are all there are.
    store = hooked_bot.runtime.store

    def webhook_calls() -> list:
        return [m for m in store.outbox_messages("W-1") if m.purpose == outbound.PURPOSE]

    await eventually(lambda: [m.status for m in webhook_calls()] == [OutboxStatus.SENT.value])
    assert len(receiver.calls) == 2  # the refused attempt and its retry, nothing more
    first, second = verified_bodies(receiver)
    assert first == second
    assert receiver.calls[0][0]["X-Triage-Delivery"] == receiver.calls[1][0]["X-Triage-Delivery"]
    ticket = hooked_bot.runtime.store.get_ticket("W-1")
    assert second["ticket"]["id"] == "W-1"
    assert second["action"] == "approve" and second["decided_by"] == AGENT
    assert second["tag"] == ticket.final_tag
    assert "invoice" not in json.dumps(second).lower()  # no ticket text leaves this way


@pytest.mark.policies(threshold=0.01)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_auto_routing_and_a_later_correction_are_two_deliveries(
    hooked_bot: BotUnderTest, receiver: Receiver
):
    await hooked_bot.post_tickets(
        {
            "id": "W-2",
            "subject": "Refund",
            "body": "I was charged for the annual plan and want a refund of that charge.",
        }
    )
    await receiver.wait(1)
    ticket = hooked_bot.runtime.store.get_ticket("W-2")
    assert ticket.decided_by == "bot", ticket.status  # pinned: any confidence routes
    other = next(t for t in hooked_bot.runtime.policies.tags if t != ticket.final_tag)
    message = next(c for c in hooked_bot.posts_to(TRIAGE_CHANNEL) if "W-2" in json.dumps(c.params))
    assert message is not None
    await hooked_bot.click(
        "triage_reassign", "W-2", AGENT, await hooked_bot.proposal_ts("W-2"), selected=other
    )
    await receiver.wait(2)
    auto, correction = verified_bodies(receiver)
    assert (auto["action"], auto["decided_by"]) == ("auto", "bot")
    assert (correction["action"], correction["tag"]) == ("reassign", other)
    assert receiver.calls[0][0]["X-Triage-Delivery"] != receiver.calls[1][0]["X-Triage-Delivery"]


def test_a_policy_webhook_must_be_an_http_url(tmp_path: Path):
    from bot.policies import Policy

    with pytest.raises(ValueError, match="webhook_url"):
        Policy(
            name="billing",
            owner="U0OWNER01",
            tags=["billing"],
            route_channel="C0ROUTE01",
            webhook_url="file:///etc/passwd",
        )
