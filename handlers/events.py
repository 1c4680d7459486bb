"""Events API listeners. Slack retries events; `bot.app` de-duplicates them by event_id."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp


def register(app: AsyncApp) -> None:
    """No event drives triage yet; the App Home tab will register here."""
    del app
