"""Messy helpdesk values into clean ticket text.

- ids: strings; surrounding whitespace (CHAR padding) is stripped, leading zeros are kept
  ("00042 " -> "00042", which stays a different ticket from "42"); 42 and Decimal("42")
  -> "42"; UUIDs -> their canonical lower-case text.
- text: bytes decoded (UTF-8, else cp1252), mojibake repaired with ftfy, control characters
  dropped, HTML turned into its text, and bounded.
- classification: quoted reply chains and signatures trimmed (the stored body keeps them).
"""

from __future__ import annotations

import html
import re
import uuid
from decimal import Decimal
from typing import Any

import ftfy

from bot.tickets import TicketRejected, clean_text, normalise_id

TRUNCATED = "\n… [truncated: the source text was longer than {limit:,} characters]"
_HTML_HINT = re.compile(
    r"</?(html|body|div|p|br|span|table|tr|td|ul|ol|li|font|b|i|strong|em|a|img|blockquote|h[1-6])"
    r"(\s[^<>]*)?/?>"
    r"|&(nbsp|amp|lt|gt|quot|#\d+|#x[0-9a-f]+);",
    re.IGNORECASE,
)
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "tr",
        "li",
        "ul",
        "ol",
        "table",
        "blockquote",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "title",
    }
)


_SKIP_BLOCKS = re.compile(
    r"<(script|style|head)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.IGNORECASE | re.DOTALL
)
# A tag is a name then whitespace, `/` or `>`: `<ana@example.com>` and `a < b` stay text.
_BLOCK_BREAK = re.compile(
    r"</?(" + "|".join(sorted(_BLOCK_TAGS)) + r")(\s[^<>]*)?/?>", re.IGNORECASE
)
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|<![a-zA-Z][^<>]*>")
_SPACES = re.compile(r"[ \t\r\f\v\xa0]+")
_BLANKS = re.compile(r"\n\s*\n\s*(\n\s*)+")


def looks_like_html(text: str) -> bool:
    return ("<" in text or "&" in text) and bool(_HTML_HINT.search(text[:20_000]))


def html_to_text(text: str) -> str:
    """The readable text of an HTML fragment: tags stripped, entities decoded, text kept.

    Regular expressions rather than a parser: bodies are untrusted and can be megabytes,
    and this runs on every row of a first sync, so it must be linear and fast.
    """
    text = _SKIP_BLOCKS.sub(" ", text)
    text = _BLOCK_BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _decode(value: Any) -> Any:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value).decode("cp1252", errors="replace")
    return value


def repair_text(value: Any, limit: int) -> str:
    """Readable, bounded text: decoded, mojibake repaired, HTML to text, no control chars."""
    value = _decode(value)
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # ftfy is linear but not free: repair only what will be kept (plus room for markup).
    cut = len(text) > limit * 2
    text = text[: limit * 2]
    if not text.isascii():  # mojibake needs non-ASCII characters; skip the work otherwise
        text = ftfy.fix_text(
            text,
            unescape_html=False,
            uncurl_quotes=False,
            fix_character_width=False,
            fix_latin_ligatures=False,
            normalization="NFC",
        )
    elif "\x1b" in text:
        text = ftfy.fixes.remove_terminal_escapes(text)
    if looks_like_html(text):
        text = html_to_text(text)
    text = clean_text(text)
    if cut or len(text) > limit:
        text = text[:limit].rstrip() + TRUNCATED.format(limit=limit)
    return text


def source_id(value: Any) -> str:
    """A source id as the bot's ticket id (see the module docstring); TicketRejected if none."""
    value = _decode(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        if value != value.to_integral_value():
            raise TicketRejected(f"ticket id {value} is not a whole number")
        return str(int(value))
    return normalise_id(value)


# --- text the classifier reads ---------------------------------------------------------------

_REPLY_HEADERS = re.compile(
    r"^\s*("
    r"On .{0,200}\bwrote:\s*$"  # On Tue, 3 Nov 2026, Ana <a@x> wrote:
    r"|Am .{0,200}\bschrieb .{0,100}:\s*$"
    r"|Le .{0,200}\ba écrit\s*:\s*$"
    r"|-{2,}\s*Original Message\s*-{2,}"
    r"|-{2,}\s*Forwarded message\s*-{2,}"
    r"|_{5,}\s*$"  # Outlook's rule above the quoted mail
    r"|From:\s.+\n\s*(Sent|Date):\s"
    r")",
    re.IGNORECASE | re.MULTILINE,
)
_SIGNATURE = re.compile(
    r"^(-- ?|--\s*$|Sent from my \w+|Get Outlook for \w+|Sent from Mail for Windows)",
    re.IGNORECASE | re.MULTILINE,
)


def clean_for_classification(text: str) -> str:
    """The new part of a message: quoted replies and signatures trimmed; never empties it."""
    if not text:
        return text
    cut = len(text)
    header = _REPLY_HEADERS.search(text)
    if header:
        cut = min(cut, header.start())
    signature = _SIGNATURE.search(text)
    if signature:
        cut = min(cut, signature.start())
    kept = [line for line in text[:cut].split("\n") if not line.lstrip().startswith(">")]
    trimmed = "\n".join(kept).strip()
    return trimmed if len(trimmed) >= 3 else text
