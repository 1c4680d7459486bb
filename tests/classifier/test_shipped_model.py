"""The shipped model: static embedding + TF-IDF, its provenance, batch predictions, and the
`unfamiliar` check on text that is not a support ticket; `eval` over several files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.embedding import MAX_TOKENS, shared_embedding
from bot.classifier.local import BUNDLED_MODEL, FORMAT, LocalModel, read_model
from bot.classifier.training import Example, train
from bot.cli import main
from bot.policies import load_policies
from bot.triage import decide
from tests.classifier.conftest import ROOT, as_examples, small_rows, write_csv

DATA = Path(__file__).resolve().parents[2] / "bot" / "classifier" / "data"

# Written for this test: none of it is a support ticket.
NOT_TICKETS = [
    'Traceback (most recent call last):\n  File "/srv/app/jobs/export.py", line 88, in run\n'
    '    rows = fetch_rows(cursor, batch_size)\n  File "/srv/app/db/fetch.py", line 14, in '
    "fetch_rows\n    return cursor.fetchmany(size)\npsycopg.OperationalError: server closed the "
    "connection unexpectedly",
    "Return a new ordered dictionary whose keys are the fields of the record and whose values "
    "are converted with the given callables; missing fields default to None.",
    "The regional orchestra opened its autumn season on Friday with a programme of Dvořák and "
    "Sibelius, conducted by a guest from Helsinki, to a full concert hall.",
    "haha yes we should totally do the picnic again next sunday, bring the frisbee and that "
    "lemon cake your sister made last time!!",
    "Preheat the oven to 180 degrees, whisk the eggs with the sugar until pale, then fold in "
    "the flour and bake the sponge for twenty-five minutes.",
]
TICKETS = [
    "I was charged twice for the same transaction on my card this month, please refund the "
    "duplicate payment.",
    "My card was stolen yesterday and I think someone has been using it, please block it.",
    "I forgot my passcode and now I cannot get into the app at all, how do I reset it?",
]


@pytest.fixture(scope="module")
def shipped() -> LocalModel:
    return LocalModel.load(BUNDLED_MODEL)


@pytest.fixture(scope="module")
def policies():
    loaded, problems = load_policies(ROOT / "policies")
    assert loaded is not None, problems
    return loaded


def test_shipped_model_is_the_embedding_format_and_names_its_sources(shipped: LocalModel):
    model = read_model(BUNDLED_MODEL)
    assert model.meta["format"] == FORMAT == 2
    assert model.emb_coef is not None and model.emb_coef.shape == (256, len(DEFAULT_TAGS))
    assert model.prototypes is not None and model.prototypes.shape[1] == 256
    assert model.meta["embedding"]["table_sha256"] == shared_embedding().table_sha256
    sources = model.meta["provenance"]["sources"]
    repos = {s["repo"]: s for s in sources}
    banking = repos["PolyAI-LDN/task-specific-datasets"]
    assert banking["path"] == "banking_data/train.csv" and len(banking["commit"]) == 40
    assert len(banking["sha256"]) == 64
    assert len(repos["clinc/oos-eval"]["commit"]) == 40
    # Real praise posts trained the praise tag; Twitter text is never committed, only named.
    tweets = repos["cardiffnlp/tweeteval"]
    assert len(tweets["commit"]) == 40 and all(len(h) == 64 for h in tweets["files"].values())
    assert model.meta["params"]["familiar_exclude"] == ["tweet:"]
    assert shipped.unfamiliar_threshold is not None
    assert BUNDLED_MODEL.stat().st_size < 20_000_000


def test_the_embedding_ships_with_the_teachers_licence_and_pinned_hashes():
    info = json.loads((DATA / "embedding.json").read_text())
    assert "Apache" in (DATA / "MiniLM-LICENSE").read_text()
    assert "all-MiniLM-L6-v2" in (DATA / "MiniLM-NOTICE").read_text()
    assert info["wheel_sha256"].startswith("a49ad1d2")
    assert info["tokenizer.json_sha256"].startswith("be50c362")


def test_word_cache_gives_exactly_the_tokenizers_pieces():
    embedding = shared_embedding()
    texts = [
        "Refund for €299 — naïve café's “quoted” e-mail: user_name@example.com (3.14)!",
        "日本語のテキスト and Ελληνικά mixed with English, emoji 🎉 and tabs\tand\nnewlines",
        "word " * 700,  # longer than MAX_TOKENS pieces
        "",
    ]
    for text in texts:
        full = embedding.tokenizer.encode(text, add_special_tokens=False).ids
        expected = [i for i in full if i != embedding.unk_id][:MAX_TOKENS]
        assert embedding.pieces(text) == expected
    vectors = embedding.encode(texts)
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert not vectors[3].any()


def test_predict_many_equals_predict_one_by_one(shipped: LocalModel):
    texts = [
        *TICKETS,
        *NOT_TICKETS,
        "",
        "   ",
        "1) I cannot log in since the update. 2) Also, unrelated: please refund the annual "
        "plan I was charged for twice.",
        "x" * 20_000,
    ]
    batch = shipped.predict_many(texts)
    assert batch == [shipped.predict(t) for t in texts]


def test_familiar_tickets_route_and_are_not_flagged(shipped: LocalModel, policies):
    for text, tag in zip(TICKETS, ("billing", "security", "account_access"), strict=True):
        prediction = shipped.predict(text)
        assert prediction.tag == tag, text
        assert not any(n.startswith("unfamiliar") for n in prediction.notes), text
    billing = decide("t1", TICKETS[0], shipped.predict(TICKETS[0]), policies)
    assert billing.decision == "auto", billing.reasons


def test_text_that_is_not_a_ticket_goes_to_review_as_unfamiliar(shipped: LocalModel, policies):
    for text in NOT_TICKETS:
        result = decide("x", text, shipped.predict(text), policies)
        assert result.decision == "review", text
        assert "unfamiliar" in result.guardrails, text
        reason = next(r for r in result.reasons if r.startswith("unfamiliar: "))
        assert "unlike the tickets the model learned from" in reason


def test_classify_jsonl_gives_the_unfamiliar_reason_in_code_sentence_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PATH", "CLASSIFIER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICIES_DIR", str(ROOT / "policies"))
    tickets = tmp_path / "t.csv"
    with tickets.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "subject", "body"])
        writer.writerow(["news", "", NOT_TICKETS[2]])
        writer.writerow(["refund", "", TICKETS[0]])
    assert main(["classify", str(tickets), "--format", "jsonl"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [o["ticket_id"] for o in out] == ["news", "refund"]
    assert out[0]["decision"] == "review"
    assert any(r.startswith("unfamiliar: ") for r in out[0]["reasons"])
    assert out[1]["decision"] == "auto" and out[1]["tag"] == "billing"


def test_eval_of_several_files_reports_each_separately(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PATH", "CLASSIFIER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICIES_DIR", str(ROOT / "policies"))
    first = write_csv(tmp_path / "a.csv", small_rows(4))
    second = write_csv(tmp_path / "b.csv", small_rows(2))
    assert main(["eval", str(first), str(second), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == ["files"]
    assert [f["file"] for f in report["files"]] == [str(first), str(second)]
    assert [f["tickets"] for f in report["files"]] == [4 * len(DEFAULT_TAGS), 2 * len(DEFAULT_TAGS)]
    for one in report["files"]:
        assert {"auto_precision", "auto_precision_lower_bound", "automation_rate"} <= set(one)
        assert sum(b["tickets"] for b in one["reliability"]) == one["tickets"]
        assert 0.0 <= one["model"]["ece"] <= 1.0
    assert main(["eval", str(first), "--format", "json"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert "files" not in single and single["tickets"] == 4 * len(DEFAULT_TAGS)
    assert main(["eval", str(first), str(second)]) == 0
    text = capsys.readouterr().out
    assert f"== {first} ==" in text and f"== {second} ==" in text and "reliability" in text


def test_train_with_a_held_out_calibration_set_uses_it_for_thresholds():
    rows = small_rows(40)
    fit = as_examples(rows[::2])
    calibration = [Example(f"real:{e.key}", e.text, e.tag) for e in as_examples(rows[1::2])]
    arrays, report = train(
        fit,
        DEFAULT_TAGS,
        target_precision=0.8,
        max_features=4000,
        calibration=calibration,
        ood=NOT_TICKETS,
        provenance={"sources": [{"repo": "test"}]},
    )
    assert report.n_fit == len(fit) and report.n_calibration == len(calibration)
    assert arrays.meta["provenance"] == {"sources": [{"repo": "test"}]}
    unfamiliar = arrays.meta["unfamiliar"]
    assert unfamiliar["threshold"] is not None and unfamiliar["evidence"]["ood"] == len(NOT_TICKETS)
    model = LocalModel(arrays)
    assert model.predict_many(TICKETS) == [model.predict(t) for t in TICKETS]


# Written for this test: praise about everyday things, in no support ticket's words.
EVERYDAY_PRAISE = [
    "Had the best day at the beach with my family, feeling so grateful and happy!",
    "Congratulations to the whole crew on the launch, so proud of what you all built!",
    "Your support person Maria was amazing, sorted everything in five minutes. Thank you!",
]


def test_real_praise_is_tagged_praise_and_routed_when_the_gate_agrees(
    shipped: LocalModel, policies
):
    for text in EVERYDAY_PRAISE:
        result = decide("p", text, shipped.predict(text), policies)
        assert result.tag == "positive_feedback" and result.decision == "auto", result.reasons
    # ... and the kinds the gate exists for still go to a human.
    for text in (
        "Loved sitting in traffic for two hours to pick up the replacement device, so happy.",
        "who has the best record in the nba",
    ):
        result = decide("p", text, shipped.predict(text), policies)
        assert result.decision == "review", text


# Written for this test: plain or informal text that is not praise (questions, requests,
# moans about the day), in the register real praise posts share.
INFORMAL_NOT_PRAISE = [
    "what time does the pharmacy on main street close tonight",
    "can you set a reminder to water the plants at six",
    "ugh monday again, the bus was late and now it is raining",
    "my sister is moving to leeds next month so we are packing all weekend",
    "points not updated after yesterday's match",
]


def test_informal_text_that_is_not_praise_is_not_proposed_as_praise(shipped: LocalModel, policies):
    # Praise posts trained the praise tag; anger/sadness posts and plain questions trained a
    # background class, and praise is proposed only when our tone reading agrees.
    for text in INFORMAL_NOT_PRAISE:
        result = decide("i", text, shipped.predict(text), policies)
        assert result.tag != "positive_feedback", (text, result.scores)


def test_a_background_class_is_fitted_but_never_shipped():
    rows = small_rows(40)
    fit = as_examples(rows[::2])
    calibration = [Example(f"real:{e.key}", e.text, e.tag) for e in as_examples(rows[1::2])]
    background = [t for t in INFORMAL_NOT_PRAISE for _ in range(3)] + NOT_TICKETS
    plain, _ = train(
        fit, DEFAULT_TAGS, target_precision=0.8, max_features=4000, calibration=calibration
    )
    arrays, _ = train(
        fit,
        DEFAULT_TAGS,
        target_precision=0.8,
        max_features=4000,
        calibration=calibration,
        background=background,
    )
    assert arrays.coef.shape[1] == arrays.emb_coef.shape[1] == len(DEFAULT_TAGS)
    assert arrays.meta["n_background"] == len(background)
    assert arrays.meta["version"] != plain.meta["version"]
    # every tag learned the background as "not me": their scores on it fall
    before = LocalModel(plain).logits_many(INFORMAL_NOT_PRAISE)
    after = LocalModel(arrays).logits_many(INFORMAL_NOT_PRAISE)
    assert after.max(axis=1).mean() < before.max(axis=1).mean()
    with pytest.raises(ValueError, match="calibration"):
        train(fit, DEFAULT_TAGS, max_features=4000, background=background)
