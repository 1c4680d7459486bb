"""The per-text caches hold a bounded amount of text, whatever the tickets' size."""

from __future__ import annotations

from bot.classifier import language, no_go, sentiment, signals
from bot.classifier.textcache import MAX_CHARS, TextCache


def test_a_cache_forgets_before_it_holds_more_than_its_characters():
    calls: list[str] = []
    cache = TextCache(lambda t: calls.append(t) or len(t), max_entries=100, max_chars=1_000)
    texts = [str(i) * 300 for i in range(10)]
    assert [cache(t) for t in texts] == [300] * 10
    assert cache.chars <= 1_000 and len(cache) <= 3
    assert cache(texts[-1]) == 300 and len(calls) == 10  # the last one is still held
    assert cache("x" * 5_000) == 5_000 and "x" * 5_000 not in cache  # too big: never held
    assert cache.chars <= 1_000


def test_shared_caches_stay_bounded_on_huge_tickets_with_the_same_answers():
    huge = [f"ticket {i}: I was charged twice, refund me. " + "word " * 40_000 for i in range(60)]
    first = [signals.read_signals(t) for t in huge]
    tones = sentiment.read_tones(huge)
    for cache in (
        signals.read_signals,
        signals.keyword_signals,
        signals.pattern_signals,
        signals._hits,
        sentiment._tones,
    ):
        assert cache.chars <= MAX_CHARS
    assert [signals.read_signals.__wrapped__(t) for t in huge[:3]] == first[:3]
    assert tones[:3] == [sentiment.tone_model().read(t) for t in huge[:3]]
    for t in huge[:5]:
        no_go.no_go_topics(t, ["legal_threat"])
        language.detect(t)
    assert no_go._found.chars <= MAX_CHARS and language.detect.chars <= MAX_CHARS
