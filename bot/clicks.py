"""What a click did: shared by the service and the surge groups below it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClickOutcome:
    """What a click did; `message` is for the clicker (ephemeral) when nothing changed."""

    applied: bool
    message: str | None = None
