"""How listeners reach the bot's services: a middleware puts the runtime into Bolt's context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.runtime import Runtime

RUNTIME_KEY = "triage_runtime"


def runtime_of(context: dict[str, Any]) -> Runtime:
    return context[RUNTIME_KEY]
