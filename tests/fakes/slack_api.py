"""A local Slack Web API server for tests: real HTTP on 127.0.0.1, port 0, recording every call.

It answers the methods the bot uses with Slack-shaped JSON, and can be told to fail
(rate limits, server errors) to exercise retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it arrived
    ok: bool = True  # False when this fake answered it with an error (failure modes)


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class Upload:
    """Bytes POSTed to an upload_url from files.getUploadURLExternal (files_upload_v2 step 2)."""

    file_id: str
    data: bytes
    headers: dict[str, str]


# How long a test waits for something that must happen. Waits end as soon as it does, so
# a passing run is no slower; the bound only decides when a slow host counts as a failure,
# and a freshly booted or loaded machine can be several times slower than a developer's.
WAIT_SECONDS = 30.0


@dataclass
class FakeSlack:
    """Start with `await FakeSlack().start()`; point SLACK_API_URL at `api_url`."""

    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    uploads: list[Upload] = field(default_factory=list)  # file bytes sent to upload URLs
    failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = field(
        default_factory=dict
    )
    _ts: int = 0
    # Failure modes for reliability tests (see outage, hang, recover, rate_limit).
    _failing: bool = False
    _fail_answer: tuple[int, dict[str, Any]] = (500, {"ok": False, "error": "internal_error"})
    _slow_seconds: float = 0.0
    _slow_fails: bool = True
    _rate: float = 0.0
    _burst: int = 1
    _retry_after: int = 1
    _rate_methods: tuple[str, ...] = ("chat.postMessage",)
    _rate_channels: set[str] | None = None
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    # Workspace directory for users.info / conversations.info (doctor --slack); None: any
    # ID is answered {"ok": true} as before. `scopes` is sent as auth.test's X-OAuth-Scopes.
    users: dict[str, dict[str, Any]] | None = None
    channels: dict[str, dict[str, Any]] | None = None
    scopes: list[str] | None = None
    _runner: web.AppRunner | None = None
    port: int = 0
    _changed: asyncio.Condition | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.base_url}/response"

    def fail_next(
        self,
        method: str,
        status: int = 200,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` calls of `method` fail with this answer."""
        for _ in range(times):
            self.failures.setdefault(method, []).append(
                (status, body or {"ok": False, "error": "fatal_error"}, headers or {})
            )

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def accepted(self, method: str, channel: str | None = None) -> list[Call]:
        """Calls of `method` this fake answered with ok (what Slack would have shown)."""
        return [
            c
            for c in self.calls
            if c.method == method
            and c.ok
            and (channel is None or c.params.get("channel") == channel)
        ]

    def outage(self, status: int = 500, body: dict[str, Any] | None = None) -> None:
        """Answer every Web API call with this error until `recover()` (an outage).

        The outage lasts until the test ends it, not for a number of seconds: on a slow
        host a timed window can close before the bot's first call reaches it.
        """
        self._failing = True
        self._fail_answer = (status, body or {"ok": False, "error": "internal_error"})

    def hang(self, delay: float, then_fail: bool = True) -> None:
        """Hold every answer `delay` seconds until `recover()` (client timeouts).

        With `then_fail` the held call is then answered 503 and not counted as posted, as
        when Slack hangs; without it, it succeeds late.
        """
        self._slow_seconds = delay
        self._slow_fails = then_fail

    def recover(self) -> None:
        """End an `outage()` or a `hang()`: calls are answered normally again."""
        self._failing = False
        self._slow_seconds = 0.0

    def rate_limit(
        self,
        per_second: float,
        burst: int = 1,
        retry_after: int = 1,
        methods: tuple[str, ...] = ("chat.postMessage",),
        channels: set[str] | None = None,
    ) -> None:
        """Enforce Slack's per-channel limit: beyond it, 429 with Retry-After. 0 turns it off.

        `channels` limits only those channels (the others are never rate-limited).
        """
        self._rate, self._burst, self._retry_after = per_second, max(1, burst), retry_after
        self._rate_methods = methods
        self._rate_channels = channels
        self._buckets.clear()

    def _over_limit(self, method: str, params: dict[str, Any]) -> bool:
        if self._rate <= 0 or method not in self._rate_methods:
            return False
        channel = str(params.get("channel") or "")
        if self._rate_channels is not None and channel not in self._rate_channels:
            return False
        now = time.monotonic()
        bucket = self._buckets.setdefault(channel, _Bucket(float(self._burst), now))
        bucket.tokens = min(float(self._burst), bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            return True
        bucket.tokens -= 1
        return False

    async def _failure_mode(self, call: Call) -> web.Response | None:
        """The answer of an active failure mode, or None to answer normally."""
        if self._slow_seconds > 0:
            await asyncio.sleep(self._slow_seconds)
            if self._slow_fails:
                return web.json_response({"ok": False, "error": "service_unavailable"}, status=503)
        if self._failing:
            status, body = self._fail_answer
            return web.json_response(body, status=status)
        if self._over_limit(call.method, call.params):
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self._retry_after)},
            )
        return None

    async def wait_for(self, predicate, timeout: float = WAIT_SECONDS) -> None:
        """Wait until predicate(self) is true; fail loudly with what was recorded."""
        assert self._changed is not None
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recorded = [(c.method, c.params.get("channel")) for c in self.calls]
                    raise AssertionError(f"timed out waiting; Slack calls so far: {recorded}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=remaining)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if request.content_type == "application/json":
            return json.loads(raw or b"{}")
        params: dict[str, Any] = dict(parse_qsl(raw.decode()))
        for key in ("blocks", "attachments"):
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = {**request.query, **(await self._params(request))}  # params= go in the query
        call = Call(method, params, dict(request.headers))
        self.calls.append(call)
        queued = self.failures.get(method)
        if queued:
            call.ok = False
            await self._notify()
            status, body, headers = queued.pop(0)
            return web.json_response(body, status=status, headers=headers)
        failure = await self._failure_mode(call)
        if failure is not None:
            call.ok = False
            await self._notify()
            return failure
        await self._notify()
        headers = {}
        if method == "auth.test" and self.scopes is not None:
            headers["X-OAuth-Scopes"] = ",".join(self.scopes)
        return web.json_response(self._answer(method, params), headers=headers)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "Test",
                "user": "triagebot",
                "team_id": "T0TEST",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
            }
        if method in ("chat.postMessage", "chat.update"):
            if method == "chat.postMessage":
                self._ts += 1
                ts = f"1700000000.{self._ts:06d}"
            else:
                ts = params.get("ts")
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {}}
        if method == "users.info" and self.users is not None:
            user = self.users.get(str(params.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": {"id": params.get("user"), **user}}
        if method == "conversations.info" and self.channels is not None:
            channel = self.channels.get(str(params.get("channel")))
            if channel is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": params.get("channel"), **channel}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1700000000.999999"}
        if method == "files.getUploadURLExternal":
            file_id = f"F{len(self.of(method)):08d}"
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": f"{self.base_url}/upload/{file_id}",
            }
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files") or "[]")
            return {
                "ok": True,
                "files": [{"id": f.get("id"), "title": f.get("title")} for f in files],
            }
        return {"ok": True}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.responses.append(body)
        await self._notify()
        return web.json_response({"ok": True})

    async def _upload(self, request: web.Request) -> web.Response:
        self.uploads.append(
            Upload(request.match_info["file_id"], await request.read(), dict(request.headers))
        )
        await self._notify()
        return web.Response(text="OK - " + str(len(self.uploads[-1].data)))

    async def start(self) -> FakeSlack:
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info, conversations.info
        app.router.add_post("/response", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
