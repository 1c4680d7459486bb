"""Training on a team's own history: an exported file and SOURCE_TRAIN_QUERY on a real
helpdesk database (SQLite always; PostgreSQL / MariaDB with TEST_DATABASE_URL /
TEST_MYSQL_URL), helpdesk categories mapped by policies, and the model then in use."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from bot.classifier.base import DEFAULT_TAGS
from bot.classifier.local import LocalModel
from bot.classifier.retrain import fit, gather
from bot.cli import main
from bot.db import make_engine, upgrade
from bot.models import AuditEvent, OutboxMessage
from bot.store import Store
from tests.classifier.conftest import ROOT, small_rows, write_csv
from tests.conftest import make_settings
from tests.source.legacy import LegacyHelpdesk

REFUND_PHRASES = [
    "please reimburse the returned parcel",
    "I sent the parcel back, when do I get my money back",
    "money back for the returned order please",
    "the return was received but no reimbursement yet",
    "reimburse me for the parcel I returned last week",
]
REFUND_CONTEXT = ["order", "shoes", "jacket", "headphones", "lamp", "chair", "book", "kettle"]


def refund_rows(count: int, start: int = 0) -> list[dict[str, str]]:
    """Tickets of a tag only this team has: money back for returned goods."""
    rows = []
    for n in range(start, start + count):
        phrase = REFUND_PHRASES[n % len(REFUND_PHRASES)]
        item = REFUND_CONTEXT[(n // len(REFUND_PHRASES)) % len(REFUND_CONTEXT)]
        rows.append(
            {
                "id": f"r{n}",
                "subject": f"Returned {item}",
                "body": f"Hello, {phrase}. It was the {item}, order {1000 + n}.",
            }
        )
    return rows


def add_policy(policies_dir: Path, name: str, **fields: object) -> None:
    data = {
        "owner": "U0REFUNDS",
        "tags": [name],
        "route_channel": "C0REFUNDS",
        "mode": "suggest",
        "threshold": "calibrated",
        **fields,
    }
    (policies_dir / f"{name}.yml").write_text(yaml.safe_dump(data))


def map_categories(policies_dir: Path, policy: str, categories: list[str]) -> None:
    path = policies_dir / f"{policy}.yml"
    data = yaml.safe_load(path.read_text())
    data["helpdesk_categories"] = categories
    path.write_text(yaml.safe_dump(data))


def history_rows() -> list[dict[str, str]]:
    """40 tickets per tag as the helpdesk categorised them, plus the team's own refunds."""
    rows = []
    for row in small_rows(40):
        category = "Invoices & payments" if row["tag"] == "billing" else row["tag"]
        rows.append({**row, "category": category})
    for n, row in enumerate(refund_rows(60)):
        rows.append({**row, "category": "Money back" if n % 2 else "  returns & REFUNDS "})
    return rows


