"""PII redaction: applied to text before it leaves the process (Slack posts, LLM calls).

Each rule replaces a match with a typed placeholder such as `[email]`, so a reader
still knows what kind of thing was there. Rules check what they match (Luhn for cards,
mod-97 for IBANs, shape and context for phone numbers) so dates, order numbers,
versions and amounts stay readable: a triager needs those.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Replacement = str | Callable[[re.Match[str]], str]

_CONTEXT = 30  # characters before a number that say what it is


def _before(match: re.Match[str], size: int = _CONTEXT) -> str:
    return match.string[max(0, match.start() - size) : match.start()].lower()


# --- secrets --------------------------------------------------------------------------------

_KNOWN_TOKENS = re.compile(
    r"\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic
    r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{16,}"  # Stripe
    r"|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"  # Slack
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|ASIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"  # AWS, Google
    r"|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}"
    r"|eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})"  # JWT
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL
)
_SLACK_WEBHOOK = re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/[A-Za-z0-9/_-]+")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/-]{12,}=*")
# Long random-looking strings: mixed case and digits, 32+ characters (not hex hashes).
_HIGH_ENTROPY_MIN = 32
_HIGH_ENTROPY = re.compile(
    rf"(?<![\w/.-])[A-Za-z0-9_+/-]{{{_HIGH_ENTROPY_MIN},}}={{0,2}}(?![\w/.-])"
)

_SECRET_WORDS = (
    r"password|passwort|passwd|pwd|passcode|pass ?phrase|mot de passe|contraseña|senha"
    r"|pin|api[_ -]?key|access[_ -]?key|secret(?:[_ -]?key)?|client[_ -]?secret"
    r"|(?:access|auth|refresh|bearer|api)?[_ -]?token"
)
_SECRET_VALUE = re.compile(
    rf"(?i)\b({_SECRET_WORDS})\b(\s*(?:[:=]|\bis\b|\bwas\b|\bist\b|\best\b)\s*)"
    r"(\"[^\"\n]{1,100}\"|'[^'\n]{1,100}'|[^\s\"']+)"
)
# Words that follow "password is" in a complaint rather than a password.
_NOT_A_SECRET = frozenset(
    [
        "not",
        "wrong",
        "incorrect",
        "invalid",
        "expired",
        "correct",
        "too",
        "being",
        "still",
        "the",
        "a",
        "an",
        "my",
        "your",
        "now",
        "reset",
        "locked",
        "required",
        "missing",
        "empty",
        "short",
        "long",
        "weak",
        "strong",
        "case",
        "changed",
        "different",
        "same",
        "ok",
        "okay",
        "fine",
        "working",
        "broken",
        "rejected",
        "accepted",
        "unknown",
        "right",
        "no",
        "never",
        "always",
        "also",
        "just",
        "already",
        "definitely",
        "probably",
        "saved",
        "stored",
        "there",
        "here",
        "set",
        "sent",
    ]
)


def _secret_value(match: re.Match[str]) -> str:
    word, separator, value = match.group(1), match.group(2), match.group(3)
    bare = value.strip("\"'.,;!?").lower()
    if ":" not in separator and "=" not in separator and (bare in _NOT_A_SECRET or not bare):
        return match.group(0)
    if word.lower() == "pin" and not any(ch.isdigit() for ch in value):
        return match.group(0)
    return f"{word}{separator}[secret]"


def _high_entropy(match: re.Match[str]) -> str:
    value = match.group(0)
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    return "[secret]" if classes == 3 else value


# --- money and bank details -----------------------------------------------------------------


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


_CARD_WORDS = re.compile(r"card|visa|master|amex|american express|discover|cc\b|credit|debit")
_REFERENCE_WORDS = re.compile(
    r"order|invoice|ticket|ref\b|reference|tracking|case|account (?:id|number)|customer (?:id|number)|#\s*$"
)


_CARD_MIN_DIGITS = 13  # the fewest digits of a card number masked


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    if not (_CARD_MIN_DIGITS <= len(digits) <= 19 and digits[0] in "23456" and _luhn_ok(digits)):
        return match.group(0)
    context = _before(match)
    if _REFERENCE_WORDS.search(context) and not _CARD_WORDS.search(context):
        return match.group(0)  # an order or invoice number that happens to pass Luhn
    return "[card]"


def _iban_ok(candidate: str) -> bool:
    compact = re.sub(r"[\s-]", "", candidate).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _iban(match: re.Match[str]) -> str:
    return "[iban]" if _iban_ok(match.group(0)) else match.group(0)


# --- phone numbers --------------------------------------------------------------------------

_DATE_START = re.compile(
    r"^(?:\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}|\d{1,2}[-./ ]\d{1,2}[-./ ]\d{4}|\d{1,2}[-./]\d{1,2}[-./]\d{2})(?!\d)"
)
_IP = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_PHONE_WORDS = re.compile(
    r"phone|tel\b|tel\.|call|mobile|cell|whatsapp|fax|sms|text me|reach me|number|ring|nummer|téléphone"
)
_MONEY_BEFORE = re.compile(r"(?:[$€£¥₹]|\b(?:usd|eur|gbp|chf|jpy|inr|aud|cad))\s*$")


_PHONE_MIN_DIGITS = 8  # the fewest digits of a phone number masked


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0).strip()
    digits = re.sub(r"\D", "", candidate)
    if (
        not _PHONE_MIN_DIGITS <= len(digits) <= 15
        or _DATE_START.match(candidate)
        or _IP.match(candidate)
    ):
        return match.group(0)
    context = _before(match)
    if _MONEY_BEFORE.search(context) or re.search(r"#\s*$", context):
        return match.group(0)
    formatted = (
        candidate.startswith("+")
        or bool(re.search(r"\d[\s.-]+\(?\d", candidate))
        or bool(re.match(r"\(\d{1,4}\)\s*\d", candidate))
    )
    if _REFERENCE_WORDS.search(context) and not _PHONE_WORDS.search(context):
        return match.group(0)
    if not formatted and not _PHONE_WORDS.search(context):
        return match.group(0)  # a bare run of digits is an id or an amount unless called a phone
    # A closing parenthesis that belongs to the sentence, not to an area code, stays.
    unbalanced = match.group(0).count(")") > match.group(0).count("(")
    return "[phone])" if unbalanced and match.group(0).endswith(")") else "[phone]"


_RULES: list[tuple[re.Pattern[str], Replacement]] = [
    # Secrets first: they can contain digits and @ signs that look like other things.
    (_PRIVATE_KEY, "[secret]"),
    (_SLACK_WEBHOOK, "[secret]"),
    (_URL_CREDENTIALS, lambda m: f"{m.group(1)}[secret]@"),
    (_KNOWN_TOKENS, "[secret]"),
    (_BEARER, lambda m: f"{m.group(1)}{m.group(2)}[secret]"),
    (_SECRET_VALUE, _secret_value),
    (
        # Starts only at the beginning of a run of local-part characters: linear on long text.
        _EMAIL := re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}"
            r"(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b"
        ),
        "[email]",
    ),
    (_HIGH_ENTROPY, _high_entropy),
    (
        _IBAN := re.compile(
            r"(?i)\b[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{4}){2,7}(?:[ -]?[A-Z0-9]{1,4})?\b"
        ),
        _iban,
    ),
    (_CARD := re.compile(r"(?<![\d.,])(?:\d[ -]?){12,18}\d(?![\d.,]\d)"), _card),
    (
        _PHONE := re.compile(
            r"(?<![\w.,/:-])\+?\(?\d{1,4}\)?(?:[ .-]?\(?\d{2,4}\)?){1,5}(?![\w/:]|[.,-]\d)"
        ),
        _phone,
    ),
]


_SECRET_HINT = re.compile(r"(?i)pass|pwd|pin|key|secret|token|contraseña|senha")
_DIGIT = re.compile(r"\d")
_NO_ASCII_DIGITS = str.maketrans("", "", "0123456789")
# Substrings every known token contains: its prefix, or the "_" of the others.
_TOKEN_MARKS = ("_", "sk-", "xox", "xapp-", "glpat-", "AKIA", "ASIA", "AIza", "eyJ")


def _digits(text: str) -> int:
    """How many characters of the text `\\d` matches (by translate in C for ASCII text)."""
    if text.isascii():
        return len(text) - len(text.translate(_NO_ASCII_DIGITS))
    return len(_DIGIT.findall(text))


_SECRET_WORD_STARTS = ("pass", "pwd", "pin", "key", "secret", "token", "senha")


def _may_name_secret(text: str) -> bool:
    """`_SECRET_HINT.search`, by substring tests on the lower-case form of ASCII text
    (where case-insensitive matching is plain lower-casing, and "contraseña" cannot be);
    a case-insensitive alternation tries every position of the text."""
    if not text.isascii():
        return _SECRET_HINT.search(text) is not None
    low = text.lower()
    return any(word in low for word in _SECRET_WORD_STARTS)


def _may_hold_token(text: str) -> bool:
    return any(mark in text for mark in _TOKEN_MARKS)


def _may_name_bearer(text: str) -> bool:
    """Whether "bearer" or "basic" may be in the text in any case. Case-insensitive
    matching also maps a few non-ASCII letters to ASCII ones (the long s to s), so only
    ASCII text is ruled out by its lower-case form."""
    if not text.isascii():
        return True
    low = text.lower()
    return "bearer" in low or "basic" in low


def _has_long_run(text: str) -> bool:
    """Whether some whitespace-free run is long enough for `_HIGH_ENTROPY` (its matches
    hold no whitespace, so each lies inside one such run)."""
    return len(text) >= _HIGH_ENTROPY_MIN and max(map(len, text.split()), default=0) >= (
        _HIGH_ENTROPY_MIN
    )


# A rule runs only when the text could hold something it would change: most tickets have
# no secrets, and most subjects and names no digits. Each hint is true whenever the rule
# would change the text (the card and phone rules mask only runs of 13 and 8 digits or
# more), so skipping a rule never changes the result.
_HINTS: dict[int, Callable[[str], bool]] = {
    id(_PRIVATE_KEY): lambda t: "PRIVATE KEY" in t,
    id(_SLACK_WEBHOOK): lambda t: "hooks.slack.com" in t,
    id(_URL_CREDENTIALS): lambda t: "://" in t and "@" in t,
    id(_KNOWN_TOKENS): _may_hold_token,
    id(_BEARER): _may_name_bearer,
    id(_SECRET_VALUE): _may_name_secret,
    id(_EMAIL): lambda t: "@" in t,
    id(_HIGH_ENTROPY): _has_long_run,
}
# The rules that need digits, and how many the text must hold for each to change it.
# Counted once per text: no replacement adds a digit, so the count only falls as rules
# apply, and a count taken earlier never skips a rule that would change the text.
_DIGITS_NEEDED: dict[int, int] = {
    id(_IBAN): 2,  # its check digits
    id(_CARD): _CARD_MIN_DIGITS,
    id(_PHONE): _PHONE_MIN_DIGITS,
}


def redact(text: str) -> str:
    """Text with emails, phones, cards (Luhn), IBANs, keys, tokens and passwords masked."""
    if not text:
        return text
    digits = -1
    for pattern, replacement in _RULES:
        needed = _DIGITS_NEEDED.get(id(pattern))
        if needed is not None:
            if digits < 0:
                digits = _digits(text)
            if digits < needed:
                continue
        else:
            hint = _HINTS.get(id(pattern))
            if hint is not None and not hint(text):
                continue
        text = pattern.sub(replacement, text)
    return text
