"""manifest.yml creates an app with exactly what the code serves: every slash command in it
answers, and the Home tab event is subscribed on the one Slack endpoint."""

from __future__ import annotations

import yaml

from tests.conftest import ROOT, BotUnderTest
from tests.ownership.conftest import AGENT, answer

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_declares_the_commands_home_tab_and_event():
    commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert commands == {"/triage-pause", "/triage-resume", "/triage-status", "/triage-mode"}
    urls = {c["url"] for c in MANIFEST["features"]["slash_commands"]}
    events = MANIFEST["settings"]["event_subscriptions"]
    assert urls == {events["request_url"], MANIFEST["settings"]["interactivity"]["request_url"]}
    assert next(iter(urls)).endswith("/slack/events")
    assert events["bot_events"] == ["app_home_opened"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True


async def test_every_manifest_command_is_answered(bot: BotUnderTest):
    for entry in MANIFEST["features"]["slash_commands"]:
        reply = await answer(bot, entry["command"], "", AGENT)
        assert reply["text"] and "Sorry" not in reply["text"], entry["command"]
