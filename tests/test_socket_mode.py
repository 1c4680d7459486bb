"""Socket Mode end to end: the bot opens a websocket to a local server standing in for Slack,
receives a slash command envelope, acknowledges it and runs the same listener."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.app import build_runtime, build_web_app, running
from bot.socket_mode import connect_socket_mode
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack


class FakeSocketServer:
    """Accepts the bot's websocket, says hello, and lets the test push envelopes."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.acks: asyncio.Queue[dict] = asyncio.Queue()
        self.socket: web.WebSocketResponse | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.socket = ws
        await ws.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await self.acks.put(json.loads(message.data))
        return ws

    async def start(self) -> web.AppRunner:
        app = web.Application()
        app.router.add_get("/link", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self.port = runner.addresses[0][1]
        return runner


async def test_slash_command_over_socket_mode(
    database_url: str, fake_slack: FakeSlack, policies_dir: Path
):
    sockets = FakeSocketServer()
    socket_runner = await sockets.start()
    fake_slack.fail_next(
        "apps.connections.open",
        200,
        {"ok": True, "url": f"ws://127.0.0.1:{sockets.port}/link"},
        times=3,
    )
    settings = make_settings(
        database_url=database_url,
        slack_api_url=fake_slack.api_url,
        policies_dir=policies_dir,
        slack_app_token="xapp-test",
        slack_signing_secret=None,
    )
    runtime = build_runtime(settings)
    assert "/slack/events" not in {
        r.resource.canonical for r in build_web_app(runtime).router.routes()
    }
    async with running(runtime, "127.0.0.1", 0):
        handler = await connect_socket_mode(runtime)
        try:
            await asyncio.wait_for(sockets.connected.wait(), 10)
            assert (
                fake_slack.of("apps.connections.open")[0].headers["Authorization"]
                == "Bearer xapp-test"
            )
            envelope = {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "command": "/triage-pause",
                    "text": "billing fraud wave",
                    "user_id": "U0BILLOWNR",
                    "channel_id": "C0TRIAGE",
                    "team_id": "T0TEST",
                    "api_app_id": "A0TEST",
                    "response_url": fake_slack.response_url,
                    "trigger_id": "1.2",
                },
            }
            await sockets.socket.send_str(json.dumps(envelope))
            ack = await asyncio.wait_for(sockets.acks.get(), 10)
            assert ack["envelope_id"] == "env-1"
            await fake_slack.wait_for(lambda s: s.responses)
            assert "Paused policy `billing`" in fake_slack.responses[0]["text"]
            assert runtime.store.paused_names() == {"billing"}
        finally:
            await handler.close_async()
    await socket_runner.cleanup()
