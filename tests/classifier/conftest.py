"""Small, fast training data for classifier tests: a slice of the committed training file."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.local import LocalModel, ModelArrays
from bot.classifier.training import Example, TrainReport, train

ROOT = Path(__file__).resolve().parents[2]
TRAIN_FILE = ROOT / "data" / "tickets_train.csv"
PER_TAG = 70
SMALL = {"max_features": 6000, "folds": 2}


def small_rows(per_tag: int = PER_TAG) -> list[dict[str, str]]:
    """The first `per_tag` plain (not hard) English rows of each tag, in file order."""
    taken: dict[str, list[dict[str, str]]] = defaultdict(list)
    with TRAIN_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["hard"] or row["lang"] != "en" or len(taken[row["tag"]]) >= per_tag:
                continue
            taken[row["tag"]].append(row)
    return [row for tag in DEFAULT_TAGS for row in taken[tag]]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    fields = ["id", "subject", "body", "tag"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def as_examples(rows: list[dict[str, str]]) -> list[Example]:
    return [
        Example(f"file:{r['id']}", f"{r['subject']}\n{r['body']}".strip(), r["tag"]) for r in rows
    ]


@pytest.fixture(scope="session")
def small_training() -> tuple[ModelArrays, TrainReport]:
    """One small model for the whole session (a few seconds to train)."""
    return train(as_examples(small_rows()), DEFAULT_TAGS, target_precision=0.8, **SMALL)


@pytest.fixture(scope="session")
def small_model(small_training: tuple[ModelArrays, TrainReport]) -> LocalModel:
    return LocalModel(small_training[0])


@pytest.fixture
def small_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "small.csv", small_rows())
