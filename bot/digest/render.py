"""The digest as Block Kit (slack_sdk models) and as plain text (`triage-bot digest --dry-run`).

It leads with the outcome, then what needs attention; details come after, in small type.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.digest.build import MIN_AUTO, PRECISION_DROP, Digest, PolicyLine
from bot.metrics import HUMAN_DECISIONS, Bucket, OutcomeChange
from bot.text import escape_mrkdwn
from bot.watchdog import describe_waiting

SECTION_LIMIT = 3000
MINUS = "\u2212"  # a real minus sign: "−34%"


def pct(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def signed_pct(change: float) -> str:
    text = f"{abs(change) * 100:.0f}%"
    return f"{MINUS}{text}" if change < 0 else f"+{text}"


def duration(mins: float | None) -> str:
    """Minutes as `45 s`, `12 min`, `3.5 h`, `2.1 d`."""
    if mins is None:
        return "—"
    if mins < 1:
        return f"{mins * 60:.0f} s"
    if mins < 90:
        return f"{mins:.0f} min"
    if mins < 48 * 60:
        return f"{mins / 60:.1f} h"
    return f"{mins / 1440:.1f} d"


def change_vs(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before <= 0:
        return None
    return now / before - 1


def day_label(digest: Digest) -> str:
    return f"{digest.report_day:%a %d %b %Y}"


# --- the words ---------------------------------------------------------------------------------


def headline(digest: Digest) -> str:
    """The outcome in one line: '… −34% vs baseline, 81% automated at 98.2% precision'."""
    day = digest.day
    if day.volume == 0:
        return f"No tickets on {day_label(digest)}."
    parts = []
    first_response = digest.outcome("first response")
    if first_response is not None and first_response.change is not None:
        parts.append(f"first response {signed_pct(first_response.change)} vs baseline")
    route_change = change_vs(
        day.p(day.route_minutes, 50), digest.previous.p(digest.previous.route_minutes, 50)
    )
    if route_change is not None:
        parts.append(f"time to route {signed_pct(route_change)} vs previous 7 days")
    if day.proposed:
        automated = f"{pct(day.automation_rate)} automated"
        if day.auto:
            automated += f" at {pct(day.precision, 1)} precision"
        parts.append(automated)
    parts.append(f"{day.volume} ticket{'s' if day.volume != 1 else ''}")
    text = ", ".join(parts)
    return text[0].upper() + text[1:]


def drop_line(line: PolicyLine) -> str:
    return (
        f":chart_with_downwards_trend: `{line.name}` precision fell to {pct(line.day.precision, 1)} "
        f"from {pct(line.previous.precision, 1)} over the previous 7 days "
        f"({line.day.auto_wrong} of {line.day.auto} auto-routes corrected). "
        f"Its owner can `/triage-pause {line.name}`."
    )


def attention(digest: Digest, now: datetime) -> list[str]:
    """What a manager must look at: precision drops, SLA breaches, tickets still waiting."""
    lines = [drop_line(line) for line in digest.drops]
    if digest.day.pages:
        per_policy = ", ".join(
            f"`{line.name}` {line.day.pages}" for line in digest.policies if line.day.pages
        )
        lines.append(
            f":rotating_light: {digest.day.pages} SLA breach page(s) for "
            f"{len(digest.day.paged_tickets)} ticket(s): {per_policy}."
        )
    if digest.waiting:
        lines.extend(describe_waiting(digest.waiting, now, limit=5))
    return lines or [":white_check_mark: Nothing needs attention."]


def policy_table(digest: Digest) -> str:
    header = (
        f"{'policy':<18}{'tickets':>8}{'auto':>7}{'precision':>11}{'route p50':>11}{'pages':>7}"
    )
    rows = [header]
    for line in digest.policies[:20]:
        b = line.day
        rows.append(
            f"{line.name[:17]:<18}{b.volume:>8}{pct(b.automation_rate):>7}"
            f"{pct(b.precision, 1):>11}{duration(b.p(b.route_minutes, 50)):>11}{b.pages:>7}"
        )
    return "\n".join(rows)


def times_line(b: Bucket) -> str:
    rates = " · ".join(f"{a.replace('_', ' ')} {pct(b.rate(a))}" for a in HUMAN_DECISIONS)
    return (
        f"Human decisions (n={b.human_decided}): {rates}. "
        f"First human touch p50 {duration(b.p(b.touch_minutes, 50))} / p90 {duration(b.p(b.touch_minutes, 90))}; "
        f"time to route p50 {duration(b.p(b.route_minutes, 50))} / p90 {duration(b.p(b.route_minutes, 90))}; "
        f"handoff claim p50 {duration(b.p(b.claim_minutes, 50))} / p90 {duration(b.p(b.claim_minutes, 90))}."
    )


def guardrails_line(b: Bucket) -> str:
    if not b.guardrails:
        return "Guardrails fired: none."
    fired = " · ".join(f"{name} {count}" for name, count in b.guardrails.most_common(8))
    return f"Guardrails fired: {fired}."


def praise_gated_line(b: Bucket) -> str:
    """How much praise the praise gate held for a human, by reason: the angry customers
    (and the unclear praise) the bot did not drop in the happy-feedback queue."""
    if not b.praise_gated:
        return "Praise held for review: none."
    held = " · ".join(f"{name} {count}" for name, count in b.praise_gated.most_common(8))
    return f"Praise held for review: {held}."


def corrections_line(b: Bucket) -> str:
    wrong = [(pair, n) for pair, n in b.confusion.most_common() if pair[0] != pair[1]]
    if not wrong:
        return "Proposed vs final tag: no corrections."
    shown = " · ".join(f"{p} → {f} {n}" for (p, f), n in wrong[:6])
    return f"Proposed → final tag, corrected: {shown}."


def outcome_line(outcome: OutcomeChange) -> str:
    base, after = len(outcome.baseline_hours), len(outcome.after_hours)
    if outcome.change is None or outcome.ci_low is None or outcome.ci_high is None:
        return (
            f"{outcome.name.capitalize()}: not enough data for a comparison yet "
            f"(baseline n={base}, since launch n={after}; needs 5 each)."
        )
    return (
        f"{outcome.name.capitalize()}: median {outcome.after_median:.1f} h (n={after}) vs "
        f"{outcome.baseline_median:.1f} h baseline (n={base}): {signed_pct(outcome.change)} "
        f"(95% CI {signed_pct(outcome.ci_low)} to {signed_pct(outcome.ci_high)})."
    )


def definitions(digest: Digest) -> str:
    cutoff = next((o.cutoff for o in digest.outcomes), None)
    baseline = f" Baseline: tickets created before {cutoff:%Y-%m-%d %H:%M} UTC." if cutoff else ""
    return (
        f"Day = {digest.report_day:%Y-%m-%d} in {digest.timezone}. Precision = auto-routes not "
        f"later reassigned. Precision alert: {PRECISION_DROP * 100:.0f} points below the previous "
        f"7 days with ≥{MIN_AUTO} auto-routes each.{baseline} Chart: 14-day trend, below."
    )


# --- Block Kit ---------------------------------------------------------------------------------


def _section(text: str) -> SectionBlock:
    if len(text) > SECTION_LIMIT:
        text = text[: SECTION_LIMIT - 2] + " …"
    return SectionBlock(text=MarkdownTextObject(text=text))


def digest_blocks(digest: Digest, now: datetime) -> list[Block]:
    """The message: header, outcome, attention, per-policy table, details."""
    details = [
        times_line(digest.day),
        guardrails_line(digest.day),
        praise_gated_line(digest.day),
        corrections_line(digest.day),
    ]
    details += [outcome_line(o) for o in digest.outcomes]
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=f"Triage digest · {day_label(digest)}"[:150])),
        _section(f"*{headline(digest)}*"),
        _section("*Needs attention*\n" + "\n".join(attention(digest, now))),
    ]
    if digest.policies:
        blocks.append(_section(f"*By policy*\n```{policy_table(digest)}```"))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(text=escape_mrkdwn(line)[:SECTION_LIMIT]) for line in details
            ][:10]
        )
    )
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=definitions(digest))]))
    return blocks


def fallback_text(digest: Digest) -> str:
    return f"Triage digest {digest.report_day:%Y-%m-%d}: {headline(digest)}"


# --- plain text --------------------------------------------------------------------------------


def digest_text(digest: Digest, now: datetime) -> str:
    """`--dry-run`: the same content, readable in a terminal, plus the full confusion table."""
    out = [f"Triage digest · {day_label(digest)} ({digest.timezone})", "", headline(digest), ""]
    out.append("Needs attention:")
    out += [f"  {line}" for line in attention(digest, now)]
    if digest.policies:
        out += ["", "By policy:"] + [f"  {row}" for row in policy_table(digest).splitlines()]
    out += ["", times_line(digest.day), guardrails_line(digest.day), praise_gated_line(digest.day)]
    if digest.day.confusion:
        out += ["", "Proposed → final tag (decided tickets):"]
        for (proposed, final), n in sorted(digest.day.confusion.items()):
            out.append(f"  {proposed:<20} → {final:<20} {n:>5}")
    for outcome in digest.outcomes:
        out.append(outcome_line(outcome))
    out += ["", "14-day trend (day, tickets, automated, precision, route p50):"]
    for point in digest.trend:
        out.append(
            f"  {point.day:%Y-%m-%d} {point.volume:>7} {pct(point.automation):>6} "
            f"{pct(point.precision, 1):>7} {duration(point.route_p50):>8}"
        )
    out += ["", definitions(digest)]
    return "\n".join(out)
