"""Delivers queued Slack Web API calls: pacing, Retry-After, retries, and never losing a post.

Guarantee (README "Reliability and scale"): every Slack call is written to the store in
the same transaction as the state change that causes it, before it is sent, and is
marked sent only after Slack accepted it. A call is retried until Slack accepts it (or,
for non-essential calls, answers a permanent error). A crash between Slack's answer and
that mark can repeat that one call: at most one call per channel is in flight per
process. A click's chat.update is marked a moment later, once a burst of them is over,
so a crash can repeat a few of those: each replaces its message with the same content,
in order. Nothing else is duplicated and nothing is lost.

Several processes may run this at once: rows are claimed with `FOR UPDATE SKIP LOCKED`
and a lease (`OUTBOX_LEASE_SECONDS`); a row whose process died is sent by another one
when its lease runs out.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import observability
from bot.group_commit import GroupCommit
from bot.models import OutboxMessage
from bot.outbound import METHOD as WEBHOOK_METHOD
from bot.outbound import WebhookSender
from bot.pacing import ChannelPacer
from bot.store import Store

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_AFTER_SECONDS = 3600.0
# After a transport error or 5xx, wait this long (at most) before probing the channel again.
FAILURE_COOLDOWN_SECONDS = 5.0
# A pass keeps only the rows pacing lets out within this many seconds; the rest are
# released so the next pass picks the most urgent rows again.
PACING_HORIZON_SECONDS = 0.25
# A pass stops after this long and gives back what it did not send: a post queued during
# a pass waits at most about this long behind less urgent ones. Well under any lease.
PASS_SECONDS = 0.5
# Channels sent to concurrently by one process; each channel is sent to in order.
CONCURRENT_CHANNELS = 8
# chat.update calls in flight at once (each to a different message), within their bucket.
CONCURRENT_UPDATES = 16
# Posts wait until no click's update was handed over for this long (see _updates_first).
HANDED_QUIET_SECONDS = 0.05
# A handed chat.update is marked sent once updates are quiet (as for posts), or after this long.
LATE_MARK_SECONDS = 1.0
LATE_MARK_POLL_SECONDS = 0.05
# Messages whose newest sent update a process remembers (older updates found later are
# superseded, not sent); beyond that the store's claim check still holds.
NEWEST_SENT_MEMORY = 10_000
# Errors that retrying cannot fix for this call.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "message_not_found",
        "cant_update_message",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "edit_window_closed",
    }
)
# Posts a human must see are retried even on "permanent" errors: the operator can fix
# the channel or the token, and the ticket is delivered then.
MUST_DELIVER = frozenset({"proposal", "handoff"})

SENT, RETRY, FAILED, RATE_LIMITED = "sent", "retry", "failed", "rate_limited"

# chat.update (a click's answer) has its own lane and rate bucket: Slack's tier 3 for the
# method, per workspace, apart from the one-post-a-second bucket of each channel. So an
# update is claimed, paced and sent without ever waiting behind a backlog of proposals.
UPDATE_METHODS = frozenset({"chat.update"})
UPDATE_BUCKET = "method:chat.update"
UPDATES, POSTS = "updates", "posts"


def _backoff(attempts: int, cap: float = MAX_BACKOFF_SECONDS) -> timedelta:
    return timedelta(seconds=min(cap, 2 ** min(max(attempts, 0), 12) / 2))


def _retry_after(exc: SlackApiError) -> float:
    """Slack's Retry-After in seconds (1 when missing or unreadable)."""
    headers = getattr(exc.response, "headers", None) or {}
    raw = headers.get("Retry-After") or headers.get("retry-after") or "1"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = 1.0
    return min(max(value, 0.0), MAX_RETRY_AFTER_SECONDS)


def _channel(row: OutboxMessage) -> str:
    return str(row.payload.get("channel") or "")


