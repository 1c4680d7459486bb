"""PII redaction: applied to text before it leaves the process (Slack posts, LLM calls).

Each rule replaces a match with a typed placeholder such as `[email]`, so a reader
still knows what kind of thing was there.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card]" if 13 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _iban(match: re.Match[str]) -> str:
    return "[iban]" if _iban_ok(match.group(0)) else match.group(0)


_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _not_phone(candidate: str) -> bool:
    return len(re.sub(r"\D", "", candidate)) < 8 or bool(_DATE.match(candidate.strip()))


_RULES: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
    # Secrets first: they can contain digits that look like other things.
    (
        re.compile(
            r"\b(?:sk-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"
            r"|gh[pousr]_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"
            r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"
        ),
        "[secret]",
    ),
    (
        re.compile(
            r"(?i)\b(password|passwd|pwd|passcode|api[_ -]?key|token|secret)\b(\s*(?:is|[:=])\s*)\S+"
        ),
        lambda m: f"{m.group(1)}{m.group(2)}[secret]",
    ),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), _iban),
    (re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), _card),
    (
        re.compile(r"(?<![\w.])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){2,5}(?![\w.])"),
        lambda m: m.group(0) if _not_phone(m.group(0)) else "[phone]",
    ),
]


def redact(text: str) -> str:
    """Text with emails, phones, cards (Luhn), IBANs, keys, tokens and passwords masked."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)  # type: ignore[arg-type]
    return text
