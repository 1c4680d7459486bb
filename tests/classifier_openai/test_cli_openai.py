"""`triage-bot classify` with CLASSIFIER=openai, and the startup error for missing settings."""

from __future__ import annotations

import json
import logging

import pytest

from bot.cli import main
from bot.settings import MissingSettingError
from tests.classifier_openai.conftest import API_KEY, MODEL, openai_settings
from tests.fakes.openai_api import FakeOpenAI, Reply


@pytest.fixture
def openai_env(monkeypatch, tmp_path, policies_dir, fake_openai: FakeOpenAI):
    monkeypatch.chdir(tmp_path)  # no developer .env
    for name in ("OPENAI_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLASSIFIER", "openai")
    monkeypatch.setenv("POLICIES_DIR", str(policies_dir))
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_TIMEOUT_SECONDS", "0.5")
    monkeypatch.setenv("OPENAI_MAX_RETRIES", "0")
    return monkeypatch


@pytest.mark.parametrize("missing", ["OPENAI_MODEL", "OPENAI_API_KEY"])
def test_missing_setting_is_one_clear_line_naming_it(openai_env, tmp_path, capsys, missing):
    other = {"OPENAI_MODEL": MODEL, "OPENAI_API_KEY": API_KEY}
    del other[missing]
    for name, value in other.items():
        openai_env.setenv(name, value)
    tickets = tmp_path / "t.jsonl"
    tickets.write_text('{"id": 1, "body": "hello"}\n')

    code = main(["classify", str(tickets)])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith(f"error: {missing} is not set")
    assert "CLASSIFIER=openai" in err[0]


def test_build_runtime_refuses_to_start_without_the_model(fake_openai, database_url):
    from bot.app import build_runtime

    with pytest.raises(MissingSettingError, match="OPENAI_MODEL"):
        build_runtime(openai_settings(fake_openai, database_url=database_url, openai_model=None))


def test_classify_uses_the_endpoint_and_reviews_its_failures(
    openai_env, tmp_path, capsys, fake_openai: FakeOpenAI, caplog
):
    openai_env.setenv("OPENAI_MODEL", MODEL)
    openai_env.setenv("OPENAI_API_KEY", API_KEY)
    fake_openai.then(Reply.good("how_to"), Reply.raw("not json at all"), Reply.http_error(502))
    tickets = tmp_path / "t.jsonl"
    rows = [
        {"id": "a", "body": "How do I export my data to CSV from the reports page?"},
        {"id": "b", "body": "Secret body text that must never reach a log line"},
        {"id": "c", "body": "Another ticket body about invoices and payments"},
    ]
    tickets.write_text("".join(json.dumps(r) + "\n" for r in rows))

    with caplog.at_level(logging.DEBUG):
        code = main(["classify", str(tickets), "--format", "jsonl"])

    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    assert [o["ticket_id"] for o in out] == ["a", "b", "c"]
    assert out[0]["tag"] == "how_to"
    for failed, why in ((out[1], "invalid LLM answer"), (out[2], "HTTP 502")):
        assert failed["decision"] == "review" and failed["confidence"] == 0.0
        assert any(r.startswith("llm_error: ") and why in r for r in failed["reasons"])
    assert len(fake_openai.requests) == 3
    assert "Secret body text" not in caplog.text
