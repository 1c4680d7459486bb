"""The web server's guard against slow and flooding senders.

- A request slot (`MAX_CONCURRENT_REQUESTS`) is taken only once a POST body has been read
  in full, so a sender that dribbles its body holds no slot; it holds only its connection,
  and only for `REQUEST_READ_TIMEOUT_SECONDS` (then 408 and the connection is closed).
- Headers get the same time: a connection that has started a request but not finished its
  headers within the timeout is closed (`HeaderDeadline`). Idle keep-alive connections are
  left to aiohttp's own keep-alive timeout, which should stay longer than a proxy's.
- Bodies are capped per route (413), and the bytes held by bodies being read or handled
  are capped in total, so a flood of fast senders costs bounded memory (503 past it).
- `report()` is what `/healthz` shows under `"http"`: slots in use, requests waiting for
  one, bodies being read, and since when every slot has been busy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READ_CHUNK = 64 * 1024
RAW_BODY = web.RequestKey("raw_body", bytes)
# Bodies in memory at once (being read or handled), as a multiple of slots × largest cap.
BUFFER_SLOTS_FACTOR = 4


class RequestGuard:
    """Read-then-bound middleware, body caps and read timeouts, with counters for /healthz."""

    def __init__(
        self,
        limit: int,
        read_timeout: float,
        cap_for: Callable[[str], int],
        buffer_budget: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.read_timeout = read_timeout
        self._cap_for = cap_for
        self._budget = buffer_budget
        self._clock = clock
        self._gate = asyncio.Semaphore(limit)
        self.sweep = DeadlineSweep()  # connections whose headers are late are closed
        self.in_flight = 0
        self.waiting = 0
        self.reading = 0
        self.buffered = 0
        self.read_timeouts = 0
        self.header_timeouts = 0
        self.too_large = 0
        self.over_budget = 0
        self.saturated_since: float | None = None

    # --- the middleware ----------------------------------------------------------------------

    @property
    def middleware(self):
        @web.middleware
        async def read_then_bound(request: web.Request, handler: Handler) -> web.StreamResponse:
            deadline = HeaderDeadline.of(request)
            if deadline is not None:
                deadline.request_started()
            try:
                if request.method != "POST":
                    return await handler(request)
                return await self._post(request, handler)
            finally:
                if deadline is not None:
                    deadline.request_finished()

        return read_then_bound

    async def _post(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        cap = self._cap_for(request.path)
        held = 0
        try:
            body, held = await self._read(request, cap)
            set_body(request, body)
            self.waiting += 1
            try:
                await self._gate.acquire()
            finally:
                self.waiting -= 1
            self._enter()
            try:
                return await handler(request)
            finally:
                self._leave()
                self._gate.release()
        finally:
            self.buffered -= held

    async def _read(self, request: web.Request, cap: int) -> tuple[bytes, int]:
        """The whole body within the read timeout and the cap; raises 408, 413 or 503."""
        declared = request.content_length
        if declared is not None and declared > cap:
            self.too_large += 1
            raise _closing(web.HTTPRequestEntityTooLarge(max_size=cap, actual_size=declared))
        content = request.content
        if content.is_eof():  # the whole body arrived with the headers: nothing to wait for
            whole = content.read_nowait()
            self._hold(len(whole), len(whole), cap)
            return whole, len(whole)
        body = bytearray()
        self.reading += 1
        try:
            async with asyncio.timeout(self.read_timeout):
                while chunk := await request.content.read(READ_CHUNK):
                    self._hold(len(body) + len(chunk), len(chunk), cap)
                    body += chunk
        except TimeoutError:
            self.buffered -= len(body)
            self.read_timeouts += 1
            log.info("closed %s %s: its body did not arrive in time", request.method, request.path)
            raise _closing(web.HTTPRequestTimeout(text="the request body took too long")) from None
        except BaseException:
            self.buffered -= len(body)
            raise
        finally:
            self.reading -= 1
        return bytes(body), len(body)

    def _hold(self, total: int, more: int, cap: int) -> None:
        """Count `more` bytes of a body (now `total` long) as held; 413 past the route's
        cap, 503 past the budget of all bodies in memory."""
        if total > cap:
            self.too_large += 1
            raise _closing(web.HTTPRequestEntityTooLarge(max_size=cap, actual_size=total))
        if self.buffered + more > self._budget:
            self.over_budget += 1
            raise _closing(
                web.HTTPServiceUnavailable(
                    text="too many request bodies at once; retry shortly",
                    headers={"Retry-After": "1"},
                )
            )
        self.buffered += more

    def _enter(self) -> None:
        self.in_flight += 1
        if self.in_flight >= self.limit and self.saturated_since is None:
            self.saturated_since = self._clock()

    def _leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight < self.limit:
            self.saturated_since = None

    # --- /healthz ----------------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        saturated = self.saturated_since is not None
        return {
            "slots": self.limit,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "reading": self.reading,
            "saturated": saturated,
            "saturated_seconds": (
                round(self._clock() - self.saturated_since, 1) if saturated else 0.0  # type: ignore[operator]
            ),
            "read_timeouts": self.read_timeouts,
            "header_timeouts": self.header_timeouts,
            "too_large": self.too_large,
            "over_budget": self.over_budget,
        }


def _closing(exc: web.HTTPException) -> web.HTTPException:
    exc.force_close()  # the sender misbehaved: do not keep its connection for another request
    return exc


def set_body(request: web.Request, body: bytes) -> None:
    """Hand the body read by the guard to handlers: `request.read()`/`text()`/`json()` and
    `raw_body(request)` return it (aiohttp caches a read body in `_read_bytes`)."""
    request[RAW_BODY] = body
    request._read_bytes = body  # type: ignore[attr-defined]


def raw_body(request: web.Request) -> bytes:
    """The body exactly as received (read once by the guard)."""
    body = request.get(RAW_BODY)
    if body is None:
        raise RuntimeError("the request guard did not read this body")
    return body


# --- header deadline ---------------------------------------------------------------------------


class HeaderDeadline(asyncio.Protocol):
    """Wraps aiohttp's protocol: once a request's first bytes arrive, its headers must be
    complete (the handler called) within `timeout` seconds, or the connection is closed.

    A connection only notes when its current request is due; one sweep per guard
    (`DeadlineSweep`) closes the late ones. A timer per request would cost a timer handle
    and its cancellation on every request of every connection."""

    def __init__(self, inner: asyncio.Protocol, timeout: float, guard: RequestGuard) -> None:
        self.inner = inner
        self._timeout = timeout
        self._guard = guard
        self.due: float | None = None  # loop time by which the headers must be complete
        self._busy = False
        self._bytes_while_busy = False
        self._transport: asyncio.BaseTransport | None = None

    @staticmethod
    def of(request: web.Request) -> HeaderDeadline | None:
        transport = request.transport
        protocol = transport.get_protocol() if transport is not None else None
        return protocol if isinstance(protocol, HeaderDeadline) else None

    # asyncio.Protocol, forwarded to aiohttp's handler
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if data:
            if self._busy:
                self._bytes_while_busy = True
            elif self.due is None:
                self._arm()
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # called by the guard's middleware
    def request_started(self) -> None:
        self._busy = True
        self._disarm()

    def request_finished(self) -> None:
        self._busy = False
        if self._bytes_while_busy:  # the next (pipelined) request has begun
            self._bytes_while_busy = False
            self._arm()

    def _arm(self) -> None:
        self.due = self._guard.sweep.watch(self, self._timeout)

    def _disarm(self) -> None:
        if self.due is not None:
            self.due = None
            self._guard.sweep.forget(self)

    def expire(self) -> None:
        """Called by the sweep once `due` has passed."""
        self.due = None
        if self._busy or self._transport is None:
            return
        self._guard.header_timeouts += 1
        log.info("closed a connection whose request headers did not arrive in time")
        self._transport.close()


class DeadlineSweep:
    """The connections waiting for their headers, checked a few times per timeout: a late
    one is closed at most a quarter of the timeout after it was due."""

    def __init__(self) -> None:
        self._watched: set[HeaderDeadline] = set()
        self._timer: asyncio.TimerHandle | None = None

    def watch(self, connection: HeaderDeadline, timeout: float) -> float:
        """Watch `connection` from now on; returns the loop time it is due by."""
        loop = asyncio.get_running_loop()
        self._watched.add(connection)
        if self._timer is None:
            self._timer = loop.call_later(timeout / 4, self._sweep, timeout / 4)
        return loop.time() + timeout

    def forget(self, connection: HeaderDeadline) -> None:
        self._watched.discard(connection)

    def _sweep(self, every: float) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        for connection in [c for c in self._watched if c.due is not None and c.due <= now]:
            self._watched.discard(connection)
            connection.expire()
        if self._watched:
            self._timer = asyncio.get_running_loop().call_later(every, self._sweep, every)


class GuardedSite(web.BaseSite):
    """A TCP site whose connections carry a HeaderDeadline (aiohttp's TCPSite, wrapped)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: RequestGuard) -> None:
        super().__init__(runner)
        self._guarded_runner = runner
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._guarded_runner.server
        assert server is not None
        guard = self._guard

        def protocol() -> asyncio.Protocol:
            return HeaderDeadline(server(), guard.read_timeout, guard)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, self._host, self._port, backlog=128)


def buffer_budget(limit: int, largest_cap: int) -> int:
    """Bytes that bodies being read or handled may hold at once: a few full slots' worth."""
    return BUFFER_SLOTS_FACTOR * limit * largest_cap


def http_health(runtime: Any) -> tuple[str, Any, bool]:
    """/healthz `http`: request slots in use and whether they are all busy (saturation)."""
    guard: RequestGuard | None = getattr(runtime, "http_guard", None)
    if guard is None:
        return "http", None, True
    report = guard.report()
    return "http", report, not report["saturated"]
