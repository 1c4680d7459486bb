"""Fixtures for the helpdesk source tests: a legacy helpdesk in each real database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.db import make_engine
from bot.settings import Settings
from bot.source.poller import SourcePoller
from bot.store import Store
from tests.conftest import make_settings
from tests.source.legacy import TICKET_QUERY, LegacyHelpdesk


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def helpdesk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LegacyHelpdesk]:
    legacy = LegacyHelpdesk(request.param, tmp_path)
    try:
        yield legacy
    finally:
        legacy.drop()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """The bot's own store: a migrated SQLite file, and PostgreSQL with TEST_DATABASE_URL."""
    engine = make_engine(database_url)
    yield Store(engine)
    engine.dispose()


def source_settings(helpdesk: LegacyHelpdesk, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "source_database_url": helpdesk.url,
        "source_query": TICKET_QUERY,
        "source_cursor_column": "seq",
        "source_start": "all",
        "source_lookback_seconds": 600,
    }
    values.update(overrides)
    return make_settings(**values)


def make_poller(helpdesk: LegacyHelpdesk, store: Store, **overrides: Any) -> SourcePoller:
    settings = source_settings(helpdesk, str(store.engine.url), **overrides)
    return SourcePoller(settings, store)
