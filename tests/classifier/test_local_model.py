"""The embedded model: numpy inference equals scikit-learn, files load safely, training is deterministic."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bot.classifier import load_classifier
from bot.classifier.base import DEFAULT_TAGS, ModelFileError
from bot.classifier.features import analyze
from bot.classifier.local import BUNDLED_MODEL, LocalModel, read_model, save_model
from bot.classifier.training import (
    make_logreg,
    make_vectorizer,
    to_arrays,
    train,
)
from tests.classifier.conftest import SMALL, as_examples, small_rows
from tests.conftest import make_settings

ODD_TEXTS = [
    "",
    "   ",
    "🎉🎉🎉",
    "\x00\x01 control \ufffd",
    "a" * 200_000,
    "Ünïcödé çharges déjà vu 請求書",
    "1234 5678 9012",
]


def test_numpy_inference_equals_the_scikit_learn_pipeline():
    rows = small_rows(30)
    texts = [f"{r['subject']}\n{r['body']}" for r in rows]
    y = np.array([DEFAULT_TAGS.index(r["tag"]) for r in rows])
    vectorizer = make_vectorizer(4000)
    model = make_logreg(10.0).fit(vectorizer.fit_transform(texts), y)
    meta = {"format": 1, "version": "t", "tags": list(DEFAULT_TAGS), "temperature": 1.0}
    local = LocalModel(to_arrays(vectorizer, model, len(DEFAULT_TAGS), meta))
    probe = [*texts[:20], "My invoice is wrong and I can't log in", "zzz qqq"]
    expected = model.predict_proba(vectorizer.transform(probe))
    got = np.array([local.probabilities(t) for t in probe])
    assert np.allclose(got, expected, atol=1e-4)


def test_training_is_deterministic_and_the_version_names_the_data():
    examples = as_examples(small_rows(25))
    first, report1 = train(examples, DEFAULT_TAGS, **SMALL)
    second, report2 = train(list(reversed(examples)), DEFAULT_TAGS, **SMALL)
    assert report1.version == report2.version
    assert first.terms == second.terms
    assert np.array_equal(first.coef, second.coef)
    assert first.meta["thresholds"] == second.meta["thresholds"]
    _fewer, report3 = train(examples[:-1], DEFAULT_TAGS, **SMALL)
    assert report3.version != report1.version


def test_saved_model_round_trips_and_predicts_the_same(tmp_path: Path, small_training):
    arrays, report = small_training
    path = tmp_path / "m.npz"
    save_model(path, arrays)
    loaded = LocalModel.load(path)
    original = LocalModel(arrays)
    assert loaded.version == report.version == original.version
    for text in ["I was charged twice for my plan", "How do I export to CSV?"]:
        assert loaded.predict(text) == original.predict(text)


def test_prediction_carries_version_scores_and_the_calibrated_threshold(small_model: LocalModel):
    prediction = small_model.predict("Please cancel my subscription at the end of the month.")
    assert prediction.model_version == small_model.version
    assert set(prediction.scores) == set(DEFAULT_TAGS)
    assert math.isclose(sum(prediction.scores.values()), 1.0, abs_tol=1e-3)
    assert prediction.confidence == max(prediction.scores.values())
    assert prediction.calibrated_threshold == small_model.thresholds[prediction.tag]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_predict_never_raises_on_odd_input(small_model: LocalModel, text: str):
    prediction = small_model.predict(text)
    assert prediction.tag in DEFAULT_TAGS
    assert 0.0 <= prediction.confidence <= 1.0


def test_features_survive_typos():
    shared = set(analyze("password")) & set(analyze("pasword"))
    assert {"c: pa", "c:wor", "c:ord "} <= shared


def test_missing_model_file_names_the_file_and_the_rebuild_command(tmp_path: Path):
    path = tmp_path / "nope.npz"
    with pytest.raises(ModelFileError) as error:
        LocalModel.load(path)
    assert str(path) in str(error.value) and "triage-bot train" in str(error.value)


@pytest.mark.parametrize(
    "content", [b"", b"not a zip at all", b"PK\x03\x04 truncated zip"], ids=["empty", "junk", "zip"]
)
def test_corrupt_model_file_names_the_file_and_the_rebuild_command(tmp_path: Path, content: bytes):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as error:
        read_model(path)
    assert str(path) in str(error.value) and "triage-bot train" in str(error.value)


def test_model_file_with_a_wrong_layout_is_refused(tmp_path: Path):
    path = tmp_path / "odd.npz"
    np.savez(
        path,
        meta=np.array('{"format": 1, "tags": ["a"]}'),
        terms=np.array(["x"]),
        idf=np.ones(1),
        coef=np.ones((2, 2)),
        intercept=np.ones(1),
    )
    with pytest.raises(ModelFileError, match="unexpected layout"):
        read_model(path)


def test_model_path_that_was_set_but_is_missing_is_an_error(tmp_path: Path):
    settings = make_settings(model_path=tmp_path / "missing.npz")
    with pytest.raises(ModelFileError, match=r"missing\.npz"):
        load_classifier("local", settings=settings)


def test_unset_model_path_falls_back_to_the_bundled_model(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no models/ here
    classifier = load_classifier("local", settings=make_settings())
    assert isinstance(classifier, LocalModel)
    assert classifier.path == BUNDLED_MODEL


def test_trained_model_at_model_path_is_used(tmp_path: Path, small_training):
    path = tmp_path / "custom.npz"
    save_model(path, small_training[0])
    classifier = load_classifier("local", settings=make_settings(model_path=path))
    assert classifier.version == small_training[1].version


def test_keyword_classifier_is_still_available_by_name():
    assert load_classifier("keywords").version == "keywords-v0"


def test_bundled_model_is_small_and_has_a_threshold_per_tag():
    assert BUNDLED_MODEL.stat().st_size < 5_000_000
    model = LocalModel.load(BUNDLED_MODEL)
    assert set(model.thresholds) == set(DEFAULT_TAGS)
    assert model.meta["target_precision"] == 0.97


def test_model_files_in_the_older_layout_still_load_the_same(tmp_path: Path, small_training):
    """Files written before the terms were one text (a compressed string array) load to the
    same model; a term that could not be split back keeps the string array."""
    import json

    from bot.classifier.termsfile import ARRAY_KEY, TEXT_KEY, pack_terms, split_pairs, unpack_terms

    arrays = small_training[0]
    new = tmp_path / "new.npz"
    save_model(new, arrays)
    with np.load(new) as data:
        assert TEXT_KEY in data and ARRAY_KEY not in data
    old = tmp_path / "old.npz"
    np.savez_compressed(
        old,
        meta=np.array(json.dumps(arrays.meta, sort_keys=True)),
        terms=np.array(arrays.terms),
        idf=arrays.idf,
        coef=arrays.coef,
        intercept=arrays.intercept,
        emb_coef=arrays.emb_coef,
        prototypes=arrays.prototypes.astype(np.float16),
    )
    a, b = read_model(new), read_model(old)
    assert a.terms == b.terms == arrays.terms
    for name in ("idf", "coef", "intercept", "emb_coef", "prototypes"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    texts = ["I was charged twice", "cannot log in", ""]
    assert LocalModel(a).predict_many(texts) == LocalModel(b).predict_many(texts)
    for terms in (["w:a", "w:a\nb", "c:é"], ["w:a", ""], [], ["w:naïve", "c: 日本"]):
        packed = pack_terms(terms)
        assert unpack_terms(packed) == terms
        assert (TEXT_KEY in packed) == (all(terms) and not any("\n" in t for t in terms))
    for pairs in ([], ["a b", "c d"], ["a b c", "d e"], [" a", "b "]):
        assert split_pairs(pairs) == (
            [p.partition(" ")[0] for p in pairs],
            [p.partition(" ")[2] for p in pairs],
        )


def test_a_tone_model_file_in_the_older_layout_scores_the_same(tmp_path: Path):
    from bot.classifier.sentiment import BUNDLED_TONE_MODEL, ToneModel
    from bot.classifier.termsfile import unpack_terms

    with np.load(BUNDLED_TONE_MODEL) as data:
        arrays = {k: data[k] for k in data.files}
        terms = unpack_terms(data)
    arrays.pop("terms_text", None)
    old = tmp_path / "tone-old.npz"
    np.savez_compressed(old, terms=np.array(terms), **arrays)
    texts = ["Great, it is broken again. Just perfect.", "thanks, all good now!", ""]
    shipped, older = ToneModel.load(), ToneModel.load(old)
    assert np.array_equal(shipped.scores_many(texts), older.scores_many(texts))


def test_loading_a_classifier_keeps_batch_arrays_in_the_heap_on_glibc():
    import platform

    from bot.classifier.heap import keep_arrays_in_heap

    load_classifier("local")
    glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert keep_arrays_in_heap() is glibc
