"""The cost of one batch or one Slack call's bookkeeping does not grow with what is behind
it: the claim reads only the tickets it takes, a claimed batch is moved out of `new` by its
keys, and queued Slack calls are claimed, released or superseded by their ids however many
are queued or were sent before.

Measured in SQLite virtual-machine steps (a progress handler), not in seconds: the count
is the same on any machine, and a plan that walks the backlog multiplies it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, event, text

from bot.app import build_runtime
from bot.db import make_engine, upgrade
from bot.store import OutboxItem, Store
from bot.tickets import TicketIn
from tests.conftest import TRIAGE_CHANNEL, make_settings
from tests.reliability.helpers import tickets

BATCH = 50
STEP = 100  # the handler runs once per this many virtual-machine instructions
GROWTH = 20  # how many times longer the long backlog is than the short one


def steps(engine: Engine, work: Callable[[], object]) -> int:
    """SQLite virtual-machine steps (in STEPs) that `work` costs on `engine`'s connections."""
    counted = [0]

    def count() -> int:
        counted[0] += 1
        return 0  # 0: carry on

    def on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.set_progress_handler(count, STEP)

    event.listen(engine, "connect", on_connect)
    engine.dispose()  # every connection from now on counts
    try:
        work()
    finally:
        event.remove(engine, "connect", on_connect)
        engine.dispose()
    return counted[0]


def steps_for_one_batch(tmp_path: Path, backlog: int, policies_dir: Path) -> int:
    """Steps the worker spends classifying and recording one batch of BATCH tickets, with
    `backlog` tickets waiting in `new`."""
    url = f"sqlite:///{tmp_path / f'backlog-{backlog}.db'}"
    upgrade(url)
    runtime = build_runtime(
        make_settings(
            database_url=url, slack_api_url="http://127.0.0.1:9", policies_dir=policies_dir
        )
    )
    try:
        runtime.service.intake([TicketIn.from_raw(t) for t in tickets(backlog)], "webhook")

        def one_batch() -> None:
            assert runtime.service.process_new(limit=BATCH, batch=BATCH) == BATCH

        return steps(runtime.engine, one_batch)
    finally:
        runtime.engine.dispose()


def assert_flat(measure: Callable[[int], int], small: int) -> None:
    """`measure` of GROWTH times `small` stays within half again of `measure` of `small`."""
    short, long = measure(small), measure(GROWTH * small)
    assert short > 0
    assert long < 1.5 * short, (short, long)


def test_a_batch_costs_the_same_behind_a_long_backlog(tmp_path: Path, policies_dir: Path):
    # The batch's own rows are the same. Walking the backlog once per statement made the
    # longer one cost over five times as much.
    assert_flat(lambda backlog: steps_for_one_batch(tmp_path, backlog, policies_dir), 2 * BATCH)


def outbox_with(tmp_path: Path, sent: int, queued: int) -> Store:
    """A store whose outbox holds `sent` posts Slack accepted and `queued` ones waiting."""
    url = f"sqlite:///{tmp_path / f'outbox-{sent}-{queued}.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    with store.session() as session:
        store._enqueue(
            session,
            [
                OutboxItem(
                    dedupe_key=f"{kind}-{i}",
                    method="chat.postMessage",
                    payload={"channel": TRIAGE_CHANNEL, "text": f"post {i}"},
                )
                for kind, count in (("sent", sent), ("queued", queued))
                for i in range(count)
            ],
        )
        session.commit()
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE outbox SET status = 'sent', result_channel = :channel,"
                " result_ts = '1700000000.' || id WHERE dedupe_key LIKE 'sent-%'"
            ),
            {"channel": TRIAGE_CHANNEL},
        )
    return store


def queue_updates(store: Store) -> list[int]:
    """Queue five chat.update calls and claim them, as the update lane does (the claim
    also looks for newer updates of the same messages); their outbox ids."""
    store.enqueue(
        [
            OutboxItem.message_update(f"update-{i}", TRIAGE_CHANNEL, f"1700000000.{i}", "x", [])
            for i in range(5)
        ]
    )
    claimed = store.claim_outbox(10, timedelta(minutes=1), only_methods=["chat.update"])
    assert len(claimed) == 5
    return [row.id or 0 for row in claimed]


def give_back_and_supersede(store: Store, ids: list[int]) -> None:
    store.outbox_release(ids[:2])
    store.outbox_superseded(ids[2:4])


def steps_on_outbox(
    tmp_path: Path, sent: int, queued: int, prepare: Callable[[Store], Callable[[], object]]
) -> int:
    """Steps of the work `prepare(store)` returns, on an outbox of `sent` sent and `queued`
    queued posts (what `prepare` itself does is not counted)."""
    store = outbox_with(tmp_path, sent=sent, queued=queued)
    try:
        return steps(store.engine, prepare(store))
    finally:
        store.engine.dispose()


def test_update_bookkeeping_costs_the_same_behind_a_long_history(tmp_path: Path):
    def behind_history(sent: int) -> int:
        return steps_on_outbox(
            tmp_path,
            sent,
            10,
            lambda store: lambda: give_back_and_supersede(store, queue_updates(store)),
        )

    assert_flat(behind_history, 100)


def test_giving_back_and_superseding_cost_the_same_behind_a_long_queue(tmp_path: Path):
    def behind_queue(queued: int) -> int:
        def prepare(store: Store) -> Callable[[], None]:
            ids = queue_updates(store)
            return lambda: give_back_and_supersede(store, ids)

        return steps_on_outbox(tmp_path, 0, queued, prepare)

    assert_flat(behind_queue, 100)


def test_claiming_posts_costs_the_same_behind_a_long_queue(tmp_path: Path):
    def claim_ten(store: Store) -> Callable[[], object]:
        return lambda: store.claim_outbox(10, timedelta(minutes=1), skip_methods=["chat.update"])

    assert_flat(lambda queued: steps_on_outbox(tmp_path, 0, queued, claim_ten), 100)
