"""Slash commands: /triage-pause, /triage-resume, /triage-status, /triage-mode (owners' controls)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.channel.gate_view import text_blocks
from bot.control import ControlAnswer
from handlers.context import runtime_of

log = logging.getLogger(__name__)

FAILED = "Sorry, that command failed and nothing was changed. Please try again."


async def _answer(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


ControlStep = Callable[[str, str], ControlAnswer]


def _control_command(name: str, step_of: Callable[[Any], ControlStep]):
    """A command that changes control state: ack, run the step, answer the caller only."""

    async def listener(
        ack: AsyncAck, command: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        runtime = runtime_of(context)
        try:
            answer = await asyncio.to_thread(
                step_of(runtime.control), command.get("user_id", ""), command.get("text") or ""
            )
        except Exception:
            log.exception("%s failed", name)
            await _answer(respond, FAILED)
            return
        if answer.changed:
            runtime.worker.kick()
        await _answer(respond, answer.text)

    listener.__name__ = name.strip("/").replace("-", "_")
    return listener


pause = _control_command("/triage-pause", lambda control: control.pause)
resume = _control_command("/triage-resume", lambda control: control.resume)
# `/triage-mode <policy> <shadow|suggest|auto|default> [override] [reason]`
mode = _control_command("/triage-mode", lambda control: control.set_mode)


async def status(ack: AsyncAck, context: dict[str, Any], respond: AsyncRespond) -> None:
    await ack()
    runtime = runtime_of(context)
    try:
        text = await asyncio.to_thread(runtime.control.status)
    except Exception:
        log.exception("/triage-status failed")
        await _answer(respond, "Sorry, the status could not be read. Please try again.")
        return
    # A compact Block Kit table: one line per policy; `text` is the notification fallback.
    await respond(
        text=text, blocks=text_blocks(text), response_type="ephemeral", replace_original=False
    )


def register(app: AsyncApp) -> None:
    app.command("/triage-pause")(pause)
    app.command("/triage-resume")(resume)
    app.command("/triage-status")(status)
    app.command("/triage-mode")(mode)
