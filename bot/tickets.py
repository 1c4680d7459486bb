"""The ticket as it arrives: lenient parsing, because real ticket data is messy.

Missing, empty or junk values are normal; only a ticket without a usable `id` is rejected.
"""

from __future__ import annotations

import hashlib
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
# Creation times outside these bounds are junk (placeholders, typos, overflow attempts).
EARLIEST_TIME = datetime(1971, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2200, 1, 1, tzinfo=UTC)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_ASCII_CONTROL = bytes(c for c in range(128) if _CONTROL.match(chr(c)))
MAX_KEY_LENGTH = 200
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
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.isascii():  # NFC leaves ASCII as it is, and it holds no surrogates
        # `_CONTROL.sub("", value)`, as one bytes `translate` that deletes them (in C).
        return value.encode("ascii").translate(None, _ASCII_CONTROL).decode("ascii")
    value = unicodedata.normalize("NFC", value)
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
    if not id_key(text):
        raise TicketRejected("ticket id has no visible characters")
    return text


def parse_url(value: Any) -> str:
    """A link to the ticket in the helpdesk, or '' when it is not a plain http(s) URL.

    Only http(s) without spaces, `<`, `>` or `|` is kept, so the link is safe inside
    Slack's `<url|label>` syntax; anything else is junk and dropped, never an error."""
    text = clean_text(value).strip()
    if not text or len(text) > MAX_URL_CHARS or not _URL.match(text):
        return ""
    return text


def id_key(ticket_id: str) -> str:
    """The look-alike key of an id: NFKC-normalised, format characters (Cf) stripped.

    `ZW-1`, `ZW-1\u200b` (zero-width space), `ZW-1\u202e` (a bidi override) and `ＺＷ-１`
    (full-width) all have the key `ZW-1`. The public id stays the one the ticket arrived
    with; the key only finds a second ticket that would look the same to an agent.
    """
    if ticket_id.isascii():  # NFKC leaves ASCII as it is, and no ASCII character is Cf
        key = ticket_id.strip()
    else:
        key = "".join(
            ch
            for ch in unicodedata.normalize("NFKC", ticket_id)
            if unicodedata.category(ch) != "Cf"
        ).strip()
    if len(key) > MAX_KEY_LENGTH:  # NFKC can expand; keep the key bounded, still exact
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return key


def parse_timestamp(value: Any) -> datetime | None:
    """Best-effort aware-UTC timestamp (naive means UTC).

    Unreadable or out of range (before 1971, from 2200, or past what a datetime holds, such
    as `9999-12-31T23:59:59-05:00`) gives None, "no time", never an error: the ticket is
    still stored.
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, (int, float)):
            seconds = float(value) / (1000 if abs(value) > 1e11 else 1)
            moment = datetime.fromtimestamp(seconds, UTC)
        else:
            text = clean_text(value).strip()
            if text.isdigit():
                return parse_timestamp(int(text))
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if not (EARLIEST_TIME <= moment < LATEST_TIME):
        return None
    return moment


class TicketIn(BaseModel):
    """A validated incoming ticket. Construct with `TicketIn.from_raw`."""

    model_config = ConfigDict(frozen=True)

    id: str
    subject: str = ""
    body: str = ""
    requester: str = ""
    created_at: datetime | None = None
    url: str = ""
    # The source gave a creation time too far in the future to trust (see SOURCE_MAX_FUTURE_SECONDS).
    time_suspect: bool = False

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
