"""Classifying a batch costs the same however long the backlog behind it is: the claim
reads only the tickets it takes, and moving them out of `new` finds each by its key.

Measured in SQLite virtual-machine steps (a progress handler), not in seconds: the count
is the same on any machine, and a plan that walks the backlog multiplies it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from bot.app import build_runtime
from bot.db import upgrade
from bot.tickets import TicketIn
from tests.conftest import make_settings
from tests.reliability.helpers import tickets

BATCH = 50
STEP = 100  # the handler runs once per this many virtual-machine instructions


def steps_for_one_batch(tmp_path: Path, backlog: int, policies_dir: Path) -> int:
    """SQLite steps spent by the worker classifying and recording one batch of BATCH
    tickets, with `backlog` tickets waiting in `new`."""
    url = f"sqlite:///{tmp_path / f'backlog-{backlog}.db'}"
    upgrade(url)
    runtime = build_runtime(
        make_settings(
            database_url=url, slack_api_url="http://127.0.0.1:9", policies_dir=policies_dir
        )
    )
    try:
        runtime.service.intake([TicketIn.from_raw(t) for t in tickets(backlog)], "webhook")
        counted = [0]

        def count() -> int:
            counted[0] += 1
            return 0  # 0: carry on

        @event.listens_for(runtime.engine, "connect")
        def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.set_progress_handler(count, STEP)

        runtime.engine.dispose()  # every connection from now on counts
        assert runtime.service.process_new(limit=BATCH, batch=BATCH) == BATCH
        return counted[0]
    finally:
        runtime.engine.dispose()


def test_a_batch_costs_the_same_behind_a_long_backlog(tmp_path: Path, policies_dir: Path):
    short = steps_for_one_batch(tmp_path, 2 * BATCH, policies_dir)
    long = steps_for_one_batch(tmp_path, 40 * BATCH, policies_dir)
    assert short > 0
    # Twenty times the backlog; the batch's own rows are the same. Walking the backlog
    # once per statement made this about ten times as much.
    assert long < 1.5 * short, (short, long)
