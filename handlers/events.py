"""Events API listeners. Slack retries events; `bot.app` de-duplicates them by event_id."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.ownership.home import home_view
from handlers.context import runtime_of

log = logging.getLogger(__name__)


async def app_home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: dict[str, Any]
) -> None:
    """Publish the Home tab (policies, owners, modes, pauses, today's numbers) for the viewer."""
    if event.get("tab", "home") != "home":
        return  # the Messages tab needs nothing from us
    user = str(event.get("user") or "")
    if not user:
        return
    runtime = runtime_of(context)
    try:
        view = await asyncio.to_thread(home_view, runtime.service, user)
        await client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("views.publish for the Home tab failed: %s", exc.response.get("error"))
    except Exception:
        log.exception("could not build or publish the Home tab")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(app_home_opened)