def write_history(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(
            handle, fieldnames=["id", "subject", "body", "category"], extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def team(tmp_path: Path, policies_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment with a `refunds` policy and helpdesk categories, run from tmp_path."""
    add_policy(policies_dir, "refunds", helpdesk_categories=["Money back", "Returns & refunds"])
    map_categories(policies_dir, "billing", ["Invoices & payments"])
    monkeypatch.chdir(tmp_path)
    for name in ("MODEL_PATH", "TRAINING_DATA", "CLASSIFIER", "RETRAIN_TIME", "SOURCE_QUERY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("POLICIES_DIR", str(policies_dir))
    monkeypatch.setenv("TRAINING_DATA", str(ROOT / "data" / "tickets_train.csv"))
    monkeypatch.setenv("TRIAGE_CHANNEL", "C0TRIAGE")
    return tmp_path


def classify_jsonl(path: Path, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["classify", str(path), "--format", "jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def held_out_refunds(path: Path) -> Path:
    rows = [{**r, "tag": "refunds"} for r in refund_rows(3, start=500)]
    rows.append({**small_rows(60)[-1]})  # a security ticket the history never held
    return write_csv(path, rows)


def test_train_on_an_exported_history_file_goes_live_and_is_used(
    team: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    url = f"sqlite:///{team / 'triage.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    model_path = team / "models" / "triage-model.npz"
    monkeypatch.setenv("MODEL_PATH", str(model_path))
    history = write_history(team / "history.csv", history_rows())

    # A first model, before any ticket was decided: only an explicit operator flag puts it live.
    code = main(["train", "--data", str(history), "--promote-unscored"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "reading the labelled history" in out.err and "fitting on" in out.err  # progress
    assert "cross-fitting: model 1 of 5" in out.err and "model 5 of 5" in out.err
    model = LocalModel.load(model_path)
    assert f"promoted {model.version} without shadow scoring" in out.out
    assert "refunds" in model.tags and set(DEFAULT_TAGS) <= set(model.tags)
    # Thresholds and temperature come from the real history only (cross-fitted on all of it).
    assert model.meta["n_calibration"] == len(history_rows())
    assert model.meta["calibration"].startswith("cross-fitted")

    engine = make_engine(url)
    try:
        store = Store(engine)
        [promoted] = [e for e in store.audit_events() if e.action == "model_promoted"]
        assert promoted.detail["model_version"] == model.version
        assert promoted.detail["scored"] is False and promoted.actor.startswith("cli")
        with store.session() as session:
            notices = [m.payload["text"] for m in session.exec(select(OutboxMessage)).all()]
        assert any(model.version in t and "<@U0SUPPLEAD>" in t for t in notices)
    finally:
        engine.dispose()

    results = classify_jsonl(held_out_refunds(team / "next.csv"), capsys)
    assert [r["tag"] for r in results[:3]] == ["refunds"] * 3
    assert results[3]["tag"] == "security"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "mysql"])
def test_train_from_source_train_query_on_a_real_helpdesk_database(
    kind: str, team: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    helpdesk = LegacyHelpdesk(kind, team)
    try:
        text_type = "LONGTEXT" if kind == "mysql" else "TEXT"
        helpdesk.execute(
            f"CREATE TABLE hd_history (ref VARCHAR(40), title VARCHAR(300), descr {text_type},"
            " cat VARCHAR(100), spam SMALLINT)"
        )
        helpdesk.grant("hd_history")
        rows = history_rows()
        rows.append({"id": "x1", "subject": "no category", "body": "left uncategorised"})
        for n, row in enumerate(rows):
            helpdesk.execute(
                "INSERT INTO hd_history (ref, title, descr, cat, spam)"
                " VALUES (:ref, :title, :descr, :cat, :spam)",
                ref=row["id"],
                title=row["subject"],
                descr=row["body"],
                cat=row.get("category"),
                spam=1 if n == 0 else 0,
            )
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{team / 'none.db'}")
        monkeypatch.setenv("SOURCE_DATABASE_URL", helpdesk.url)
        monkeypatch.setenv(
            "SOURCE_TRAIN_QUERY",
            "SELECT ref AS id, title AS subject, descr AS body, cat AS category "
            "FROM hd_history WHERE spam = 0 -- spam is not a category",
        )
        out_path = team / "from-sql.npz"
        code = main(["train", "--output", str(out_path)])
        out = capsys.readouterr()
        assert code == 0, out.err
        assert "SOURCE_TRAIN_QUERY" in out.out
        model = LocalModel.load(out_path)
        assert f"history: {len(rows) - 2} labelled ticket(s)" in out.out  # spam, uncategorised
        assert "refunds" in model.tags

        monkeypatch.setenv("MODEL_PATH", str(out_path))
        results = classify_jsonl(held_out_refunds(team / "next.csv"), capsys)
        assert [r["tag"] for r in results[:3]] == ["refunds"] * 3
    finally:
        helpdesk.drop()


def test_source_train_query_gets_the_same_read_only_check(
    team: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{team / 'none.db'}")
    monkeypatch.setenv("SOURCE_DATABASE_URL", f"sqlite:///{team / 'helpdesk.db'}")
    monkeypatch.setenv("SOURCE_TRAIN_QUERY", "DELETE FROM hd_history")
    assert main(["train", "--output", str(team / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert "SOURCE_TRAIN_QUERY" in err and "SELECT" in err
    assert not (team / "m.npz").exists()


def test_a_history_tag_no_policy_covers_is_refused_by_name_with_a_stub(
    team: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{team / 'none.db'}")
    rows = history_rows()
    for row in rows[:7]:
        row["category"] = "Shipping delays"
    history = write_history(team / "history.csv", rows)
    assert main(["train", "--data", str(history), "--output", str(team / "m.npz")]) == 1
    err = capsys.readouterr().err
    assert "'Shipping delays' (7 tickets, first at" in err and "history.csv line " in err
    assert "policies/shipping_delays.yml" in err and "tags: [shipping_delays]" in err
    assert "helpdesk_categories: [Shipping delays]" in err
    assert not (team / "m.npz").exists()


def test_check_policies_validates_helpdesk_categories(team: Path, policies_dir: Path, capsys):
    map_categories(policies_dir, "bug", ["Money back"])  # already the refunds policy's
    path = policies_dir / "multi.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "owner": "U0MULTI",
                "tags": ["shipping", "returns"],
                "route_channel": "C0MULTI",
                "helpdesk_categories": ["Parcels"],
            }
        )
    )
    assert main(["check-policies", str(policies_dir)]) == 1
    out = capsys.readouterr().out
    assert "helpdesk_categories: 'money back' is already mapped by policy" in out
    assert "multi.yml" in out and "map each category to one of them" in out


def test_a_tag_missing_from_the_history_keeps_the_base_knowledge(tmp_path: Path):
    base = write_csv(tmp_path / "base.csv", small_rows(60))
    history = [r for r in small_rows(70)[::-1] if r["tag"] != "cancellation"]
    for row in history:
        row["id"] = f"team-{row['id']}"
    path = write_csv(tmp_path / "history.csv", history)
    settings = make_settings(
        policies_dir=ROOT / "policies",
        training_data=base,
        database_url=f"sqlite:///{tmp_path / 'none.db'}",
    )
    data = gather(settings, [path], use_human=False, use_query=False)
    assert data.base_tags == ["cancellation"]
    assert {e.tag for e in data.fit if not e.key.startswith("history:")} == {"cancellation"}
    assert data.calibration and all(e.key.startswith("history:") for e in data.calibration)
    arrays, _report = fit(data, max_features=6000, folds=2)
    model = LocalModel(arrays)
    assert model.meta["thresholds"]["cancellation"] is None  # no real evidence: never alone
    with (ROOT / "data" / "tickets_test.csv").open(encoding="utf-8", newline="") as handle:
        cancellations = [
            f"{r['subject']}\n{r['body']}"
            for r in csv.DictReader(handle)
            if r["tag"] == "cancellation" and r["lang"] == "en" and not r["hard"]
        ][:40]
    right = sum(model.predict(text).tag == "cancellation" for text in cancellations)
    assert right >= 0.8 * len(cancellations)


def test_audit_events_are_recorded_even_without_a_channel(tmp_path: Path):
    """No TRIAGE_CHANNEL (a CLI-only setup): the change is audited, nothing is queued."""
    from bot.classifier.governance import record

    url = f"sqlite:///{tmp_path / 't.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        store = Store(engine)
        settings = make_settings(database_url=url, triage_channel=None)
        record(store, settings, None, "model_promoted", "cli:ops", {"model_version": "v"}, "hi")
        assert [e.action for e in store.audit_events()] == ["model_promoted"]
        with store.session() as session:
            assert not session.exec(select(OutboxMessage)).all()
            assert len(session.exec(select(AuditEvent)).all()) == 1
    finally:
        engine.dispose()
