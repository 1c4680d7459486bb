"""Fixtures for CLASSIFIER=openai: a local OpenAI-compatible server and classifiers on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import Engine

from bot.app import build_runtime, running
from bot.classifier.keywords import KeywordClassifier
from bot.classifier.openai_llm import OpenAIClassifier, build_openai_classifier
from bot.db import make_engine
from bot.settings import Settings
from tests.conftest import BotUnderTest, make_settings
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack

API_KEY = "sk-test-key-for-the-fake-server"
MODEL = "fake-model"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server = FakeOpenAI().start()
    yield server
    server.stop()


def openai_settings(fake: FakeOpenAI, **overrides: Any) -> Settings:
    """Short timeouts and retries keep the suite fast; production allows up to 10 s."""
    values: dict[str, Any] = {
        "classifier": "openai",
        "openai_base_url": fake.base_url,
        "openai_api_key": API_KEY,
        "openai_model": MODEL,
        "openai_timeout_seconds": 0.5,
        "openai_max_retries": 1,
        "openai_backoff_seconds": 0.01,
    }
    values.update(overrides)
    return make_settings(**values)


@pytest.fixture
def make_llm(fake_openai: FakeOpenAI) -> Iterator[Callable[..., OpenAIClassifier]]:
    """Build an OpenAIClassifier on the fake server; pass engine= for the DB-backed budget.

    The local model is the deterministic keyword classifier, so these tests do not depend
    on a trained model file; the running-bot tests use `load_classifier("openai")` whole.
    """
    built: list[OpenAIClassifier] = []

    def build(engine: Engine | None = None, **overrides: Any) -> OpenAIClassifier:
        settings = openai_settings(fake_openai, **overrides)
        classifier = build_openai_classifier(settings, KeywordClassifier(), engine)
        built.append(classifier)
        return classifier

    yield build
    for classifier in built:
        classifier.client.close()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
async def openai_bot(
    database_url: str, fake_slack: FakeSlack, fake_openai: FakeOpenAI, policies_dir: Path
) -> AsyncIterator[BotUnderTest]:
    """The real bot with CLASSIFIER=openai pointed at the fake server."""
    settings = openai_settings(
        fake_openai,
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
    )
    runtime = build_runtime(settings)
    async with running(runtime, "127.0.0.1", 0) as port, aiohttp.ClientSession() as http:
        yield BotUnderTest(runtime, f"http://127.0.0.1:{port}", fake_slack, http)