class OutboxDispatcher:
    """Sends due outbox rows, most urgent first, paced per channel."""

    def __init__(
        self,
        store: Store,
        client: AsyncWebClient,
        batch: int = 50,
        *,
        lease: timedelta = LEASE,
        pacer: ChannelPacer | None = None,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        webhooks: WebhookSender | None = None,
        update_pacer: ChannelPacer | None = None,
    ) -> None:
        self.store = store
        self.webhooks = webhooks or WebhookSender(None)
        self.client = client
        self.batch = batch
        self.lease = lease
        self.pacer = pacer or ChannelPacer(rate=0, burst=1)
        self.update_pacer = update_pacer or ChannelPacer(rate=0, burst=1)
        self.max_backoff = max_backoff
        self.last_error: str | None = None
        self.failing_since: float | None = None  # time.time() of the first failure in a row
        self.last_sent_at: float | None = None
        self._limit = asyncio.Semaphore(CONCURRENT_CHANNELS)
        # Set on shutdown: a drain finishes the pass it is in (sends and their marks) and
        # claims nothing more, so a stopping process never abandons a call Slack accepted.
        self.stopping = False
        self._update_limit = asyncio.Semaphore(CONCURRENT_UPDATES)
        # Set while no update pass runs: posts wait for it before each claim, so a burst of
        # clicks has the process (and the store) to itself until its updates are out.
        self._updates_idle = asyncio.Event()
        self._updates_idle.set()
        # Calls Slack accepted at about the same time are marked sent in one transaction.
        self._marks: GroupCommit[tuple[int, str | None, str | None], None] = GroupCommit(
            lambda marks: self.store.outbox_sent_many(marks)
        )
        self._update_pass = False
        # chat.update rows handed over by the transition that queued them (hand_updates):
        # leased to this process at birth, sent at once without a claim. One message's
        # updates go out in order (a lock per message). Once an update went to the lane
        # (pacing, a retry), later ones queue behind it there, until a claim finds the lane
        # empty (`_deferred`: message -> claim count when its update was sent there).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handed: set[asyncio.Task[None]] = set()
        self._message_locks: dict[str, tuple[asyncio.Lock, int]] = {}
        # Message -> id of the newest update this process sent to it. Both paths send a
        # message's updates under its lock, and an older one found waiting is superseded,
        # never sent after a newer one (see Store._drop_superseded for the other processes).
        self._newest_sent: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._deferred: dict[str, int] = {}
        self._claims = 0
        self.handed_at = float("-inf")  # time.monotonic() of the latest handed row
        self.wake_updates: Callable[[], None] = lambda: None  # set by the worker
        self._late_marks: list[tuple[int, str | None, str | None]] = []
        self._late_since = 0.0
        self._late_task: asyncio.Task[None] | None = None

    # --- the loop ---------------------------------------------------------------------------

    async def drain(self, lane: str | None = None) -> int:
        """Send everything that may be sent now; returns how many calls Slack accepted.

        `lane` is UPDATES (chat.update only), POSTS (everything else) or None (updates
        first, then posts): the worker runs one task per lane.
        """
        if lane is None:
            return await self.drain(UPDATES) + await self.drain(POSTS)
        if lane == UPDATES:
            self._update_pass = True
            self._updates_idle.clear()
            try:
                return await self._drain(lane)
            finally:
                self._update_pass = False
                if not self._handed:
                    self._updates_idle.set()
        return await self._drain(lane)

    async def _drain(self, lane: str) -> int:
        sent = 0
        while not self.stopping:
            if lane == POSTS:
                # Updates go first: bounded, so a stuck update pass never stops the posts.
                await self._updates_first(PASS_SECONDS)
            if lane == UPDATES:
                if self.update_pacer.wait_for(UPDATE_BUCKET) > PACING_HORIZON_SECONDS:
                    return sent
                claim = {"only_methods": UPDATE_METHODS}
                waiting: set[str] = set()
            else:
                claim = {"skip_methods": UPDATE_METHODS}
                waiting = {c for c, w in self.pacer.waiting().items() if w > PACING_HORIZON_SECONDS}
            self._claims += 1
            started = self._claims
            rows = await asyncio.to_thread(
                functools.partial(
                    self.store.claim_outbox, self.batch, self.lease, list(waiting), **claim
                )
            )
            if not rows:
                if lane == UPDATES:  # what was sent to the lane before this claim is out
                    self._deferred = {k: n for k, n in self._deferred.items() if n >= started}
                return sent
            claimed_at = time.monotonic()
            groups: dict[str, list[OutboxMessage]] = {}
            for row in rows:
                groups.setdefault(self._group(row), []).append(row)
            counts = await asyncio.gather(
                *(
                    self._send_channel(self._bucket(group[0]), group, claimed_at)
                    for group in groups.values()
                )
            )
            sent += sum(counts)

    async def _updates_first(self, timeout: float) -> None:
        """Wait (at most `timeout`) until no update is being sent and none was handed over
        for HANDED_QUIET_SECONDS: during a burst of clicks the next one is a few
        milliseconds away, and its answer goes before any post."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if not self._updates_idle.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_idle.wait(), timeout=left)
                continue
            quiet = time.monotonic() - self.handed_at
            if quiet >= HANDED_QUIET_SECONDS:
                return
            await asyncio.sleep(min(HANDED_QUIET_SECONDS - quiet, left))

    def _bucket(self, row: OutboxMessage) -> str:
        """The rate bucket a row spends from: its channel, or the chat.update bucket."""
        return UPDATE_BUCKET if row.method in UPDATE_METHODS else _channel(row)

    def _group(self, row: OutboxMessage) -> str:
        """Rows sent in order, one after another: a channel's posts, or one message's
        updates. Different messages' updates go out side by side."""
        if row.method in UPDATE_METHODS:
            return f"{UPDATE_BUCKET}:{_channel(row)}:{row.payload.get('ts') or row.id}"
        return _channel(row)

    def _pacer(self, bucket: str) -> ChannelPacer:
        return self.update_pacer if bucket == UPDATE_BUCKET else self.pacer

    def next_wake(self, lane: str | None = None) -> float | None:
        """Seconds until a paced or held bucket may be sent to again (None: none waits)."""
        pacers = {UPDATES: [self.update_pacer], POSTS: [self.pacer]}.get(
            lane or "", [self.pacer, self.update_pacer]
        )
        waits = [w - PACING_HORIZON_SECONDS for p in pacers for w in p.waiting().values()]
        return max(0.0, min(waits)) if waits else None

    async def _send_channel(
        self, channel: str, rows: Sequence[OutboxMessage], claimed_at: float
    ) -> int:
        """Send one channel's rows in order, paced; stop at a 429 or a failure.

        Rows that pacing would not let out within PACING_HORIZON_SECONDS go back to the
        queue at once, and so does whatever is left after PASS_SECONDS, so a later, more
        urgent post is not stuck behind them.
        """
        sent = 0
        pacer = self._pacer(channel)
        keep = pacer.sendable_within(channel, PACING_HORIZON_SECONDS)
        if keep < len(rows):
            await self._release(rows[keep:])
            rows = rows[:keep]
        updates = channel == UPDATE_BUCKET
        turn = self._message_turn(self._group(rows[0])) if updates and rows else None
        async with turn or contextlib.nullcontext(), self._update_limit if updates else self._limit:
            if updates:
                rows = await self._without_superseded(rows)
            for index, row in enumerate(rows):
                wait = pacer.wait_for(channel)
                budget = min(self.lease.total_seconds() / 2, PASS_SECONDS)
                if wait > PACING_HORIZON_SECONDS or time.monotonic() + wait - claimed_at > budget:
                    await self._release(rows[index:])
                    break
                if wait > 0:
                    await asyncio.sleep(wait)
                if not pacer.try_take(channel):
                    await self._release(rows[index:])
                    break
                outcome = await self._send(row, channel)
                if outcome == SENT:
                    sent += 1
                elif outcome in (RETRY, RATE_LIMITED):
                    await self._release(rows[index + 1 :])
                    break
        return sent

    # --- chat.update handed over by its transition -------------------------------------------

    @property
    def _lease_seconds(self) -> float:
        return self.lease.total_seconds()

    def hand_updates(self) -> None:
        """Take this process's chat.update rows straight from their transitions (call from
        the event loop that sends them; Store.hand_updates_to)."""
        self._loop = asyncio.get_running_loop()
        self.store.hand_updates_to(self.take_updates, self.lease)

    def stop_handing(self) -> None:
        self.store.hand_updates_to(None)

    def take_updates(self, rows: Sequence[OutboxMessage]) -> None:
        """Committed, leased chat.update rows from a transition, in any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            raise RuntimeError("no event loop sends the handed updates")
        loop.call_soon_threadsafe(self._start_handed, list(rows))

    def _start_handed(self, rows: list[OutboxMessage]) -> None:
        self.handed_at = time.monotonic()
        self._updates_idle.clear()  # posts wait for these too
        for row in rows:
            task = asyncio.create_task(self._send_handed(row, self.handed_at))
            self._handed.add(task)
            task.add_done_callback(self._handed_done)

    def _handed_done(self, task: asyncio.Task[None]) -> None:
        self._handed.discard(task)
        if not self._handed and not self._update_pass:
            self._updates_idle.set()

    async def finish_handed(self, timeout: float) -> None:
        """Let the handed updates in flight end (sent and marked, or given back)."""
        await asyncio.sleep(0)  # rows handed over just now start their sends first
        started = time.monotonic()
        if self._handed:
            await asyncio.wait(set(self._handed), timeout=timeout)
        left = max(0.0, timeout - (time.monotonic() - started))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._late_marks_written(), timeout=left)

    async def _late_marks_written(self) -> None:
        """Write the marks still waiting, and wait for a write already under way: the
        late-mark task may have taken the marks a moment ago and be writing them now."""
        await self._write_late_marks(now=True)
        task = self._late_task
        if task is not None and task is not asyncio.current_task():
            await asyncio.shield(task)

    @contextlib.asynccontextmanager
    async def _message_turn(self, key: str) -> AsyncIterator[None]:
        """One message's updates are sent one at a time, handed or from the lane, in the
        order they asked (asyncio.Lock is first come, first served)."""
        lock, users = self._message_locks.get(key) or (asyncio.Lock(), 0)
        self._message_locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._message_locks[key]
            if users <= 1:
                del self._message_locks[key]
            else:
                self._message_locks[key] = (lock, users - 1)

    async def _without_superseded(self, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
        """Drop (and mark superseded) the updates older than one this process already sent
        to the same message: call with the message's turn held."""
        keep: list[OutboxMessage] = []
        dropped: list[int] = []
        for row in rows:
            newest = self._newest_sent.get(self._group(row), 0)
            if row.id is not None and row.id < newest:
                dropped.append(row.id)
            else:
                keep.append(row)
        if dropped:
            await asyncio.to_thread(self.store.outbox_superseded, dropped)
        return keep

    def _note_sent(self, row: OutboxMessage) -> None:
        """Remember the newest update sent to each recent message (a bounded memory)."""
        key = self._group(row)
        self._newest_sent[key] = max(row.id or 0, self._newest_sent.get(key, 0))
        self._newest_sent.move_to_end(key)
        while len(self._newest_sent) > NEWEST_SENT_MEMORY:
            self._newest_sent.popitem(last=False)

    async def _send_handed(self, row: OutboxMessage, handed_at: float) -> None:
        key = self._group(row)
        try:
            async with self._message_turn(key):
                if not await self._without_superseded([row]):
                    return
                if time.monotonic() - handed_at > self._lease_seconds / 2:
                    # Waited so long its lease may be running out: the lane has it then.
                    self._deferred[key] = self._claims
                    return
                if self.stopping or self._deferred or not self.update_pacer.try_take(UPDATE_BUCKET):
                    # The lane sends it, paced, after the updates already waiting there
                    # (first come, first served; one message's updates in order).
                    await self._release([row])
                    self._deferred[key] = self._claims
                    self.wake_updates()
                    return
                async with self._update_limit:
                    outcome = await self._send(row, UPDATE_BUCKET, mark_later=True)
                if outcome != SENT:  # retried by the lane: later updates must not overtake
                    self._deferred[key] = self._claims
        except Exception:  # left leased: the lane sends it when the lease runs out
            log.exception("a handed chat.update failed (outbox id %s)", row.id)

    async def _release(self, rows: Sequence[OutboxMessage]) -> None:
        ids = [row.id for row in rows if row.id is not None]
        if ids:
            await asyncio.to_thread(self.store.outbox_release, ids)

    # --- one call ---------------------------------------------------------------------------

    async def _send(self, row: OutboxMessage, channel: str, *, mark_later: bool = False) -> str:
        assert row.id is not None
        if row.method == WEBHOOK_METHOD:
            return await self._send_webhook(row, channel)
        try:
            response = await self.client.api_call(row.method, json=row.payload)
        except SlackApiError as exc:
            return await self._slack_error(row, channel, exc)
        except Exception as exc:  # timeouts, refused connections, garbage answers
            return await self._transient(row, channel, type(exc).__name__)
        data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
        if row.method in UPDATE_METHODS:
            self._note_sent(row)
        mark = (row.id, data.get("channel") or _channel(row) or None, data.get("ts"))
        if mark_later:
            self._mark_later(mark)
        else:
            await self._marks.submit(mark)
        self._recovered()
        return SENT

    # --- marks of handed updates, after the burst ---------------------------------------------

    def _mark_later(self, mark: tuple[int, str | None, str | None]) -> None:
        """Mark a handed chat.update sent once the burst of them is over (or within
        LATE_MARK_SECONDS): the marks then share one transaction and stay off the path
        of the clicks still waiting. Until marked, the row stays leased to this process, so
        nothing here sends it twice; after a crash the lane sends it again when the lease
        runs out, which repeats a chat.update with the same content, in order."""
        if not self._late_marks:
            self._late_since = time.monotonic()
        self._late_marks.append(mark)
        if self._late_task is None or self._late_task.done():
            self._late_task = asyncio.create_task(self._write_late_marks())

    async def _write_late_marks(self, *, now: bool = False) -> None:
        while self._late_marks:
            waited = time.monotonic() - self._late_since
            busy = self._handed or time.monotonic() - self.handed_at < HANDED_QUIET_SECONDS
            # Well inside the lease, which keeps the lane from sending the row again.
            if not now and busy and waited < min(LATE_MARK_SECONDS, self._lease_seconds / 4):
                await asyncio.sleep(LATE_MARK_POLL_SECONDS)
                continue
            marks, self._late_marks = self._late_marks, []
            self._late_since = time.monotonic()
            try:
                await asyncio.to_thread(self.store.outbox_sent_many, marks)
            except Exception:  # left leased: sent again (same content) when the lease ends
                log.exception("could not mark %d chat.update calls sent", len(marks))

    async def _send_webhook(self, row: OutboxMessage, channel: str) -> str:
        """An outbound decision webhook: retried like a Slack call, in its own lane."""
        assert row.id is not None
        delivery = await self.webhooks.post(row.payload, row.dedupe_key)
        if delivery.accepted:
            await asyncio.to_thread(self.store.outbox_sent, row.id, None, None)
            return SENT
        if delivery.permanent:
            log.error("webhook refused permanently: %s (outbox id %s)", delivery.error, row.id)
            await asyncio.to_thread(self.store.outbox_failed, row.id, delivery.error or "refused")
            return FAILED
        if delivery.retry_after is not None:
            self.pacer.hold(channel, delivery.retry_after)
            await asyncio.to_thread(
                self.store.outbox_retry,
                row.id,
                delivery.error or "retry",
                timedelta(seconds=delivery.retry_after),
            )
            return RATE_LIMITED
        delay = _backoff(row.attempts, self.max_backoff)
        self.pacer.hold(channel, min(delay.total_seconds(), FAILURE_COOLDOWN_SECONDS))
        log.warning(
            "webhook delivery failed (%s), attempt %d; retrying in %.1fs (outbox id %s)",
            delivery.error,
            row.attempts,
            delay.total_seconds(),
            row.id,
        )
        await asyncio.to_thread(self.store.outbox_retry, row.id, delivery.error or "failed", delay)
        return RETRY

    def _recovered(self) -> None:
        self.last_sent_at = time.time()
        if self.failing_since is not None:
            log.info("slack accepts calls again after %.0fs", time.time() - self.failing_since)
        self.failing_since = None
        self.last_error = None

    async def _transient(self, row: OutboxMessage, channel: str, error: str) -> str:
        assert row.id is not None
        observability.slack_error(row.method, error.split(" (HTTP", 1)[0])
        self.last_error = error
        if self.failing_since is None:
            self.failing_since = time.time()
        delay = _backoff(row.attempts, self.max_backoff)
        self._pacer(channel).hold(channel, min(delay.total_seconds(), FAILURE_COOLDOWN_SECONDS))
        log.warning(
            "slack %s failed (%s), attempt %d; retrying in %.1fs (outbox id %s)",
            row.method,
            error,
            row.attempts,
            delay.total_seconds(),
            row.id,
        )
        await asyncio.to_thread(self.store.outbox_retry, row.id, error, delay)
        return RETRY

    async def _slack_error(self, row: OutboxMessage, channel: str, exc: SlackApiError) -> str:
        assert row.id is not None
        status = getattr(exc.response, "status_code", 0) or 0
        error = str(exc.response.get("error", "unknown")) if exc.response else "unknown"
        if status == 429 or error == "ratelimited":
            observability.slack_error(row.method, "ratelimited")
            wait = _retry_after(exc)
            self._pacer(channel).hold(channel, wait)
            log.info("slack rate limit on %s in %s; holding it %.1fs", row.method, channel, wait)
            await asyncio.to_thread(
                self.store.outbox_retry, row.id, "ratelimited", timedelta(seconds=wait)
            )
            return RATE_LIMITED
        if error in PERMANENT_ERRORS and row.purpose not in MUST_DELIVER:
            observability.slack_error(row.method, error)
            self.last_error = error
            log.error("slack %s failed permanently: %s (outbox id %s)", row.method, error, row.id)
            await asyncio.to_thread(self.store.outbox_failed, row.id, error)
            return FAILED
        return await self._transient(row, channel, f"{error} (HTTP {status})")
