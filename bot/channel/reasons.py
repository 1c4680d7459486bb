"""Review reasons as people read them: one short sentence each, no internal codes.

The stored reasons keep the `code: explanation` form for the audit trail and
`classify --format jsonl`; Slack shows `sentence(reason)` instead.
"""

from __future__ import annotations

import re

# Codes whose ticket could have been routed alone were it not for a setting: the
# confidence is real, so the proposal says why it is held instead of how sure it is.
HELD_CODES = frozenset({"launch_gate", "paused", "mode_suggest", "mode_shadow", "mode", "surge"})
# Guardrails that keep a ticket out of any bulk decision (surge groups).
BULK_BLOCKERS = frozenset(
    {"no_go", "sarcasm", "complaint_veto", "unfamiliar", "llm_error", "classifier_error"}
)

_AMBIGUOUS = re.compile(r"^(\S+) [\d.]+ vs (\S+) [\d.]+")
_QUOTED = re.compile(r"'([^']+)'")


def split(reason: str) -> tuple[str, str]:
    """(`code`, explanation) of a stored reason; a reason without a code has code ''."""
    code, sep, rest = reason.partition(":")
    if sep and code and re.fullmatch(r"[a-z_]+", code):
        return code, rest.strip()
    return "", reason.strip()


def _sentence(text: str) -> str:
    text = text.strip().rstrip(".;")
    return (text[:1].upper() + text[1:] + ".") if text else ""


def sentence(reason: str, policy: str | None = None) -> str:
    """One short sentence for Slack, e.g. `Sounds sarcastic: read it before routing.`"""
    code, rest = split(reason)
    name = policy or "this policy"
    if code == "low_confidence":
        return "Not sure enough to route it alone."
    if code == "launch_gate":
        return f"{name} is still learning; a human decides until it passes the launch gate."
    if code == "sarcasm":
        return "Sounds sarcastic: read it before routing."
    if code == "complaint_veto":
        return "Praise wrapped around a complaint."
    if code == "no_go":
        topics = rest.split(";")[0].removeprefix("touches ").strip()
        if rest.startswith("touches "):
            return f"Touches {topics}: always decided by a human."
        quoted = _QUOTED.search(rest)
        return f"{quoted.group(1) if quoted else 'This tag'} is never routed without a human."
    if code == "ambiguous":
        match = _AMBIGUOUS.match(rest)
        if match:
            return f"Could be {match.group(1)} or {match.group(2)}: too close to call."
        return "Two tags are too close to call."
    if code == "unusable_text":
        return "Too little readable text to classify."
    if code == "unsupported_language":
        found = _QUOTED.search(rest)
        language = f" ({found.group(1)})" if found else ""
        return f"Written in a language{language} the bot does not route alone."
    if code == "too_short":
        return "Too short to route without a human."
    if code == "multi_issue":
        areas = rest[rest.find("(") + 1 : rest.rfind(")")] if "(" in rest else ""
        return f"Raises separate issues{f' ({areas})' if areas else ''}."
    if code == "unfamiliar":
        return "Unlike the tickets the bot learned from."
    if code in ("llm_error", "classifier_error"):
        return "The classifier failed on it; tag it by hand."
    if code == "no_policy":
        return "No policy covers the proposed tag."
    if code == "paused":
        return "All automation is paused." if rest.startswith("all") else f"{name} is paused."
    if code == "mode":
        mode = rest.rsplit(" in ", 1)[-1].replace(" mode", "") if " in " in rest else "suggest"
        return f"{name} is in {mode} mode: a human decides every ticket."
    if code == "surge":
        return "One of many similar tickets at once: decided as a group."
    if code == "llm_budget":
        return "The AI budget for today is used up; the local model answered."
    return _sentence(rest.split(";")[0])


def sentences(reasons: list[str], policy: str | None = None, limit: int = 4) -> list[str]:
    """The distinct sentences of a ticket's reasons, most important first, at most `limit`."""
    seen: list[str] = []
    for reason in reasons:
        text = sentence(reason, policy)
        if text and text not in seen:
            seen.append(text)
    return seen[:limit]


def codes(reasons: list[str]) -> list[str]:
    return [split(r)[0] for r in reasons if split(r)[0]]


def held_only(guardrails: list[str]) -> bool:
    """True when only settings (mode, gate, pause) hold the ticket: its confidence is fine."""
    return bool(guardrails) and all(g in HELD_CODES or g.startswith("mode_") for g in guardrails)


def bulk_blocked(guardrails: list[str]) -> bool:
    """Whether a guardrail keeps this ticket out of Approve all."""
    return bool(BULK_BLOCKERS & set(guardrails))


SHORT = {
    "sarcasm": "sarcastic tone",
    "complaint_veto": "a complaint in disguise",
    "no_go": "a no-go topic",
    "launch_gate": "policy still learning",
    "paused": "automation paused",
    "mode": "suggest mode",
    "mode_suggest": "suggest mode",
    "surge": "part of a surge",
    "ambiguous": "two tags too close",
    "unusable_text": "too little text",
    "too_short": "too short",
    "unsupported_language": "another language",
    "multi_issue": "several issues",
    "unfamiliar": "unlike past tickets",
    "llm_error": "classifier failed",
    "classifier_error": "classifier failed",
    "no_policy": "no policy for the tag",
}


def held_because(codes: list[str]) -> str:
    """A few words for why a confident ticket is held: `sarcastic tone, suggest mode`."""
    words: list[str] = []
    for code in codes:
        word = SHORT.get(code)
        if word and word not in words:
            words.append(word)
    return ", ".join(words[:2]) or "a guardrail objected"
