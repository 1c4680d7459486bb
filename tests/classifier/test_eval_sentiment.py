"""`triage-bot eval` on files labelled with `sentiment` / `sarcastic` instead of (or beside) `tag`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.classifier.conftest import ROOT
from tests.classifier.test_praise_gate import CLEAR_PRAISE, SARCASTIC_PRAISE

COMPLAINTS = [
    "Your app deleted my whole project and support has not answered in four days. Furious.",
    "Terrible update, nothing loads anymore and I have a deadline today. Fix it now.",
    "This is the worst billing experience I have ever had, I want my money back.",
]
NEUTRAL = ["Where can I find the setting that changes the default export format?"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PATH", "TRAINING_DATA", "CLASSIFIER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICIES_DIR", str(ROOT / "policies"))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    return tmp_path


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def tone_rows() -> list[list[str]]:
    rows = [[f"n{i}", "", t, "negative", ""] for i, t in enumerate(COMPLAINTS)]
    rows += [[f"p{i}", "", t, "positive", "0"] for i, t in enumerate(CLEAR_PRAISE)]
    rows += [[f"u{i}", "", t, "neutral", ""] for i, t in enumerate(NEUTRAL)]
    rows += [[f"s{i}", "", t, "", "1"] for i, t in enumerate(SARCASTIC_PRAISE)]
    return rows


def test_eval_reports_sentiment_recall_from_a_sentiment_column_without_tags(env: Path, capsys):
    data = write(env / "tone.csv", ["id", "subject", "body", "sentiment", "sarcastic"], tone_rows())
    assert main(["classify", str(data), "--format", "jsonl"]) == 0
    said = {
        r["ticket_id"]: r for r in map(json.loads, capsys.readouterr().out.strip().splitlines())
    }
    assert main(["eval", str(data), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    tone = report["sentiment"]
    assert report["tickets"] == 0  # no row has a tag: topic figures are empty, not wrong
    for cls, prefix in (("negative", "n"), ("positive", "p"), ("neutral", "u")):
        ids = [i for i in said if i.startswith(prefix)]
        hit = sum(said[i]["sentiment"] == cls for i in ids)
        assert tone["per_class"][cls] == {"tickets": len(ids), "recall": round(hit / len(ids), 4)}
    sarcastic = [i for i in said if i.startswith("s")]
    assert tone["sarcastic_tickets"] == len(sarcastic)
    assert tone["sarcastic_scored_positive"] == round(
        sum(said[i]["sentiment"] == "positive" for i in sarcastic) / len(sarcastic), 4
    )
    complaints = [i for i in said if i[0] in "ns"]
    leaked = sum(
        said[i]["decision"] == "auto" and said[i]["tag"] == "positive_feedback" for i in complaints
    )
    assert tone["complaint_tickets"] == len(complaints)
    assert tone["praise_auto_routed_on_complaints"] == leaked == 0
    assert main(["eval", str(data)]) == 0
    text = capsys.readouterr().out
    assert "negative" in text and "recall" in text and "praise auto-routed on complaints" in text


def test_eval_mixes_tagged_rows_and_tone_rows_and_still_names_unlabelled_ones(env: Path, capsys):
    rows = [
        [
            "1",
            "Invoice",
            "My invoice shows the wrong amount for March, please fix it.",
            "billing",
            "",
        ],
        ["2", "", COMPLAINTS[0], "", "negative"],
        ["3", "", "No label at all on this row, so it cannot be measured.", "", ""],
    ]
    data = write(env / "mixed.csv", ["id", "subject", "body", "tag", "sentiment"], rows)
    assert main(["eval", str(data)]) == 1
    assert "line 4" in capsys.readouterr().err
    data = write(env / "mixed2.csv", ["id", "subject", "body", "tag", "sentiment"], rows[:2])
    assert main(["eval", str(data), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tickets"] == 1 and report["sentiment"]["per_class"]["negative"]["tickets"] == 1
