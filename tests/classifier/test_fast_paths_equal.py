"""The fast language detector and the one-pass no-go scan say exactly what the regex versions said."""

from __future__ import annotations

import random

from bot.classifier.language import detect
from bot.classifier.no_go import NO_GO_TOPICS, no_go_topics
from tests.classifier import reference_language
from tests.classifier.test_no_go_topics import CASES
from tests.classifier.test_signals_one_pass import WRITTEN, labelled_texts

ODD = [
    "asdfg qwrtz xcvbnm hjklö",
    "Ich kann mich nicht anmelden, bitte helfen Sie mir. Das ist nicht gut.",
    "Je ne peux pas me connecter à mon compte, merci de votre aide pour le problème.",
    "İstanbul ofisi: bu hesabım için değil, lütfen bir şey yapın ve çok",
    "Привет, не могу войти в аккаунт",
    "mail me at Uma.Tanaka@example.com the and is to my",
    "HTTP://WWW.EXAMPLE.COM the the the",
    "ſtraße hjkl rhythm crypt gym lynx myth strengths twelfths",
    "Ñandú ñññññ çççç 日本語のテキストです",
    "the and is To My YOU",
    "",
    "12345 !!!",
]


def generated(n: int = 3000) -> list[str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyzäöüéñçßAEIOUBCDXYZ @.:/-'’ \nİſK"
    words = [
        "the",
        "and",
        "is",
        "to",
        "my",
        "i",
        "you",
        "not",
        "ich",
        "und",
        "der",
        "el",
        "la",
        "que",
        "le",
        "het",
        "och",
        "ve",
        "saya",
        "rhythm",
    ]
    out = []
    for _ in range(n):
        out.append("".join(rng.choice(letters) for _ in range(rng.randint(0, 80))))
        out.append(" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))))
    return out


def test_language_detection_is_unchanged():
    texts = [*WRITTEN, *ODD, *labelled_texts(), *generated()]
    different = [
        t[:80]
        for t in texts
        if (d := detect(t), r := reference_language.detect(t))
        and (d.code, d.garbled) != (r.code, r.garbled)
    ]
    assert different == []


def test_no_go_scan_finds_what_each_topic_regex_finds():
    texts = [*WRITTEN, *CASES.values(), *labelled_texts()]
    texts.append(" ".join(CASES.values()) + " and I will report you to the FTC")
    names = list(NO_GO_TOPICS)
    for text in texts:
        assert no_go_topics(text, names) == [n for n in names if NO_GO_TOPICS[n].search(text)]


def test_a_topic_past_the_scan_limit_is_still_named():
    text = "word " * 50_000 + "my lawyer will call"
    assert no_go_topics(text, ["legal_threat"]) == ["legal_threat"]


def _mixed_texts() -> list[str]:
    rng = random.Random(11)
    pieces = ["1) ", "2. ", " (3) ", "Also, unrelated: ", "PS: ", "secondly, ", "don't ", "it's ",
              "'quoted' ", "rock'n'roll ", "user_name@example.com ", "http://x.io/a_b ", "42 ",
              "café ", "٣٤ ", "x² ", "I cannot log in ", "refund ", "\n", "word "]  # fmt: skip
    generated = [
        "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(3000)
    ]
    return [*WRITTEN, *ODD, *generated]


def test_tokens_are_the_word_pattern_on_the_normalised_text():
    from bot.classifier import features

    def reference(text: str) -> list[str]:
        low = text[: features.MAX_CHARS].lower()
        if "http" in low or "www." in low:
            low = features._URL.sub(" urltoken ", low)
        if "@" in low:
            low = features._EMAIL.sub(" emailtoken ", low)
        return features._WORD.findall(features._DIGITS.sub("0", low))

    for text in [*_mixed_texts(), *labelled_texts()[:2000]]:
        assert features.tokens(text) == reference(text)


def test_issue_split_agrees_with_a_plain_reading_of_its_rules():
    from itertools import pairwise

    from bot.classifier import segments

    def reference(text: str) -> list[str]:
        cuts = {m.start() for m in segments._WORDED.finditer(text)}
        items = [(int(m.group(1)), m.start()) for m in segments._NUMBERED_MARKERS.finditer(text)]
        runs: list[list[int]] = []
        for number, at in items:
            if number == 1:
                runs.append([at])
            elif runs and number == len(runs[-1]) + 1:
                runs[-1].append(at)
        cuts.update(at for run in runs if len(run) >= 2 for at in run)
        if not cuts:
            return [text]
        parts = [text[a:b] for a, b in pairwise([0, *sorted(cuts), len(text)])]
        return [p for p in parts if len(segments._WORDS.findall(p)) >= segments.MIN_WORDS] or [text]

    for text in _mixed_texts():
        assert segments.split_issues(text) == reference(text)


def test_word_counts_are_exact_below_the_limit():
    from bot.triage import _WORD, count_words

    for text in _mixed_texts():
        full = len(_WORD.findall(text))
        for limit in (2, 3, 8):
            assert count_words(text, limit) == min(full, limit)


def test_tone_scores_are_the_same_alone_or_in_a_batch_and_past_the_cache():
    import numpy as np

    from bot.classifier import sentiment

    texts = [*WRITTEN, *labelled_texts()[:300]]
    model = sentiment.tone_model()
    batch = model.scores_many(texts)
    assert np.array_equal(batch, np.vstack([model.scores_many([t]) for t in texts]))
    many = [f"ticket {i}: I was charged twice" for i in range(sentiment.TONE_CACHE + 10)]
    assert sentiment.read_tones(many) == [model.read(t) for t in many]
    assert sentiment.read_tone(many[0]) == model.read(many[0])


def _analyzed(terms: list[str], text: str) -> dict[int, int]:
    from collections import Counter

    from bot.classifier.features import analyze

    vocab = {t: i for i, t in enumerate(terms)}
    return dict(Counter(vocab[f] for f in analyze(text) if f in vocab))


def test_batch_features_are_the_analyzer_features_counted(monkeypatch):
    """Batched counts equal `analyze` (what training saw), also after forgetting words."""
    from bot.classifier import featurise
    from bot.classifier.local import BUNDLED_MODEL, read_model

    terms = read_model(BUNDLED_MODEL).terms
    texts = [*_mixed_texts()[:600], *labelled_texts()[:400]]
    monkeypatch.setattr(featurise, "LEARNED_WORDS", 50)  # forget often, grow past it
    batcher = featurise.BatchFeaturiser(terms)
    for start in range(0, len(texts), 97):
        batch = texts[start : start + 97]
        row, idx, tf = batcher.counts(batch)
        for i, text in enumerate(batch):
            mine = row == i
            assert dict(zip(idx[mine].tolist(), tf[mine].tolist(), strict=True)) == _analyzed(
                terms, text
            )


def test_email_placeholders_are_the_patterns_substitution():
    from bot.classifier.features import _EMAIL, _sub_emails

    rng = random.Random(3)
    pieces = ["a", "b.", "+", "-", "_", "@", " ", "x.y", ".com", "@@", "mail", "9", "\n", ",", ".."]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 25)))
        assert _sub_emails(text) == _EMAIL.sub(" emailtoken ", text), text


