"""Upgrading records the controls of messages sent before the upgrade, so clicks on
existing proposals and pages keep working."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import text

from bot.db import alembic_config, make_engine, upgrade
from bot.store import Store


def test_upgrade_backfills_controls_from_sent_messages(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0006_ownership")
    engine = make_engine(url)
    payload = {
        "channel": "C0TRIAGE",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "x"}},
            {"type": "actions", "block_id": "handoff:OLD-1", "elements": []},
        ],
    }
    with engine.begin() as connection:
        for key, status, ts in (("a", "sent", "1.000001"), ("b", "pending", None)):
            connection.execute(
                text(
                    "INSERT INTO outbox (dedupe_key, method, payload, ticket_id, purpose, priority,"
                    " status, attempts, next_attempt_at, created_at, result_channel, result_ts)"
                    " VALUES (:key, 'chat.postMessage', :payload, 'OLD-1', 'handoff', 10,"
                    " :status, 1, '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'C0TRIAGE', :ts)"
                ),
                {"key": key, "payload": json.dumps(payload), "status": status, "ts": ts},
            )
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    try:
        store = Store(engine)
        assert store.controls_at("C0TRIAGE", "1.000001") == {"handoff:OLD-1"}
        assert store.shows_control("C0TRIAGE", "1.000001", "handoff:OLD-1")
    finally:
        engine.dispose()
