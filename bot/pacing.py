"""Per-channel pacing of Slack posts: a token bucket per channel plus Retry-After holds.

Slack allows about one message a second per channel with short bursts, and answers
429 with Retry-After beyond that. Pacing here keeps one process under the limit; a
429 (from several processes sharing a channel, or from Slack's own accounting) holds
that channel only, so a busy or rate-limited channel never delays the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    hold_until: float = float("-inf")  # no hold; any clock reading is later


class ChannelPacer:
    """Token buckets keyed by channel. `rate` <= 0 turns pacing off (holds still apply).

    Memory is bounded: buckets that are full and not held are forgotten (`max_channels`).
    """

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_channels: int = 10_000,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.clock = clock
        self.max_channels = max_channels
        self._buckets: dict[str, _Bucket] = {}

    @property
    def paced(self) -> bool:
        return self.rate > 0

    def _bucket(self, channel: str, now: float) -> _Bucket:
        bucket = self._buckets.get(channel)
        if bucket is None:
            if len(self._buckets) >= self.max_channels:
                self._forget_idle(now)
            bucket = self._buckets[channel] = _Bucket(tokens=float(self.burst), updated=now)
        elif self.paced:
            bucket.tokens = min(
                float(self.burst), bucket.tokens + (now - bucket.updated) * self.rate
            )
            bucket.updated = now
        return bucket

    def _forget_idle(self, now: float) -> None:
        for channel, bucket in list(self._buckets.items()):
            full = (
                not self.paced or bucket.tokens + (now - bucket.updated) * self.rate >= self.burst
            )
            if full and bucket.hold_until <= now:
                del self._buckets[channel]

    def wait_for(self, channel: str) -> float:
        """Seconds until `channel` may be posted to (0 when it may be now)."""
        now = self.clock()
        bucket = self._bucket(channel, now)
        wait = max(0.0, bucket.hold_until - now)
        if self.paced and bucket.tokens < 1:
            wait = max(wait, (1 - bucket.tokens) / self.rate)
        return wait

    def sendable_within(self, channel: str, horizon: float) -> int:
        """How many posts `channel` may take within `horizon` seconds (at least 1 if any)."""
        now = self.clock()
        bucket = self._bucket(channel, now)
        if bucket.hold_until - now > horizon:
            return 0
        if not self.paced:
            return 1 << 30
        return max(1, int(bucket.tokens + horizon * self.rate))

    def try_take(self, channel: str) -> bool:
        """Spend one post on `channel` if it may be posted to now."""
        if self.wait_for(channel) > 0:
            return False
        if self.paced:
            self._buckets[channel].tokens -= 1
        return True

    def hold(self, channel: str, seconds: float) -> None:
        """Post nothing to `channel` for `seconds` (Slack's Retry-After, or a failure cooldown)."""
        now = self.clock()
        bucket = self._bucket(channel, now)
        bucket.hold_until = max(bucket.hold_until, now + max(0.0, seconds))

    def waiting(self, channels: Iterable[str] | None = None) -> dict[str, float]:
        """Channels that may not be posted to now, with how long each must wait."""
        names = list(self._buckets) if channels is None else list(channels)
        return {c: w for c in names if (w := self.wait_for(c)) > 0}

    def held(self) -> dict[str, float]:
        """Channels under a Retry-After or failure hold (not mere pacing), for /healthz."""
        now = self.clock()
        return {c: b.hold_until - now for c, b in self._buckets.items() if b.hold_until > now}
