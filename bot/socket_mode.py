"""Socket Mode: the same listeners, reached over a websocket that the bot opens to Slack.

Used when SLACK_APP_TOKEN is set, for workspaces where the bot has no public URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

if TYPE_CHECKING:
    from bot.runtime import Runtime


async def connect_socket_mode(runtime: Runtime) -> AsyncSocketModeHandler:
    """Open the Socket Mode connection (apps.connections.open → websocket); returns the handler."""
    token = runtime.settings.slack_app_token
    if not token:
        raise ValueError("SLACK_APP_TOKEN is needed for Socket Mode")
    handler = AsyncSocketModeHandler(runtime.bolt, token)
    await handler.connect_async()
    return handler
