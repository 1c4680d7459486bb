"""A progress line on stderr for long runs: count, rate and, when the size is known, ETA.

Only stderr, never stdout (stdout carries the results and may be piped). On a terminal the
line redraws in place a few times a second; otherwise a plain line is written now and then,
and only once the run has lasted long enough to be worth reporting.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

TTY_EVERY_SECONDS = 0.5
LOG_EVERY_SECONDS = 30.0
LONG_RUN_SECONDS = 10.0


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """Call `update(done)` as work goes; `finish()` at the end. Cheap when nothing is shown.

    `fraction` (optional) says how much of the whole is done (e.g. bytes read of a file),
    which gives the ETA; `clock` is injectable so tests need not wait.
    """

    def __init__(
        self,
        label: str,
        unit: str = "tickets",
        *,
        stream: TextIO | None = None,
        fraction: Callable[[], float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        tty: bool | None = None,
        long_run_seconds: float = LONG_RUN_SECONDS,
        every_seconds: float | None = None,
        always: bool = False,
    ) -> None:
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.fraction = fraction
        self.clock = clock
        self.tty = self._isatty() if tty is None else tty
        self.always = always  # shown from the start and once more at the end, TTY or not
        self.long_run_seconds = 0.0 if self.tty or always else long_run_seconds
        self.every = every_seconds or (
            TTY_EVERY_SECONDS if self.tty or always else LOG_EVERY_SECONDS
        )
        self.started = clock()
        self.next_at = self.started + max(self.every, self.long_run_seconds)
        self.done = 0
        self.shown = False
        self.last_change = self.started
        self._lock = threading.Lock()
        self.suffix = ""  # what the run is doing now, e.g. 'fitting'

    def _isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def update(self, done: int) -> None:
        now = self.clock()
        if done != self.done:
            self.last_change = now
        self.done = done
        if now >= self.next_at:
            self.refresh(now)

    def refresh(self, now: float | None = None) -> None:
        """Redraw if due (also called by a ticker thread while nothing is counted)."""
        now = self.clock() if now is None else now
        with self._lock:
            if now < self.next_at:
                return
            self.next_at = now + self.every
            self._show(now)

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done:,} {self.unit}, {rate:,.0f}/s, {_duration(elapsed)}"
        share = self.fraction() if self.fraction is not None else None
        if share is not None and 0.0 < share < 1.0:
            text += f", {share:.0%}, ETA {_duration(elapsed * (1 - share) / share)}"
        return f"{text}; {self.suffix}" if self.suffix else text

    def _show(self, now: float) -> None:
        text = self.line(now)
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        """Clear the redrawn line on a terminal so the summary starts on a clean line."""
        if self.always and not self.tty:
            self._show(self.clock())
        if self.shown and self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def file_fraction(handle_holder: list, size: int) -> Callable[[], float | None]:
    """How far into a regular file of `size` bytes the (buffered) reader has got."""

    def fraction() -> float | None:
        if not handle_holder or size <= 0:
            return None
        try:
            return min(1.0, handle_holder[0].buffer.tell() / size)
        except (OSError, ValueError, AttributeError):
            return None

    return fraction


# --- rows read by whatever runs under `reading(...)` (train reads files deep in its code) ----

_active: list[Progress] = []


def clear_line() -> None:
    """Before a plain stderr line: clear the redrawn progress line, if one is showing."""
    if _active:
        progress = _active[-1]
        with progress._lock:
            if progress.tty and progress.shown:
                progress.stream.write("\r\x1b[K")
                progress.stream.flush()


def row_read() -> None:
    """Called by the file readers for every row; counts it when a command is reporting."""
    if _active:
        progress = _active[-1]
        progress.update(progress.done + 1)


@contextlib.contextmanager
def reporting(progress: Progress | None, phase: Callable[[], str] | None = None):
    """Count rows read while the block runs, and keep the line alive while it computes.

    A ticker thread redraws the line (elapsed time, `phase()` if given) so a long fit that
    reads nothing still shows it is moving.
    """
    if progress is None:
        yield None
        return
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(progress.every / 2):
            progress.suffix = phase() if phase is not None else ""
            progress.refresh()

    _active.append(progress)
    ticker = threading.Thread(target=tick, name="progress", daemon=True)
    ticker.start()
    try:
        yield progress
    finally:
        stop.set()
        ticker.join(timeout=5)
        _active.remove(progress)
        progress.finish()
