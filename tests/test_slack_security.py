"""Slack requests whose signature is missing, wrong or stale get 401 and change nothing."""

from __future__ import annotations

import time

import pytest

from tests.conftest import SIGNING_SECRET, BotUnderTest
from tests.fakes.slack_requests import signed_headers, slash_command

OWNER = "U0SUPPLEAD"


@pytest.mark.parametrize("case", ["unsigned", "wrong_secret", "stale", "tampered"])
async def test_bad_signatures_get_401_and_change_nothing(bot: BotUnderTest, case: str):
    body = slash_command("/triage-pause", "all", OWNER, bot.slack.response_url)
    if case == "unsigned":
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    elif case == "wrong_secret":
        headers = signed_headers("not-the-secret", body)
    elif case == "stale":
        headers = signed_headers(SIGNING_SECRET, body, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = signed_headers(SIGNING_SECRET, body)
        body = body.replace("all", "billing")
    response = await bot.slack_post(body, headers)
    assert response.status == 401
    assert bot.runtime.store.paused_names() == set()
    assert bot.slack.responses == []


async def test_correctly_signed_command_is_accepted(bot: BotUnderTest):
    response = await bot.command("/triage-pause", "all maintenance", OWNER)
    assert response.status == 200
    await bot.slack.wait_for(lambda s: s.responses)
    assert bot.runtime.store.paused_names() == {"all"}


async def test_healthz_reports_database_and_pauses(bot: BotUnderTest):
    response = await bot.http.get(f"{bot.base_url}/healthz")
    assert response.status == 200
    report = await response.json()
    assert report["database"] == "ok" and report["paused"] == []
    await bot.command("/triage-pause", "billing", "U0BILLOWNR")
    await bot.slack.wait_for(lambda s: s.responses)
    report = await (await bot.http.get(f"{bot.base_url}/healthz")).json()
    assert report["paused"] == ["billing"]
