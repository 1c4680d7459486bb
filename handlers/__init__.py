"""Slack listeners, one module per kind, each with `register(app)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import actions, commands, events, group_actions


def register_listeners(app: AsyncApp) -> None:
    """Attach every listener to the app; the one place that knows them all."""
    actions.register(app)
    group_actions.register(app)
    commands.register(app)
    events.register(app)
