"""PII redaction: what must be masked, what must stay readable, and what Slack shows."""

from __future__ import annotations

import random

import pytest

from bot.redact import _RULES, redact
from tests.conftest import BotUnderTest

MASKED = [
    # emails
    ("Email me at jane.doe+billing@mail.example.co.uk please", "[email]", "jane.doe"),
    ("MAILTO:J.SMITH@EXAMPLE.ORG", "[email]", "SMITH"),
    # phones, international and local formats
    ("Call me on +44 20 7946 0958 tomorrow", "[phone]", "7946"),
    ("my number is (555) 123-4567", "[phone]", "123-4567"),
    ("phone: 555.123.4567", "[phone]", "555.123"),
    ("+1 (555) 123 4567", "[phone]", "123 4567"),
    ("reach me at 020 7946 0958", "[phone]", "7946"),
    ("my cell 5551234567", "[phone]", "5551234567"),
    ("Tel. +49 30 12345678", "[phone]", "12345678"),
    # cards with a valid Luhn digit, any grouping
    ("Card 4111 1111 1111 1111 expired", "[card]", "4111"),
    ("visa 4111-1111-1111-1111", "[card]", "1111-1111"),
    ("amex 378282246310005", "[card]", "378282246310005"),
    ("mastercard 5555555555554444 was charged", "[card]", "5555555555554444"),
    ("charged on card ending... no, the full one: 6011111111111117", "[card]", "6011111111111117"),
    # IBANs with a valid mod-97 check, spaced or compact
    ("IBAN GB82 WEST 1234 5698 7654 32", "[iban]", "WEST 1234"),
    ("send it to DE89370400440532013000", "[iban]", "DE8937"),
    ("iban fr14 2004 1010 0505 0001 3m02 606", "[iban]", "2004 1010"),
    # passwords and secrets
    ("password: hunter2!", "[secret]", "hunter2"),
    ("my password is s3cret-Pa55", "[secret]", "s3cret"),
    ('pwd="correct horse battery"', "[secret]", "horse"),
    ("mot de passe : Soleil2024", "[secret]", "Soleil2024"),
    ("api_key=sk-abcdefghijklmnop1234", "[secret]", "abcdefghijklmnop"),
    ("token: abc123xyz789", "[secret]", "abc123xyz789"),
    ("Authorization: Bearer abcdefghijklmnop.qrstuv", "[secret]", "abcdefghijklmnop"),
    ("https://admin:p4ssw0rd@example.com/path", "[secret]", "p4ssw0rd"),
    ("our key sk-proj-AbCdEfGhIjKlMnOpQrSt1234", "[secret]", "AbCdEfGh"),
    ("sk_live_51HabcdefghijklmnopqrstUVW", "[secret]", "51Habcdef"),
    ("bot token xoxb-1234567890-abcdefghij", "[secret]", "xoxb-123"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "[secret]", "ghp_abc"),
    ("AWS AKIAIOSFODNN7EXAMPLE", "[secret]", "AKIAIOSFODNN7EXAMPLE"),
    ("aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "[secret]", "wJalrXUtnFEMI"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "[secret]",
        "eyJhbGci",
    ),
    ("hook https://hooks.slack.com/services/T000/B000/XXXXXXXX", "[secret]", "T000/B000"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----", "[secret]", "MIIE"),
    ("refresh_token=Zm9vYmFyYmF6&x=1", "[secret]", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("text", "placeholder", "gone"), MASKED, ids=[m[0][:30] for m in MASKED])
def test_pii_is_masked_with_a_typed_placeholder(text: str, placeholder: str, gone: str):
    redacted = redact(text)
    assert placeholder in redacted
    assert gone not in redacted


KEPT = [
    "Order #1234567812345670 was placed on 2024-01-15 10:30",  # Luhn-valid order number
    "invoice 4111111111111111 is wrong",  # an invoice number, not a card, by context
    "Invoice INV-2024-000123 for $1,234.56 (incl. VAT 19%)",
    "Version 2.14.3 (build 20240115), also v10.15.7 and 3.0.0-rc.1",
    "Order 12345678 and tracking number 1Z999AA10123456784",
    "Refund of EUR 12 345 678 please",
    "dated 15.01.2024, 01/15/2024, 2024/03/01 12:00:00 UTC and 2024 03 01",
    "ticket 98765432 and case 55512345",
    "from 192.168.100.200 at 10:30-11:45",
    "We paid 4,999.00 on 03/01/24 and 1.299,00 € later",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "request id 550e8400-e29b-41d4-a716-446655440000",
    "my password is not working and the token is expired",
    "I reset my password yesterday; the password is wrong apparently",
    "quantity 10000000 units",
    "ISBN 978-3-16-148410-0",
]


@pytest.mark.parametrize("text", KEPT, ids=[k[:30] for k in KEPT])
def test_dates_order_numbers_versions_and_amounts_are_not_redacted(text: str):
    assert redact(text) == text


def test_several_kinds_in_one_ticket_and_nothing_else_changes():
    text = (
        "Hi, I'm Jane (jane@example.com, +1 415 555 2671). Order #A-1001 from 2024-05-02 "
        "charged 4111 1111 1111 1111 twice for $49.99. Version 3.2.1."
    )
    assert redact(text) == (
        "Hi, I'm Jane ([email], [phone]). Order #A-1001 from 2024-05-02 "
        "charged [card] twice for $49.99. Version 3.2.1."
    )


def _every_rule(text: str) -> str:
    """Every rule applied in order, none skipped: what the hints must never change."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


# Pieces that come near each rule, its hint, or the edge of either: prefixes, the words
# that name secrets in both cases, digits in runs and groups (ASCII and others), the
# letters that match ASCII ones only case-insensitively (long s, Kelvin sign, dotted I).
_PIECES = [
    *"aAzZ09_-+/.=:@#()$€ \n\t",
    "٣٤٥",
    "ſ",
    "\u212a",
    "İ",
    "ñ",
    "PASS",
    "Pass",
    "pwd",
    "PIN",
    "pin 1234",
    "Key",
    "SECRET",
    "Token",
    "senha",
    "contraseña",
    "CONTRASEÑA",
    "bearer ",
    "BASIC ",
    "baſic ",
    "sk-",
    "sk_live_",
    "xoxb-",
    "xapp-",
    "glpat-",
    "AKIA",
    "ASIA",
    "AIza",
    "eyJ",
    "hf_",
    "://",
    "user:pw@",
    "GB82 WEST 1234 5698 7654 32",
    "GB83 WEST ABCD EFGH IJ",  # an IBAN with two digits, its fewest
    "4111 1111 1111 1111",
    "4222222222222",  # a card number of 13 digits, the fewest
    "+44 20 7946 0958",
    "call 555 123 4567",
    "card ",
    "12345678",
    "AbCdEfGhIjKlMnOpQrStUvWxYz012345",
    "jane@example.com",
    "-----BEGIN RSA PRIVATE KEY-----",
    "hooks.slack.com/services/T1/B2/x",
]


def test_skipping_rules_by_their_hints_never_changes_the_result():
    """A rule is skipped when its hint says the text holds nothing it would change: on
    texts built from the pieces near every rule and hint, the result is the same as with
    every rule applied."""
    rng = random.Random(20261130)
    for _ in range(4000):
        text = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 14)))
        assert redact(text) == _every_rule(text), text
    for text, _placeholder, _gone in MASKED:
        assert redact(text) == _every_rule(text), text


def test_redaction_is_idempotent_and_safe_on_odd_input():
    once = redact("mail a@b.co, card 4111111111111111, pin: 1234")
    assert redact(once) == once
    assert "[secret]" in once and "1234" not in once
    assert redact("") == ""
    assert redact("\x00\ufffd 🙂") == "\x00\ufffd 🙂"
    long = "x" * 200_000 + " a@b.co"
    assert redact(long).endswith("[email]")


def test_invalid_checksums_are_left_alone():
    assert redact("card 4111 1111 1111 1112") == "card 4111 1111 1111 1112"  # bad Luhn
    assert "[iban]" not in redact("GB00 WEST 1234 5698 7654 32")  # bad mod 97
    assert redact("DE00370400440532013000") == "DE00370400440532013000"


async def test_the_slack_post_shows_placeholders_not_the_pii(bot: BotUnderTest):
    body = (
        "Please refund the double charge on card 4111 1111 1111 1111. "
        "Reply to jane.doe@example.com or call +44 20 7946 0958."
    )
    await bot.post_tickets(
        {
            "id": "pii-1",
            "subject": "Refund to jane.doe@example.com",
            "body": body,
            "requester": "jane.doe@example.com",
        }
    )
    await bot.slack.wait_for(lambda s: bot.proposal_for("pii-1") is not None)
    call = bot.proposal_for("pii-1")
    shown = str(call.params["blocks"]) + call.params["text"]
    assert "[email]" in shown and "[card]" in shown and "[phone]" in shown
    for raw in ("jane.doe@example.com", "4111 1111 1111 1111", "7946 0958"):
        assert raw not in shown
    # The store keeps the original: a human with access can still act on it.
    assert "jane.doe@example.com" in bot.runtime.store.get_ticket("pii-1").body


async def test_a_policy_can_turn_redaction_off(bot: BotUnderTest, policies_dir):
    """redact_pii: false is honoured (e.g. an internal team that must see the address)."""
    from bot.policies import require_policies

    for path in policies_dir.glob("[!_]*.yml"):
        path.write_text(path.read_text() + "\nredact_pii: false\n")
    relaxed = require_policies(policies_dir, list(bot.runtime.classifier.tags))
    assert all(not p.redact_pii for p in relaxed.policies.values())
    bot.runtime.service.policies = relaxed
    await bot.post_tickets(
        {"id": "pii-2", "subject": "Invoice", "body": "Invoice copy to ana@example.com please"}
    )
    await bot.slack.wait_for(lambda s: bot.proposal_for("pii-2") is not None)
    shown = str(bot.proposal_for("pii-2").params["blocks"])
    assert "ana@example.com" in shown and "[email]" not in shown
