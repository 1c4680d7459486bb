"""Slash commands: /triage-pause, /triage-resume, /triage-status (the owners' kill switch)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from handlers.context import runtime_of

log = logging.getLogger(__name__)

FAILED = "Sorry, that command failed and nothing was changed. Please try again."


async def _answer(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def pause(
    ack: AsyncAck, command: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    runtime = runtime_of(context)
    try:
        answer = await asyncio.to_thread(
            runtime.control.pause, command.get("user_id", ""), command.get("text") or ""
        )
    except Exception:
        log.exception("/triage-pause failed")
        await _answer(respond, FAILED)
        return
    if answer.changed:
        runtime.worker.kick()
    await _answer(respond, answer.text)


async def resume(
    ack: AsyncAck, command: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
) -> None:
    await ack()
    runtime = runtime_of(context)
    try:
        answer = await asyncio.to_thread(
            runtime.control.resume, command.get("user_id", ""), command.get("text") or ""
        )
    except Exception:
        log.exception("/triage-resume failed")
        await _answer(respond, FAILED)
        return
    if answer.changed:
        runtime.worker.kick()
    await _answer(respond, answer.text)


async def status(ack: AsyncAck, context: dict[str, Any], respond: AsyncRespond) -> None:
    await ack()
    runtime = runtime_of(context)
    try:
        text = await asyncio.to_thread(runtime.control.status)
    except Exception:
        log.exception("/triage-status failed")
        text = "Sorry, the status could not be read. Please try again."
    await _answer(respond, text)


def register(app: AsyncApp) -> None:
    app.command("/triage-pause")(pause)
    app.command("/triage-resume")(resume)
    app.command("/triage-status")(status)
