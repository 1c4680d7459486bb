"""Making user text safe and bounded for Slack mrkdwn."""

from __future__ import annotations

import re

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")
# Bidi embeddings, overrides, isolates and marks: they can reverse what an agent reads
# (`\u202e` makes "gpj.exe" look like "exe.jpg") and make two ids look alike.
_BIDI_CONTROLS = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def neutralise_bidi(text: str) -> str:
    """User text without bidi control characters, so it shows in its stored order."""
    return _BIDI_CONTROLS.sub("", text)


TRUNCATION_MARKER = "… [truncated: {more} more characters]"


def escape_mrkdwn(text: str) -> str:
    """Escape &, < and > so ticket text cannot ping `<!channel>`, mention users or forge links."""
    text = neutralise_bidi(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bounded(text: str, limit: int) -> str:
    """Text cut to `limit` characters with a visible marker saying how much was cut."""
    if len(text) <= limit:
        return text
    marker_room = len(TRUNCATION_MARKER) + 12
    keep = max(0, limit - marker_room)
    return text[:keep].rstrip() + TRUNCATION_MARKER.format(more=len(text) - keep)


def safe_mrkdwn(text: str, limit: int, total: int | None = None) -> str:
    """Escaped and bounded: the only way user text should reach a mrkdwn field.

    `total` is the length of the whole original when `text` is already a prefix of it,
    so the marker counts every character the reader does not see.
    """
    total = len(text) if total is None else total
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit and total <= len(text):
        return escaped
    marker_room = len(TRUNCATION_MARKER) + 12
    cut = _PARTIAL_ENTITY.sub("", escaped[: max(0, limit - marker_room)]).rstrip()
    shown = len(cut.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
    return cut + TRUNCATION_MARKER.format(more=max(total - shown, 1))


def plain_bounded(text: str, limit: int) -> str:
    """For plain_text fields (headers, options): no escaping needed, only bounds and no newlines."""
    return bounded(" ".join(neutralise_bidi(text).split()), limit) or "(no subject)"
