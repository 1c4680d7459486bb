"""The channel's small parts: links, requesters, reasons in words, similarity, fallbacks."""

from __future__ import annotations

import pytest

from bot import blocks as kit
from bot.channel.people import requester_label, ticket_url
from bot.channel.reasons import bulk_blocked, held_because, sentence, split
from bot.channel.similarity import (
    SHINGLE_THRESHOLD,
    VectorCache,
    embedder_of,
    embedding_similarity,
    similarity,
)
from bot.settings import Settings
from bot.tickets import TicketIn, parse_url


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("https://help.example.com/t/1", "https://help.example.com/t/1"),
        ("  http://x.example/a?b=1  ", "http://x.example/a?b=1"),
        ("javascript:alert(1)", ""),
        ("https://evil.example/|<!channel>", ""),
        ("https://a.example/ b", ""),
        (None, ""),
        (42, ""),
        ("https://" + "a" * 3000, ""),
    ],
)
def test_ticket_url_is_kept_only_when_safe(raw, kept):
    assert parse_url(raw) == kept
    assert TicketIn.from_raw({"id": 1, "url": raw}).url == kept


def test_template_fills_the_id_and_the_ticket_url_wins():
    template = "https://help.example.com/tickets/{id}"
    assert ticket_url("A 1/2", "", template) == "https://help.example.com/tickets/A%201%2F2"
    assert ticket_url("7", "https://desk.example/7", template) == "https://desk.example/7"
    assert ticket_url("7", "", None) == ""
    with pytest.raises(ValueError):
        Settings(_env_file=None, ticket_url_template="help.example.com/{id}")
    with pytest.raises(ValueError):
        Settings(_env_file=None, show_requester="everything")


@pytest.mark.parametrize(
    ("show", "raw", "shown"),
    [
        ("name", "Ana Díaz <ana@example.com>", "Ana Díaz"),
        ("name", "ana.diaz@example.com", "ana.diaz"),
        ("name", "Ana", "Ana"),
        ("email", "Ana Díaz <ana@example.com>", "Ana Díaz <ana@example.com>"),
        ("none", "Ana Díaz <ana@example.com>", ""),
        ("name", "", ""),
    ],
)
def test_requester_as_the_team_allows(show, raw, shown):
    assert requester_label(raw, show) == shown


def test_policy_redaction_wins_over_show_requester():
    shown = kit.ticket_blocks(
        kit.TicketView(id="1", subject="s", body="b", requester="ana@example.com"), 500
    )
    assert "ana@example.com" not in str([b.to_dict() for b in shown])


def test_reasons_become_one_short_sentence_each():
    assert split("sarcasm: sarcastic tone; a human should read it") == (
        "sarcasm",
        "sarcastic tone; a human should read it",
    )
    assert sentence("no_go: touches chargeback; never routed without a human") == (
        "Touches chargeback: always decided by a human."
    )
    assert sentence("no_go: 'security' never auto-routes (policy security)") == (
        "security is never routed without a human."
    )
    assert sentence("ambiguous: billing 0.51 vs bug 0.44 are too close") == (
        "Could be billing or bug: too close to call."
    )
    gate = (
        "launch_gate: policy billing asks for auto but has not passed the launch gate "
        "(precision – (no decided tickets in 30 days); launch gate not met (needs 97% over "
        "at least 50 decided)); an owner may override with /triage-mode billing auto override"
    )
    assert sentence(gate, "billing") == (
        "billing is still learning; a human decides until it passes the launch gate."
    )
    assert sentence("brand_new: odd; detail") == "Odd."
    assert held_because(["sarcasm", "mode_suggest"]) == "sarcastic tone, suggest mode"
    assert bulk_blocked(["low_confidence", "no_go"]) and not bulk_blocked(["low_confidence"])


def test_fallback_text_has_no_dangling_colon():
    empty = kit.TicketView(id="9", subject="", body="", requester="")
    assert kit.fallback_text(empty, "Needs triage:") == "Needs triage #9"
    named = kit.TicketView(id="9", subject="<!channel> hi", body="", requester="")
    assert kit.fallback_text(named, "Needs triage:") == "Needs triage #9: &lt;!channel&gt; hi"


def test_similarity_separates_near_duplicates_from_other_tickets():
    texts = [
        "Cannot log in since 10:05\nSince 10:05 the login page just spins. Ana",
        "Cannot log in since 10:07\nSince 10:07 the login page just spins. Bo",
        "Invoice wrong\nMy October invoice shows the wrong amount, please fix it.",
    ]
    threshold = Settings(_env_file=None).surge_similarity
    # The shipped static embedding, whatever the classifier: near-duplicates above the
    # threshold, another problem well below it.
    sims = similarity(texts, embedder_of(object()), threshold)
    assert sims.representation == "embedding" and sims.matrix.shape == (3, 3)
    assert sims.matrix[0, 1] >= threshold > sims.matrix[0, 2] + 0.1
    # A classifier's own representation wins when it offers one.
    embedded = similarity(texts, embed=lambda ts: [[1.0, 0.0]] * 2 + [[0.0, 1.0]])
    assert embedded.matrix[0, 1] == pytest.approx(1.0)
    assert embedded.matrix[0, 2] == pytest.approx(0.0)


def test_similarity_falls_back_to_shingles_when_the_embedding_fails():
    texts = [
        "Cannot log in since 10:05\nSince 10:05 the login page just spins. Ana",
        "Cannot log in since 10:07\nSince 10:07 the login page just spins. Bo",
        "Invoice wrong\nMy October invoice shows the wrong amount, please fix it.",
    ]

    def broken(_texts):
        raise OSError("embedding table missing")

    for embed in (broken, None):
        sims = similarity(texts, embed)
        assert sims.representation == "shingles" and sims.threshold == SHINGLE_THRESHOLD
        assert sims.matrix[0, 1] >= SHINGLE_THRESHOLD and sims.matrix[0, 2] < 0.2


def test_each_ticket_text_is_embedded_once():
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return [[float(len(t)), 1.0] for t in texts]

    cache = VectorCache(size=10)
    first = embedding_similarity(embed, ["a b", "c d e"], cache)
    again = embedding_similarity(embed, ["c d e", "f", "a b"], cache)
    assert calls == [["a b", "c d e"], ["f"]]
    assert again[0, 2] == pytest.approx(first[1, 0])


def test_greetings_and_sign_offs_do_not_make_tickets_alike():
    """Raw mean-pooled vectors score such pairs about 0.8; centred, they stay far apart."""
    hello = "Hi team,\n\nHope you're well. {}\n\nThanks a lot,\nAna"
    texts = [
        "Export\n" + hello.format("How do I export my monthly reports to a CSV file?"),
        "Invoice\n" + hello.format("My October invoice shows the wrong amount."),
        "Cannot log in since 10:05\n" + hello.format("Since 10:05 the login page spins."),
        "Can't log in since 10:09\n" + hello.format("Since 10:09 the login page just spins."),
    ]
    threshold = Settings(_env_file=None).surge_similarity
    sims = similarity(texts, embedder_of(object()), threshold, cache=None).matrix
    assert sims[0, 1] < threshold and sims[0, 2] < threshold and sims[1, 3] < threshold
    assert sims[2, 3] >= threshold
