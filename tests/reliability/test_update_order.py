"""A message never ends up showing an older update than the newest one queued for it.

Each chat.update replaces the whole message, so what Slack shows last must be the newest
update. A click's update is handed straight to the sender while a rebuild queued by an
earlier click (or a retry) may be in the update lane: whichever path holds the older one,
it is superseded once a newer one of the same message exists, never sent after it. Real
databases (SQLite file, PostgreSQL when its URL is set) and a local Slack Web API server.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.models import OutboxStatus
from bot.outbox import UPDATES
from bot.pacing import ChannelPacer
from bot.store import OutboxItem, Store
from tests.fakes.slack_api import FakeSlack
from tests.reliability.helpers import handing, review_ticket, sender, store_of
from tests.reliability.test_handed_updates import _decide


def _rebuild(store: Store, key: str, text: str, ts: str = "1.1") -> None:
    """A rebuild of the message queued outside a click (to the lane), as a settle does."""
    assert store.enqueue([OutboxItem.message_update(key, "C1", ts, text, [])]) == 1


def _shown(fake_slack: FakeSlack, ts: str = "1.1") -> list[str]:
    return [c.params["text"] for c in fake_slack.of("chat.update") if c.params["ts"] == ts]


def _row(store: Store, key: str):
    return next(m for m in store.outbox_messages() if m.dedupe_key == key)


def _status(store: Store, key: str) -> str:
    return _row(store, key).status


def _id(store: Store, key: str) -> int:
    row_id = _row(store, key).id
    assert row_id is not None
    return row_id


async def test_a_rebuild_left_in_the_lane_is_superseded_by_a_newer_handed_update(
    store: Store, fake_slack: FakeSlack
):
    review_ticket(store, "T1")
    _rebuild(store, "rebuild-1", "stale: T1 still has buttons")
    async with handing(store, fake_slack.api_url) as dispatcher:
        assert _decide(store, "T1", text="T1 approved").applied  # handed, sent at once
        await dispatcher.finish_handed(10)
    assert _shown(fake_slack) == ["T1 approved"]

    # Another process's lane (no memory of what this one sent) claims the older rebuild:
    # the store answers that a newer update of the message exists, so it is not sent.
    assert await sender(store, fake_slack.api_url).drain(UPDATES) == 0
    assert _shown(fake_slack) == ["T1 approved"]
    assert _status(store, "rebuild-1") == OutboxStatus.SUPERSEDED.value
    assert _status(store, "update:T1") == OutboxStatus.SENT.value


async def test_an_update_claimed_just_before_a_newer_one_was_handed_is_not_sent_after_it(
    database_url: str, fake_slack: FakeSlack
):
    # The race seen under load: the lane claims the older rebuild, and before it sends it
    # a click's newer update of the same message is committed, handed over and sent.

    class ClickDuringClaim(Store):
        """A real store whose update claim lets a click commit right after it (the race)."""

        during_claim: Callable[[], None] | None = None

        def claim_outbox(self, *args, **kwargs):
            rows = super().claim_outbox(*args, **kwargs)
            click, self.during_claim = self.during_claim, None
            if click is not None:
                click()
            return rows

    with store_of(ClickDuringClaim, database_url) as store:
        async with handing(store, fake_slack.api_url) as dispatcher:
            review_ticket(store, "T2")
            _rebuild(store, "rebuild-2", "stale: T2 still has buttons")
            store.during_claim = lambda: _decide(store, "T2", text="T2 approved")
            assert await dispatcher.drain(UPDATES) == 0  # the claimed rebuild was superseded
            await dispatcher.finish_handed(10)
        assert _shown(fake_slack) == ["T2 approved"]
        assert _status(store, "rebuild-2") == OutboxStatus.SUPERSEDED.value
        assert _status(store, "update:T2") == OutboxStatus.SENT.value


async def test_a_failed_update_retried_after_a_newer_one_went_out_is_superseded(
    store: Store, fake_slack: FakeSlack
):
    dispatcher = sender(store, fake_slack.api_url)
    _rebuild(store, "rebuild-3", "first")
    fake_slack.fail_next("chat.update", status=500, body={"ok": False, "error": "internal"})
    assert await dispatcher.drain(UPDATES) == 0  # failed: queued again for a retry
    _rebuild(store, "rebuild-4", "second")
    # The retry falls due and the failure's cool-down is over.
    store.outbox_release([_id(store, "rebuild-3")])
    dispatcher.update_pacer = ChannelPacer(rate=0, burst=1)
    assert await dispatcher.drain(UPDATES) == 1
    assert _shown(fake_slack) == ["first", "second"]  # the failed try, then the newest
    assert _status(store, "rebuild-3") == OutboxStatus.SUPERSEDED.value
    assert _status(store, "rebuild-4") == OutboxStatus.SENT.value
    assert [c.ok for c in fake_slack.of("chat.update")] == [False, True]


async def test_updates_of_different_messages_do_not_supersede_each_other(
    store: Store, fake_slack: FakeSlack
):
    _rebuild(store, "one", "message one", ts="1.1")
    _rebuild(store, "two", "message two", ts="2.2")
    _rebuild(store, "three", "message one again", ts="1.1")
    assert await sender(store, fake_slack.api_url).drain(UPDATES) == 2
    assert _shown(fake_slack, "1.1") == ["message one again"]
    assert _shown(fake_slack, "2.2") == ["message two"]
    assert _status(store, "one") == OutboxStatus.SUPERSEDED.value
