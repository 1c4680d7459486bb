"""The garbage collector is off only while a command starts (imports, settings, models).

Start-up builds objects that live until exit; collections then only walk them again. The
command itself (and a long-running one above all) must run with the collector on.
"""

from __future__ import annotations

import gc
import json
import os
from pathlib import Path

import pytest

import bot.triage_batch
from bot import cli
from bot.commands import check_policies

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _collector_restored(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(ROOT)
    for name in list(os.environ):
        if name.startswith(("SLACK_", "TRIAGE_", "DATABASE_")):
            monkeypatch.delenv(name)
    yield
    gc.unfreeze()  # classify freezes what it loaded; give the test process its heap back
    gc.enable()


def test_a_command_runs_with_the_collector_on(monkeypatch: pytest.MonkeyPatch, capsys):
    seen: list[bool] = []
    real = check_policies.run

    def spy(args, settings):
        seen.append(gc.isenabled())
        return real(args, settings)

    monkeypatch.setattr(check_policies, "run", spy)
    assert cli.main(["check-policies"]) == 0
    assert seen == [True]
    assert gc.isenabled()
    assert capsys.readouterr().out.startswith("ok:")


def test_classify_classifies_with_the_collector_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    tickets = tmp_path / "t.csv"
    tickets.write_text(
        "id,subject,body\n1,Cannot log in,I cannot log in to my account since this morning\n",
        encoding="utf-8",
    )
    seen: list[bool] = []
    real = bot.triage_batch.triage_many

    def spy(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(bot.triage_batch, "triage_many", spy)
    code = cli.main(["classify", "--format", "jsonl", "--progress", "never", str(tickets)])
    assert code == 0
    assert seen == [True]
    assert gc.isenabled()
    record = json.loads(capsys.readouterr().out)
    assert record["ticket_id"] == "1"


def test_the_collector_is_back_on_after_a_failed_start(capsys):
    with pytest.raises(SystemExit):
        cli.main(["no-such-command"])
    assert gc.isenabled()
