"""`triage-bot train`, `triage-bot eval` and model-file errors, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.local import LocalModel
from bot.cli import main
from bot.policies import load_policies
from tests.classifier.conftest import ROOT, small_rows, write_csv


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean working directory (no .env) with the bundled policies and a store."""
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PATH", "TRAINING_DATA", "CLASSIFIER", "RETRAIN_TIME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICIES_DIR", str(ROOT / "policies"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    return tmp_path


@pytest.fixture
def trained(env: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> Path:
    data = write_csv(env / "train.csv", small_rows())
    out = env / "model.npz"
    code = main(["train", "--data", str(data), "--output", str(out), "--target-precision", "0.8"])
    assert code == 0
    capsys.readouterr()
    monkeypatch.setenv("MODEL_PATH", str(out))
    return out


def test_train_writes_a_model_with_a_version_and_a_threshold_per_tag(env: Path, capsys):
    data = write_csv(env / "train.csv", small_rows())
    out = env / "models" / "m.npz"
    assert (
        main(["train", "--data", str(data), "--output", str(out), "--target-precision", "0.8"]) == 0
    )
    printed = capsys.readouterr().out
    model = LocalModel.load(out)
    assert model.version in printed and model.version.startswith("tfidf-")
    for tag in DEFAULT_TAGS:
        assert tag in printed
    assert set(model.thresholds) == set(DEFAULT_TAGS)
    assert model.meta["n_human"] == 0  # the store file does not exist: no human labels


def test_train_refuses_unknown_labels_naming_the_line(env: Path, capsys):
    rows = [{**r, "body": " ".join(r["body"].split())} for r in small_rows(20)]  # one line each
    rows[1] = {**rows[1], "tag": "refunds"}
    data = write_csv(env / "bad.csv", rows)
    assert main(["train", "--data", str(data), "--output", str(env / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "refunds" in err
    assert not (env / "m.npz").exists()


def test_train_without_data_says_what_is_missing(env: Path, capsys):
    assert main(["train", "--data", str(env / "nothing.csv")]) == 1
    assert "nothing.csv does not exist" in capsys.readouterr().err


def test_eval_prints_every_section(trained: Path, env: Path, capsys):
    data = write_csv(env / "labelled.csv", small_rows(15))
    assert main(["eval", str(data)]) == 0
    out = capsys.readouterr().out
    for section in ("per tag", "risk-coverage", "confusion matrix", "expected calibration error"):
        assert section in out
    for tag in DEFAULT_TAGS:
        assert tag in out


def test_eval_json_is_consistent_with_itself(trained: Path, env: Path, capsys):
    rows = small_rows(15)
    data = write_csv(env / "labelled.csv", rows)
    assert main(["eval", str(data), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tickets"] == len(rows)
    assert report["model"]["version"] == LocalModel.load(trained).version
    assert report["automation_rate"] == pytest.approx(report["auto_routed"] / len(rows), abs=1e-4)
    assert [r["tag"] for r in report["per_tag"]] == list(DEFAULT_TAGS)
    for row in report["per_tag"]:
        assert sum(report["confusion"][row["tag"]].values()) == row["tickets"] == 15
    assert sum(r["auto_routed"] for r in report["per_tag"]) == report["auto_routed"]
    coverages = [r["coverage"] for r in report["risk_coverage"]]
    assert coverages == sorted(coverages, reverse=True) and coverages[0] == 1.0
    assert 0.0 <= report["model"]["ece"] <= 1.0
    no_go = {r["tag"] for r in report["per_tag"] if r["no_go"]}
    bundled, _ = load_policies(Path(__file__).resolve().parents[2] / "policies")
    assert no_go == {t for p in bundled.policies.values() for t in p.no_go} == {"security"}
    assert all(r["auto_routed"] == 0 for r in report["per_tag"] if r["tag"] in no_go)


def test_eval_names_the_rows_with_missing_or_unknown_labels(trained: Path, env: Path, capsys):
    data = env / "bad.csv"
    data.write_text(
        "id,subject,body,tag\n"
        "1,Invoice,My invoice is wrong,billing\n"
        "2,Login,I cannot log in,\n"
        "3,Other,Something else entirely,refunds\n"
        ",No id,This row has no id,bug\n",
        encoding="utf-8",
    )
    assert main(["eval", str(data)]) == 1
    err = capsys.readouterr().err
    assert "line 3" in err and "no label" in err
    assert "line 4" in err and "'refunds'" in err
    assert "line 5" in err
    assert "3 row(s) without a usable label" in err


def test_eval_on_a_file_without_a_tag_column_reports_every_row(trained: Path, env: Path, capsys):
    data = env / "unlabelled.csv"
    data.write_text("id,subject,body\n1,a,b\n2,c,d\n", encoding="utf-8")
    assert main(["eval", str(data)]) == 1
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err


def test_classify_with_a_corrupt_model_names_the_file_and_the_fix(env: Path, monkeypatch, capsys):
    bad = env / "corrupt.npz"
    bad.write_bytes(b"definitely not a model")
    monkeypatch.setenv("MODEL_PATH", str(bad))
    tickets = env / "t.csv"
    tickets.write_text("id,subject,body\n1,Hi,My invoice is wrong\n", encoding="utf-8")
    assert main(["classify", str(tickets)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and "triage-bot train" in err
    assert "Traceback" not in err


def test_classify_with_a_missing_model_path_names_the_file(env: Path, monkeypatch, capsys):
    monkeypatch.setenv("MODEL_PATH", str(env / "gone.npz"))
    tickets = env / "t.csv"
    tickets.write_text("id,subject,body\n1,Hi,My invoice is wrong\n", encoding="utf-8")
    assert main(["classify", str(tickets), "--format", "jsonl"]) == 1
    assert "gone.npz does not exist" in capsys.readouterr().err


def test_classify_works_offline_with_the_bundled_model(env: Path, capsys):
    tickets = env / "t.csv"
    tickets.write_text(
        "id,subject,body\n"
        "1,Charged twice,I was charged twice for my subscription this month and need a refund of one payment.\n",
        encoding="utf-8",
    )
    assert main(["classify", str(tickets), "--format", "jsonl"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert record["tag"] == "billing" and record["decision"] in {"auto", "review"}


def test_compare_prints_the_candidate_table(env: Path, capsys):
    data = write_csv(env / "train.csv", small_rows(20))
    assert main(["train", "--compare", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "keywords-v0" in out and "logistic regression" in out and "linear SVM" in out
    assert out.count("\n| ") >= 6