def test_addresses_leave_the_words_the_pattern_leaves():
    from bot.classifier.language import _ADDRESS, _without_addresses, _words

    rng = random.Random(5)
    pieces = ["a", "@", " ", "\n", "\t", "http://", "HTTPS://x", "https://", "www.", "WWW.x",
              "ab", "x@y", "@@", ".", "the", "and", "\x1c", "htt", "p:", "w", "is", "s"]  # fmt: skip
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 20)))
        assert _words(_without_addresses(text)) == _words(_ADDRESS.sub(" ", text)), text


def test_fast_translate_is_str_translate_on_any_text():
    from bot.classifier import features, language, sentiment
    from bot.classifier.translate import ascii_fast

    classes = {
        **dict.fromkeys(map(ord, language._CONSONANTS), "c"),
        **dict.fromkeys(map(ord, language._VOWELS), "v"),
    }
    tables = [sentiment._TABLE, classes, language._ASCII_NON_LETTERS, features._ASCII_SEPARATORS]
    rng = random.Random(1)
    alphabet = "abc XYZ09.,!?'’‘“—–…\u2000\u206f\u2070äöüéÄ日本\ud800\U0001f600@#$%\n\t"
    for table in tables:
        fast = ascii_fast(table)
        for _ in range(5000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
            assert fast(text) == text.translate(table), repr(text)


def test_batch_features_are_the_same_from_many_threads_at_once():
    """The word table is learned while reading: threads sharing the model never mix it up."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.classifier import featurise
    from bot.classifier.local import BUNDLED_MODEL, read_model

    terms = read_model(BUNDLED_MODEL).terms
    texts = _mixed_texts()[:800]
    batches = [texts[i : i + 40] for i in range(0, len(texts), 40)]
    alone = [featurise.BatchFeaturiser(terms).counts(b) for b in batches]
    shared = featurise.BatchFeaturiser(terms)
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(shared.counts, batches))
    for a, b in zip(alone, together, strict=True):
        assert all((x == y).all() for x, y in zip(a, b, strict=True))


def test_both_ways_of_the_batch_product_give_the_same_bits(monkeypatch):
    import numpy as np

    from bot.classifier import sparse

    rng = np.random.default_rng(4)
    product = sparse.SegmentProduct(rng.standard_normal((500, 9)).astype(np.float32))
    for n in (1, 30, 999, 1000, 5000):
        idx = rng.integers(0, 500, n)
        weights = rng.random(n)
        starts = np.unique(np.concatenate(([0], rng.integers(0, n, max(1, n // 40)))))
        monkeypatch.setattr(sparse, "PER_CLASS_FROM", 0)
        per_class = product(idx, weights, starts)
        monkeypatch.setattr(sparse, "PER_CLASS_FROM", 10**9)
        per_row = product(idx, weights, starts)
        assert np.array_equal(per_class, per_row)


def _reference_vector(embedding, text: str):
    """A text's vector the plain way: the tokenizer's pieces of the whole text, their rows
    widened and added one after the other in float32, over the norm."""
    import numpy as np

    from bot.classifier.embedding import MAX_CHARS, MAX_TOKENS

    full = embedding.tokenizer.encode(text[:MAX_CHARS], add_special_tokens=False).ids
    ids = [i for i in full if i != embedding.unk_id][:MAX_TOKENS]
    vector = np.zeros(embedding.dims, dtype=np.float32)
    if not ids:
        return vector
    total = np.asarray(embedding._stored[ids[0]], dtype=np.float32).copy()
    for i in ids[1:]:
        total += np.asarray(embedding._stored[i], dtype=np.float32)
    norm = float(np.sqrt(total @ total))
    return total / norm if norm > 0 else vector


def test_embedding_vectors_are_the_plain_sum_alone_or_in_a_batch(monkeypatch):
    """Words learned many at a time, a cache cleared mid-run and both ways of summing give
    each text the bits of the plain per-text sum."""
    import numpy as np

    from bot.classifier import embedding

    monkeypatch.setattr(embedding, "WORD_CACHE", 300)  # cleared often, outgrown by a batch
    fresh = embedding.StaticEmbedding.load()
    odd = ["\u0301abc ab\u0301c ﬁle İstanbul ǅ \u00ad naïve e\u0301", "[UNK] [CLS] ##ing a.b.c",
           "\x1cabc a\u200bb \u3000 \U0001f389ok Ⅻ ①② 日本語", "x" * 150, "word " * 700]  # fmt: skip
    texts = [*ODD, *odd, *_mixed_texts()[:400], *labelled_texts()[:200]]
    expected = np.vstack([_reference_vector(fresh, t) for t in texts])
    for size in (1, 3, 50, 256, len(texts)):
        got = np.vstack([fresh.encode(texts[i : i + size]) for i in range(0, len(texts), size)])
        assert np.array_equal(got.view(np.int32), expected.view(np.int32)), size
    for text in texts[:50]:
        full = fresh.tokenizer.encode(text, add_special_tokens=False).ids
        assert fresh.pieces(text) == [i for i in full if i != fresh.unk_id][: embedding.MAX_TOKENS]


def test_familiarity_is_the_partition_mean_whatever_the_magnitudes():
    """The top values found by argmax give partition's mean, also where the order of adding
    them matters (then partition's order is used)."""
    import numpy as np

    from bot.classifier.local import familiarity

    def by_partition(vectors, prototypes, k):
        sims = vectors @ prototypes.T
        top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
        return np.round(top.astype(np.float64).mean(axis=1), 4)

    rng = np.random.default_rng(3)
    for k in (1, 2, 3, 5):
        for _ in range(100):
            vectors = rng.standard_normal((int(rng.integers(1, 30)), 4)).astype(np.float32)
            prototypes = rng.standard_normal((int(rng.integers(k, 30)), 4)).astype(np.float32)
            prototypes *= (10.0 ** rng.integers(-20, 3, (len(prototypes), 1))).astype(np.float32)
            assert np.array_equal(
                familiarity(vectors, prototypes, k), by_partition(vectors, prototypes, k)
            )
    tiny = 2.0**-53  # 1 + tiny + tiny depends on the order of adding
    one = np.eye(4, dtype=np.float32)[:1]
    prototypes = np.array([[tiny, 0, 0, 0], [1, 0, 0, 0], [-5, 0, 0, 0], [tiny, 0, 0, 0]])
    prototypes = prototypes.astype(np.float32)
    assert np.array_equal(familiarity(one, prototypes), by_partition(one, prototypes, 3))


def test_embedding_vectors_are_the_same_from_many_threads_at_once(monkeypatch):
    """New words and new rows are learned while encoding: threads sharing the table never
    mix them up, also when the word cache is cleared meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from bot.classifier import embedding

    texts = [*_mixed_texts()[:800], *labelled_texts()[:400]]
    batches = [texts[i : i + 30] for i in range(0, len(texts), 30)]
    alone = [embedding.StaticEmbedding.load().encode(b) for b in batches]
    monkeypatch.setattr(embedding, "WORD_CACHE", 500)
    shared = embedding.StaticEmbedding.load()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(shared.encode, batches))
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a.view(np.int32), b.view(np.int32))


def test_batch_rounding_is_pythons_round_to_the_last_bit():
    import numpy as np

    from bot.classifier.local import round4

    rng = np.random.default_rng(11)
    whole = rng.integers(0, 10_000, (3000, 8))
    near_half = np.clip((whole + 0.5) / 10_000 + rng.normal(0, 1e-13, whole.shape), 0, 1)
    exact = np.array([[0.03125, 0.5, 0.0, 1.0, 0.00005, 0.99995, 0.12345, 0.00015]])
    for probs in (rng.random((3000, 8)), rng.random((3000, 8)) ** 8, near_half, exact):
        expected = [[round(p, 4) for p in row] for row in probs.tolist()]
        got = round4(probs)
        assert [[p.hex() for p in row] for row in got] == [
            [p.hex() for p in row] for row in expected
        ]


def test_words_are_the_letter_pattern_on_any_character():
    from bot.classifier.language import _TOKEN, _words

    rng = random.Random(13)
    every = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    for ch in every:
        text = f"ab{ch}cd {ch} x{ch}"
        assert _words(text) == _TOKEN.findall(text), repr(ch)
    plain = "ab Ü1_\u00a0\u2028-'"
    for _ in range(5000):
        text = "".join(
            rng.choice(every) if rng.random() < 0.3 else rng.choice(plain)
            for _ in range(rng.randint(0, 30))
        )
        assert _words(text) == _TOKEN.findall(text), repr(text)
    assert _words("a\ud800b \udfffc") == _TOKEN.findall("a\ud800b \udfffc")
