"""Routed summaries end to end: auto-routed tickets announced in one message, each with
its Reassign select; the route channel still gets every ticket; a correction changes
only its line."""

from __future__ import annotations

import pytest

from bot.models import TicketStatus
from tests.conftest import TRIAGE_CHANNEL, BotUnderTest

AGENT = "U0AGENT01"
TICKETS = [
    (
        "R-1",
        "Invoice amount wrong",
        "My invoice for October shows the wrong amount, please fix the charge.",
    ),
    (
        "R-2",
        "Password reset",
        "The password reset email never arrives, I cannot sign in to my account.",
    ),
    (
        "R-3",
        "Export to CSV",
        "How do I export my monthly reports to a CSV file from the dashboard?",
    ),
]


def summaries(bot: BotUnderTest) -> list:
    return [
        c
        for c in bot.posts_to(TRIAGE_CHANNEL)
        if "Routed automatically in the last" in str(c.params.get("blocks"))
    ]


@pytest.mark.policies(threshold=0.05)
@pytest.mark.global_policy(ambiguity_margin=0, min_words=0)
async def test_auto_routed_tickets_are_announced_in_one_summary(start_bot):
    async with start_bot(routed_summary_seconds=1) as bot:
        await bot.post_tickets([{"id": i, "subject": s, "body": b} for i, s, b in TICKETS])
        await bot.slack.wait_for(lambda s: summaries(bot), timeout=30)
        routed = [
            t
            for t, _, _ in TICKETS
            if bot.runtime.store.get_ticket(t).status == TicketStatus.AUTO_ROUTED
        ]
        assert routed, "the policies were pinned to route these tickets alone"
        # The triage channel carries no per-ticket post for them ...
        assert all(
            bot.proposal_for(t) is None or bot.proposal_for(t) in summaries(bot) for t in routed
        )
        await bot.slack.wait_for(
            lambda s: sum(len(c.params["blocks"]) - 1 for c in summaries(bot)) >= len(routed),
            timeout=30,
        )
        summary = summaries(bot)[0]
        lines = [b for b in summary.params["blocks"] if b.get("block_id", "").startswith("triage:")]
        assert {b["block_id"] for b in lines} <= {f"triage:{t}" for t in routed}
        for block in lines:
            assert block["accessory"]["type"] == "static_select"
            assert block["accessory"]["action_id"] == "triage_reassign"
        assert len(summary.params["blocks"]) <= 50
        # ... while each route channel still gets each ticket.
        for ticket_id in routed:
            tag = bot.runtime.store.get_ticket(ticket_id).final_tag
            channel = bot.runtime.policies.for_tag(tag).route_channel
            assert any(ticket_id in c.params["text"] for c in bot.posts_to(channel))

        # A correction from the summary changes that line only.
        target = lines[0]["block_id"].split(":", 1)[1]
        other = next(
            t
            for t in bot.runtime.policies.tags
            if t != bot.runtime.store.get_ticket(target).final_tag
        )

        def summary_ts() -> str | None:
            return next(
                (
                    m.result_ts
                    for m in bot.runtime.store.outbox_messages()
                    if m.purpose == "summary" and m.payload["blocks"] == summary.params["blocks"]
                ),
                None,
            )

        await bot.slack.wait_for(lambda s: summary_ts() is not None)
        ts = summary_ts()
        await bot.click("triage_reassign", target, AGENT, ts, selected=other)
        await bot.slack.wait_for(
            lambda s: any(u.params.get("ts") == ts for u in s.of("chat.update"))
        )
        update = next(u for u in bot.slack.of("chat.update") if u.params.get("ts") == ts)
        blocks = update.params["blocks"]
        assert len(blocks) == len(summary.params["blocks"])
        corrected = next(b for b in blocks if target in str(b.get("text")))
        assert "Corrected" in corrected["text"]["text"] and "accessory" not in corrected
        stored = bot.runtime.store.get_ticket(target)
        assert stored.status == TicketStatus.ROUTED and stored.final_tag == other
        await bot.slack.wait_for(
            lambda s: bot.posts_to(bot.runtime.policies.for_tag(other).route_channel)
        )
