"""What an operator watches: /metrics (Prometheus, behind METRICS_TOKEN), one INFO line per
decision, pause, hand-off and page (ids and codes, never ticket text), JSON logs, quiet
scheduler, and `serve --port 0`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build_runtime
from bot.metrics_endpoint import render
from bot.models import TicketStatus
from bot.watchdog import Watchdog
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest, make_settings
from tests.operations.conftest import METRICS_TOKEN
from tests.operations.helpers import clean_env, copy_policies
from tests.ownership.conftest import answer

AGENT = "U0AGENT01"
BILL_OWNER = "U0BILLOWNR"
SECRET_TEXT = "Could someone look at my invoice? zebra-marker-7731"
TICKET = {"subject": "Question", "body": SECRET_TEXT}


def samples(text: str | bytes) -> dict[tuple[str, tuple], float]:
    text = text.decode() if isinstance(text, bytes) else text
    values: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(scrape: dict, name: str, **labels: str) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(bot: BotUnderTest) -> dict:
    response = await bot.http.get(
        f"{bot.base_url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    return samples(await response.text())


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def review_ticket(bot: BotUnderTest, ticket_id: str) -> str:
    """Post a ticket that needs review; returns the ts Slack gave its proposal."""
    assert (await bot.post_tickets({"id": ticket_id, **TICKET})).status == 202
    await bot.slack.wait_for(lambda s: bot.proposal_for(ticket_id) is not None)
    assert bot.runtime.store.get_ticket(ticket_id).status == TicketStatus.REVIEW

    def sent() -> list:
        rows = bot.runtime.store.outbox_messages(ticket_id)
        return [m.result_ts for m in rows if m.purpose == "proposal" and m.result_ts]

    await until(lambda: bool(sent()))
    return sent()[-1]


async def test_metrics_is_off_without_a_token(bot: BotUnderTest):
    response = await bot.http.get(f"{bot.base_url}/metrics")
    assert response.status == 404


async def test_metrics_needs_the_bearer_token(metrics_bot: BotUnderTest):
    url = f"{metrics_bot.base_url}/metrics"
    assert (await metrics_bot.http.get(url)).status == 401
    wrong = await metrics_bot.http.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401 and "Bearer" in wrong.headers["WWW-Authenticate"]
    basic = await metrics_bot.http.get(url, headers={"Authorization": f"Basic {METRICS_TOKEN}"})
    assert basic.status == 401
    assert "triage_outbox_messages" in str(await scrape(metrics_bot))


@pytest.mark.policies(mode="suggest")
async def test_metrics_follow_the_triage_loop(metrics_bot: BotUnderTest):
    bot = metrics_bot
    before = await scrape(bot)
    ts = await review_ticket(bot, "M-1")
    await bot.click("triage_approve", "M-1", AGENT, ts)
    await until(lambda: bot.runtime.store.get_ticket("M-1").status == TicketStatus.ROUTED)
    await bot.click("triage_approve", "M-1", AGENT, ts)  # a second click changes nothing
    await bot.slack.wait_for(lambda s: len(s.responses) >= 1)
    # Slack refuses the next proposal once: counted by method and kind.
    bot.slack.fail_next("chat.postMessage", status=500, body={"ok": False, "error": "fatal_error"})
    await review_ticket(bot, "M-2")
    after = await scrape(bot)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("triage_tickets_received_total", source="webhook") == 2
    assert delta("triage_proposals_total", decision="review", policy="billing") == 2
    assert delta("triage_proposal_reasons_total", decision="review", reason="mode") == 2
    assert delta("triage_clicks_total", action="triage_approve", outcome="applied") == 1
    assert delta("triage_clicks_total", action="triage_approve", outcome="noop") == 1
    assert delta("triage_events_total", action="approve") == 1
    assert delta("triage_classifier_seconds_count") == 2
    assert delta("triage_slack_errors_total", method="chat.postMessage", kind="fatal_error") == 1
    assert ("triage_outbox_oldest_pending_seconds", ()) in after
    assert any(name == "triage_outbox_messages" for name, _ in after)


async def test_source_lag_is_exported_when_a_helpdesk_source_is_polled(
    database_url: str, tmp_path: Path, policies_dir: Path
):
    from tests.source.conftest import source_settings
    from tests.source.legacy import LegacyHelpdesk

    helpdesk = LegacyHelpdesk("sqlite", tmp_path)
    settings = source_settings(helpdesk, database_url, policies_dir=policies_dir)
    runtime = build_runtime(settings)
    try:
        text = await asyncio.to_thread(render, runtime)
        assert samples(text)[("triage_source_lag_seconds", ())] == float("inf")  # never polled
        await asyncio.to_thread(runtime.source.poll_once)
        lag = samples(await asyncio.to_thread(render, runtime))[("triage_source_lag_seconds", ())]
        assert 0 <= lag < 60
    finally:
        await runtime.close()
        helpdesk.drop()
    no_source = build_runtime(make_settings(database_url=database_url, policies_dir=policies_dir))
    try:
        assert b"triage_source_lag_seconds" not in await asyncio.to_thread(render, no_source)
    finally:
        await no_source.close()


@pytest.mark.policies(mode="suggest")
async def test_one_info_line_per_decision_pause_handoff_and_page(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO)
    ts = await review_ticket(bot, "L-1")
    await bot.click("triage_approve", "L-1", AGENT, ts)
    await until(lambda: bot.runtime.store.get_ticket("L-1").status == TicketStatus.ROUTED)
    ts = await review_ticket(bot, "L-2")
    await bot.click("triage_not_sure", "L-2", AGENT, ts)
    await until(lambda: bot.runtime.store.get_ticket("L-2").status == TicketStatus.HANDED_OFF)
    ticket = bot.runtime.store.get_ticket("L-2")
    sla = bot.runtime.policies.policies["billing"].handoff_sla_minutes
    watchdog = Watchdog(bot.runtime.store, bot.runtime.policies, TRIAGE_CHANNEL)
    from datetime import timedelta

    assert watchdog.tick(now=ticket.handed_off_at + timedelta(minutes=sla + 1))
    reply = await answer(bot, "/triage-pause", "billing 2h secret-pause-reason-42", BILL_OWNER)
    assert "Paused" in reply["text"]

    events = [r for r in caplog.records if r.name == "bot.events" and r.levelno == logging.INFO]
    lines = [r.getMessage() for r in events]
    for expected in (
        "proposed ticket_id=L-1 policy=billing actor=bot",
        "approve ticket_id=L-1 policy=billing actor=U0AGENT01",
        "not_sure ticket_id=L-2 policy=billing actor=U0AGENT01",
        "page ticket_id=L-2 policy=billing actor=bot",
        "pause policy=billing actor=U0BILLOWNR",
    ):
        assert sum(line.startswith(expected) for line in lines) == 1, (expected, lines)
    proposed = next(line for line in lines if line.startswith("proposed ticket_id=L-1"))
    assert "decision=review" in proposed
    assert "mode" in proposed.split("reasons=", 1)[1].split(" ", 1)[0].split(",")
    assert next(r for r in events if r.getMessage().startswith("approve")).event["tag"]
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "zebra-marker-7731" not in everything  # ticket text never reaches the logs
    assert "secret-pause-reason-42" not in everything  # nor free text typed by people


def test_scheduler_chatter_is_debug_only_and_slack_bodies_never_logged():
    probe = (
        "import logging; from bot.logs import setup_logging; setup_logging('{level}'); "
        "print(logging.getLogger('apscheduler.executors.default').isEnabledFor(logging.INFO), "
        "logging.getLogger('slack_sdk.web.async_base_client').isEnabledFor(logging.DEBUG))"
    )
    # The Slack SDK logs whole request bodies (ticket text) at DEBUG: never shown.
    for level, shown in (("INFO", "False False"), ("DEBUG", "True False")):
        result = __import__("subprocess").run(
            [sys.executable, "-c", probe.format(level=level)],
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=60,
        )
        assert result.stdout.strip() == shown, (level, result.stderr)


class _Rendered(str):
    """A payload value that records being turned into a log string (repr)."""

    renders = 0

    def __repr__(self) -> str:
        type(self).renders += 1
        return super().__repr__()


async def test_slack_client_calls_never_render_their_bodies_for_the_log():
    """The SDK formats a call's whole request and answer whenever its client logger's
    own level admits DEBUG (it ignores the inherited one): with the bot's logging set up,
    a call sends the body as JSON and never renders it to a string."""
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.logs import SDK_CLIENT_LOGGERS, setup_logging
    from tests.fakes.slack_api import FakeSlack

    saved = {name: logging.getLogger(name).level for name in SDK_CLIENT_LOGGERS}
    slack = await FakeSlack().start()
    try:
        setup_logging("INFO")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        _Rendered.renders = 0
        answer = await client.api_call(
            "chat.postMessage", json={"channel": "C1", "text": _Rendered("ticket text")}
        )
        assert answer["ok"] is True
        assert slack.of("chat.postMessage")[-1].params["text"] == "ticket text"
        assert _Rendered.renders == 0
        # Without its own level the same call renders the body (what this guards against).
        logging.getLogger(SDK_CLIENT_LOGGERS[0]).setLevel(logging.NOTSET)
        await client.api_call(
            "chat.postMessage", json={"channel": "C1", "text": _Rendered("ticket text")}
        )
        assert _Rendered.renders > 0
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
        await slack.stop()


async def test_serve_on_port_0_logs_json_and_the_port_it_bound(tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL="http://127.0.0.1:9/api/",  # never called at start
        TRIAGE_CHANNEL="C0TRIAGE",
        INTAKE_SECRET="a-long-enough-intake-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'triage.db'}",
        POLICIES_DIR=str(policies),
        LOG_FORMAT="json",
        PORT="3000",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "serve", "--port", "0", "--host", "127.0.0.1",
        cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    records: list[dict] = []
    port = None
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 90
        while port is None:
            line = await asyncio.wait_for(process.stderr.readline(), deadline - time.monotonic())
            assert line, f"serve exited early: {records}"
            record = json.loads(line)  # every line is one JSON object
            records.append(record)
            if record["message"].startswith("triage-bot serving"):
                port = int(record["message"].split("127.0.0.1:")[1].split(")")[0])
        assert port not in (0, 3000)
        async with aiohttp.ClientSession() as http:
            health = await http.get(f"http://127.0.0.1:{port}/healthz")
            assert health.status == 200
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), timeout=60)
    for record in records:
        assert {"time", "level", "logger", "message"} <= set(record)
        assert "will be unused" not in record["message"]  # Bolt's start-up warning is gone
    assert any(r["level"] == "WARNING" and "placeholder IDs" in r["message"] for r in records)
    assert process.returncode == 0
    assert os.path.exists(tmp_path / "triage.db")
