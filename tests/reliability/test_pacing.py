"""The per-channel token bucket (bot.pacing), on a clock the test moves."""

from __future__ import annotations

from bot.pacing import ChannelPacer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_channel_gets_its_burst_then_one_post_per_interval():
    clock = Clock()
    pacer = ChannelPacer(rate=1.0, burst=3, clock=clock)
    assert [pacer.try_take("C1") for _ in range(4)] == [True, True, True, False]
    assert 0.99 <= pacer.wait_for("C1") <= 1.0
    clock.now += 1.0
    assert pacer.try_take("C1") is True
    assert pacer.try_take("C1") is False


def test_channels_are_paced_independently():
    clock = Clock()
    pacer = ChannelPacer(rate=1.0, burst=1, clock=clock)
    assert pacer.try_take("C1") is True
    assert pacer.try_take("C2") is True
    assert set(pacer.waiting()) == {"C1", "C2"}
    clock.now += 1.0
    assert pacer.waiting() == {}


def test_a_retry_after_hold_stops_only_that_channel_even_when_unpaced():
    clock = Clock()
    pacer = ChannelPacer(rate=0, burst=1, clock=clock)
    pacer.hold("C1", 30)
    assert pacer.try_take("C1") is False
    assert pacer.try_take("C2") is True and pacer.try_take("C2") is True
    assert pacer.held() == {"C1": 30}
    assert pacer.sendable_within("C1", 0.25) == 0
    clock.now += 30
    assert pacer.try_take("C1") is True and pacer.held() == {}


def test_sendable_within_counts_tokens_and_refill():
    clock = Clock()
    pacer = ChannelPacer(rate=10.0, burst=2, clock=clock)
    assert pacer.sendable_within("C1", 0.5) == 7  # 2 now + 5 in half a second
    for _ in range(2):
        pacer.try_take("C1")
    assert pacer.sendable_within("C1", 0.25) == 2


def test_idle_channels_are_forgotten_so_memory_stays_bounded():
    clock = Clock()
    pacer = ChannelPacer(rate=1.0, burst=1, clock=clock, max_channels=100)
    for n in range(100):
        pacer.try_take(f"C{n}")
    clock.now += 5
    pacer.try_take("CNEW")
    assert len(pacer._buckets) == 1
