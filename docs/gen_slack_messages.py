"""Writes docs/slack-messages.md: the rendered Block Kit JSON of each message the agents'
channel shows, from the same builders the bot uses (paste any of them into Slack's Block
Kit Builder to see it).

    python docs/gen_slack_messages.py
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import blocks as kit  # noqa: E402
from bot.channel import render  # noqa: E402
from bot.channel.gate_view import notice_text, text_blocks  # noqa: E402
from bot.ownership.gate import GateStatus  # noqa: E402

TAGS = [
    "account_access",
    "billing",
    "bug",
    "cancellation",
    "feature_request",
    "how_to",
    "positive_feedback",
    "security",
]
AT = datetime(2026, 11, 30, 10, 12, tzinfo=UTC)
URL = "https://help.example.com/tickets/{}"


def ticket(tid: str, subject: str, body: str, requester: str = "Ana Díaz") -> kit.TicketView:
    return kit.TicketView(
        id=tid, subject=subject, body=body, requester=requester, url=URL.format(tid)
    )


SARCASTIC = ticket(
    "1003",
    "Great job charging me twice",
    "Great job charging me twice, you geniuses. Invoice INV-2211 shows the same plan twice.",
)
HELD = kit.ProposalView(
    tag="billing",
    confidence=1.0,
    sentiment="negative",
    decision="review",
    reasons=["sarcasm: sarcastic tone; a human should read it"],
    policy="billing",
    guardrails=("sarcasm",),
)
UNSURE = kit.ProposalView(
    tag="how_to",
    confidence=0.62,
    sentiment="neutral",
    decision="review",
    reasons=["low_confidence: 0.62 is below how_to's threshold 0.85"],
    policy="how_to",
    guardrails=("low_confidence",),
)
AUTO = kit.ProposalView(
    tag="billing",
    confidence=0.97,
    sentiment="neutral",
    decision="auto",
    reasons=[],
    policy="billing",
)
EXPORT = ticket("1004", "Export to CSV", "How do I export my monthly reports to CSV?", "Bo Li")


def messages() -> list[tuple[str, str, list[dict]]]:
    outage = [
        ticket(f"20{i:02d}", f"Cannot log in since 10:{5 + i:02d}", "The login page spins.")
        for i in range(24)
    ]
    group = render.GroupView(
        id=7,
        tag="account_access",
        policy="account_access",
        headline="Cannot log in since 10:05",
        count=43,
        apart=2,
        pulled=1,
        first_at=AT,
        last_at=AT + timedelta(minutes=7),
        owner="U0ACCOWNER",
        samples=outage[:3],
        confidence=0.96,
    )
    decided = render.GroupView(
        **{
            **group.__dict__,
            "decided": ":white_check_mark: *Approved all* as `account_access` by <@U0AGENT01> "
            + kit.slack_date(AT + timedelta(minutes=9)),
        }
    )
    lines = [
        render.Line(ticket=t, tag="account_access", route_channel="C0ACCESS") for t in outage[:3]
    ]
    guarded = [
        render.Line(
            ticket=ticket(
                "2101",
                "Cannot log in since 10:06",
                "The login page spins. I will file a chargeback.",
                "Dara Okafor",
            ),
            tag="account_access",
            why="*Proposed tag:* `account_access`, held: a no-go topic\n"
            "• Touches chargeback: always decided by a human.",
            warning=":warning: *Negative tone*: the customer is unhappy.",
        ),
        render.Line(
            ticket=ticket("2102", "Great job, can't log in again", "Fantastic. Locked out."),
            tag="account_access",
            why="*Proposed tag:* `account_access`, held: sarcastic tone",
            done=":white_check_mark: *Approved* as `account_access` by <@U0AGENT01> "
            + kit.slack_date(AT + timedelta(minutes=4)),
        ),
    ]
    routed = [
        render.Line(ticket=EXPORT, tag="how_to", route_channel="C0HOWTO"),
        render.Line(
            ticket=ticket("1005", "Refund status", "When will my refund arrive?"),
            tag="billing",
            route_channel="C0BILLING",
            done="Corrected to `cancellation` by <@U0AGENT01>",
        ),
    ]
    gate = GateStatus(
        policy="billing",
        decided=12,
        correct=12,
        precision=1.0,
        meets=False,
        min_decided=50,
        target=0.97,
        window_days=30,
    )
    status = "\n".join(
        [
            "*Triage status*",
            ":arrow_forward: Nothing is paused.",
            "*Policies*",
            "• `billing`: mode *suggest* (learning, 12 of 50 decisions, 100% right so far); "
            "threshold calibrated; owner <@U0BILLOWNR>, backup <@U0BILLBKUP>",
            "• `how_to`: mode *auto* (live, 98% right over 61 decided); threshold 0.85; "
            "owner <@U0HOWOWNER>",
            "• `security`: mode *auto* (no-go: a human decides every ticket); threshold "
            "calibrated; owner <@U0SECOWNER>, backup <@U0SECBACKP>",
            ":white_check_mark: No ticket is waiting for a human.",
        ]
    )
    d = kit.to_dicts
    return [
        (
            "Review proposal",
            "A held ticket: linked subject, who wrote, the tag and why it is held, reasons "
            "as sentences, tone warnings, the three controls (`triage:<id>`).",
            d(kit.review_message(SARCASTIC, HELD, TAGS, 1500)),
        ),
        (
            "Review proposal, not sure enough",
            "Low confidence is said as such: `how_to, only 62% sure`.",
            d(kit.review_message(EXPORT, UNSURE, TAGS, 1500)),
        ),
        (
            "Auto-routed ticket (ROUTED_SUMMARY_SECONDS=0)",
            "One message per auto-routed ticket, as before, with Reassign.",
            d(kit.auto_routed_message(EXPORT, AUTO, TAGS, 1500, "C0HOWTO")),
        ),
        (
            "Routed summary",
            "One message per interval; each ticket a line with its route and a Reassign "
            "select (`triage:<id>` / `triage_reassign`); a corrected line loses its control.",
            d(render.summary_message(routed, AT, AT + timedelta(minutes=5), TAGS)),
        ),
        (
            "Surge group",
            "One grouped proposal: headline, samples, the proposed tag, the owner paged, "
            "and `triage-group:<id>` with Approve all / Reassign all / Not sure.",
            d(render.group_message(group, TAGS)),
        ),
        (
            "Surge group, member list (thread reply)",
            "About 20 members a reply; each can be pulled out (`triage_ungroup`, value = ticket id).",
            d(render.list_message(7, lines)),
        ),
        (
            "Surge group, similar tickets with a guardrail (thread reply)",
            "Never approved in bulk: listed apart in the thread, up to 24 a reply, each with the "
            "controls of its own proposal (`triage:<id>`: Approve, Reassign, Not sure). A click "
            "updates this message: that ticket shows who decided, the others keep their controls.",
            d(render.apart_message(7, guarded, TAGS)),
        ),
        (
            "Surge group after Approve all",
            "No live controls left.",
            d(render.group_message(decided, TAGS)),
        ),
        (
            "Route channel, after Approve all",
            "Grouped like the triage channel: one post per 20 members.",
            d(
                render.group_route_message(
                    group.headline,
                    "account_access",
                    "approved as a group by <@U0AGENT01>",
                    lines,
                    1,
                    3,
                )
            ),
        ),
        (
            "Route channel, one ticket",
            "The tone warnings of the proposal travel with the ticket.",
            d(
                kit.route_message(
                    SARCASTIC,
                    "billing",
                    "approved by <@U0AGENT01>",
                    1500,
                    kit.tone_warning(HELD.sentiment, HELD.guardrails),
                )
            ),
        ),
        (
            "Decided proposal",
            "After a click: who decided what, when; no controls.",
            d(
                kit.decided_message(
                    SARCASTIC,
                    HELD,
                    ":white_check_mark: *Approved* as `billing` by <@U0AGENT01> "
                    + kit.slack_date(AT),
                    1500,
                )
            ),
        ),
        (
            "Not sure: the page to the owner",
            "One sentence says why; the full reasons stay in the audit.",
            d(
                kit.handoff_message(
                    SARCASTIC,
                    "U0BILLOWNR",
                    [],
                    "U0AGENT01",
                    "Sounds sarcastic: read it before routing.",
                    1500,
                )
            ),
        ),
        (
            "Launch gate notice",
            "Once a day per gated policy.",
            d(kit.notice(notice_text("billing", gate))),
        ),
        ("/triage-status", "A compact table: one line per policy.", text_blocks(status)),
    ]


def main() -> None:
    out = [
        "# Slack messages of the agents' channel",
        "",
        "Generated by `python docs/gen_slack_messages.py` from the bot's own builders. Each "
        "block list can be pasted into Slack's Block Kit Builder.",
        "",
    ]
    for title, why, blocks in messages():
        assert len(blocks) <= 50, title
        out += [
            f"## {title}",
            "",
            why,
            "",
            "```json",
            json.dumps(blocks, indent=2, ensure_ascii=False),
            "```",
            "",
        ]
    (ROOT / "docs" / "slack-messages.md").write_text("\n".join(out), encoding="utf-8")


if __name__ == "__main__":
    main()
