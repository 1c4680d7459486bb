"""The `classify` path's faster ways of doing things say exactly what the plain ways said."""

from __future__ import annotations

import csv
import io
import json
import math
import random
from pathlib import Path

import pytest

from bot.classifier import load_classifier
from bot.classifier.base import Sentiment
from bot.intake.files import TicketFileError, read_ticket_file
from bot.streaming import full_batches, ready_batches
from bot.tickets import _CONTROL, clean_text
from bot.triage import TriageResult

MULTI = (
    "Hi,\n1) Our invoice for March shows the wrong amount, we were billed for 12 extra seats.\n"
    "2) Also the two-factor codes are rejected and I am locked out of my account."
)


def result(**changes) -> TriageResult:
    values = {
        "ticket_id": "T-1",
        "tag": "billing",
        "confidence": 0.98765,
        "sentiment": Sentiment.NEGATIVE,
        "decision": "review",
        "policy": "billing",
        "reasons": ['low_confidence: 0.55 is below "billing"\'s threshold 0.60'],
        "guardrails": ["low_confidence"],
    }
    values.update(changes)
    return TriageResult(**values)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"policy": None, "reasons": []},
        {"ticket_id": 'ü "quoted" \\ back\tslash \u2028 \x01 \ud800 😀', "tag": "how_to"},
        {"reasons": ["a\nb", "<&>", "\u00e9\u0301", "x" * 5_000], "confidence": 1.0},
        {"confidence": 0.0},
        {"confidence": 1e-300},
        {"confidence": 0.1 + 0.2},
        {"confidence": math.nan},
        {"confidence": math.inf},
        {"confidence": 1},  # an int: written as JSON writes an int
        {"ticket_id": 424242},
        {"sentiment": Sentiment.POSITIVE, "decision": "auto"},
    ],
)
def test_a_jsonl_line_is_what_json_dumps_writes(changes):
    one = result(**changes)
    assert one.jsonl_line() == json.dumps(one.as_output(), ensure_ascii=False)


def test_full_batches_are_full_in_order_and_raise_after_what_was_read():
    assert list(full_batches(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(full_batches([], 3)) == []

    def failing():
        yield from range(4)
        raise ValueError("line 5: broken")

    got = []
    with pytest.raises(ValueError, match="line 5"):
        for batch in full_batches(failing(), 3):
            got.append(batch)
    assert got == [[0, 1, 2], [3]]
    assert [x for b in ready_batches(range(7), 3) for x in b] == list(range(7))
    # A budget ends a batch early: long items go in smaller batches.
    sizes = [5, 1, 1, 9, 1, 1, 1, 1]
    assert list(full_batches(sizes, 4, int, 6)) == [[5, 1], [1, 9], [1, 1, 1, 1]]


def _dict_reader_rows(text: str) -> list[tuple[int, dict]]:
    """What the reader gave when it was csv.DictReader (names lower-cased and stripped)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None:
        return []
    reader.fieldnames = [(n or "").strip().lower() for n in reader.fieldnames]
    out = []
    for record in reader:
        record.pop(None, None)
        out.append((reader.line_num, dict(record)))
    return out


def test_csv_rows_are_what_a_dict_reader_gives(tmp_path: Path):
    rng = random.Random(3)
    cells = ["1", "x", "", " ", 'a, "b"', "multi\nline", "ID", "body", "é", "\r"]
    headers = ["id,subject,body", "ID, Body", "id,body,id", "id", "body,id,,x", ""]
    compared = 0
    for trial in range(400):
        rows = [
            ",".join(
                '"' + c.replace('"', '""') + '"'
                if rng.random() < 0.5
                else c.replace("\n", " ").replace('"', "").replace(",", " ")
                for c in (rng.choice(cells) for _ in range(rng.randint(0, 5)))
            )
            for _ in range(rng.randint(0, 7))
        ]
        rows.insert(rng.randint(0, len(rows)), rng.choice(headers))
        text = "\n".join(rows) + rng.choice(["", "\n", "\n\n", "\r\n"])
        path = tmp_path / f"{trial}.csv"
        path.write_text(text, encoding="utf-8", newline="")
        header = next(csv.reader(io.StringIO(text, newline="")), None)
        if header is not None and "id" not in [(n or "").strip().lower() for n in header]:
            with pytest.raises(TicketFileError):
                list(read_ticket_file(path, "csv"))
            continue
        got = [(row.line, row.raw) for row in read_ticket_file(path, "csv")]
        assert got == _dict_reader_rows(text), text
        compared += bool(got)
    assert compared > 100


def test_ascii_text_loses_exactly_the_control_characters_the_pattern_removes():
    every = "".join(map(chr, range(128))) * 2
    assert clean_text(every) == _CONTROL.sub("", every.replace("\r\n", "\n").replace("\r", "\n"))


def test_multi_issue_parts_score_the_same_in_the_batch_as_alone():
    model = load_classifier("local")
    texts = [MULTI, "How do I export my reports to CSV?", MULTI.replace("March", "May")]
    together = model.predict_many(texts)
    assert [p.notes for p in together] == [model.predict(t).notes for t in texts]
    assert [p.scores for p in together] == [model.predict(t).scores for t in texts]
    assert any(n.startswith("multi_issue:") for n in together[0].notes)
