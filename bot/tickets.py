"""The ticket as it arrives: lenient parsing, because real ticket data is messy.

Missing, empty or junk values are normal; only a ticket without a usable `id` is rejected.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

MAX_ID_LENGTH = 200  # block_id is 'triage:<id>' and Slack caps block_id at 255
MAX_SUBJECT_CHARS = 2_000
MAX_REQUESTER_CHARS = 500
MAX_URL_CHARS = 2_000
_URL = re.compile(r"^https?://[^\s<>|\x00-\x1f]+$", re.IGNORECASE)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class TicketRejected(ValueError):
    """A ticket that cannot be used at all (no id, or not an object)."""


def clean_text(value: Any) -> str:
    """Text with control characters removed and normalised; None and junk become ''."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        value = str(value)
    value = unicodedata.normalize("NFC", value)
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Lone surrogates (legal in JSON escapes) cannot be stored as UTF-8: make them visible.
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", value))


def normalise_id(value: Any) -> str:
    """A ticket id as a string: `424242` and `"424242"` are the same ticket."""
    if value is None or isinstance(value, bool):
        raise TicketRejected("ticket has no id")
    if isinstance(value, float):
        if not value.is_integer():
            raise TicketRejected(f"ticket id {value!r} is not a whole number")
        value = int(value)
    if isinstance(value, (dict, list)):
        raise TicketRejected("ticket id must be a string or a number")
    text = clean_text(value).strip()
    if not text:
        raise TicketRejected("ticket has an empty id")
    if len(text) > MAX_ID_LENGTH:
        raise TicketRejected(f"ticket id is longer than {MAX_ID_LENGTH} characters")
    return text


def parse_url(value: Any) -> str:
    """A link to the ticket in the helpdesk, or '' when it is not a plain http(s) URL.

    Only http(s) without spaces, `<`, `>` or `|` is kept, so the link is safe inside
    Slack's `<url|label>` syntax; anything else is junk and dropped, never an error."""
    text = clean_text(value).strip()
    if not text or len(text) > MAX_URL_CHARS or not _URL.match(text):
        return ""
    return text


def parse_timestamp(value: Any) -> datetime | None:
    """Best-effort aware-UTC timestamp (naive means UTC); unreadable gives None, not an error."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value) / (1000 if value > 1e11 else 1)
        try:
            moment = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    else:
        text = clean_text(value).strip()
        if text.isdigit():
            return parse_timestamp(int(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class TicketIn(BaseModel):
    """A validated incoming ticket. Construct with `TicketIn.from_raw`."""

    model_config = ConfigDict(frozen=True)

    id: str
    subject: str = ""
    body: str = ""
    requester: str = ""
    created_at: datetime | None = None
    url: str = ""

    @field_validator("subject")
    @classmethod
    def _bound_subject(cls, value: str) -> str:
        return value[:MAX_SUBJECT_CHARS]

    @field_validator("requester")
    @classmethod
    def _bound_requester(cls, value: str) -> str:
        return value[:MAX_REQUESTER_CHARS]

    @classmethod
    def from_raw(cls, raw: Any) -> TicketIn:
        """Build from a CSV row or JSON object; raises TicketRejected when unusable."""
        if not isinstance(raw, dict):
            raise TicketRejected("a ticket must be a JSON object")
        return cls(
            id=normalise_id(raw.get("id")),
            subject=clean_text(raw.get("subject")).strip(),
            body=clean_text(raw.get("body")),
            requester=clean_text(raw.get("requester")).strip(),
            created_at=parse_timestamp(raw.get("created_at")),
            url=parse_url(raw.get("url")),
        )

    @property
    def text(self) -> str:
        """Subject and body together, the text the classifier reads."""
        return f"{self.subject}\n{self.body}".strip()
