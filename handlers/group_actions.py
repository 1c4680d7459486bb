"""Clicks on grouped messages: Approve all, Reassign all, Not sure (group), Pull out.

Same shape as handlers.actions: ack first, change state in the store (which queues the
Slack calls), answer the clicker ephemerally when nothing changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.channel import render
from bot.service import ClickOutcome, TriageService
from handlers.actions import NOT_HERE, clicked_message
from handlers.context import runtime_of

log = logging.getLogger(__name__)

GroupStep = Callable[[TriageService, dict[str, Any], str, tuple[str, str]], ClickOutcome]


def group_id_of(action: dict[str, Any]) -> int | None:
    """The group a control belongs to: its block_id `triage-group:<id>` (only the block_id
    counts: it is checked against the message that was clicked)."""
    block_id = str(action.get("block_id") or "")
    if not block_id.startswith(render.GROUP_BLOCK_PREFIX):
        return None
    raw = block_id[len(render.GROUP_BLOCK_PREFIX) :].split(":", 1)[0]
    return int(raw) if raw.isdigit() else None


def _value(action: dict[str, Any]) -> str:
    """The member a Pull out refers to: the block `triage-group:<gid>:<ticket id>` shown in
    the clicked message, which must agree with the button's value when it has one."""
    block_id = str(action.get("block_id") or "")
    parts = block_id[len(render.GROUP_BLOCK_PREFIX) :].split(":", 1)
    from_block = (
        parts[1] if block_id.startswith(render.GROUP_BLOCK_PREFIX) and len(parts) == 2 else ""
    )
    value = str(action.get("value") or (action.get("selected_option") or {}).get("value") or "")
    if from_block and value and value != from_block:
        return ""
    return from_block or value


def _approve_all(service: TriageService, action, user, clicked) -> ClickOutcome:
    group = group_id_of(action)
    if group is None:
        return ClickOutcome(False, "That control is not attached to a group.")
    return service.surge.decide(group, user, clicked)


def _reassign_all(service: TriageService, action, user, clicked) -> ClickOutcome:
    group = group_id_of(action)
    tag = ((action.get("selected_option") or {}).get("value")) or ""
    if group is None:
        return ClickOutcome(False, "That control is not attached to a group.")
    if not tag:
        return ClickOutcome(False, "Pick a tag to reassign the group to.")
    return service.surge.decide(group, user, clicked, tag=tag)


def _group_not_sure(service: TriageService, action, user, clicked) -> ClickOutcome:
    group = group_id_of(action)
    if group is None:
        return ClickOutcome(False, "That control is not attached to a group.")
    return service.surge.not_sure(group, user)


def _ungroup(service: TriageService, action, user, clicked) -> ClickOutcome:
    ticket_id = _value(action)
    if not ticket_id:
        return ClickOutcome(False, "That control is not attached to a ticket.")
    return service.surge.ungroup(ticket_id, user, clicked, group_id=group_id_of(action))


def _listener(step: GroupStep):
    async def listener(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        runtime = runtime_of(context)
        action = (body.get("actions") or [{}])[0]
        user = (body.get("user") or {}).get("id", "")
        try:
            if not user:
                return
            channel, ts = clicked_message(body)
            block_id = str(action.get("block_id") or "")
            shown = await asyncio.to_thread(runtime.store.shows_control, channel, ts, block_id)
            if not shown:  # a forged or stale control, clicked from another message
                log.warning("refused a click on %r: not shown in %s/%s", block_id, channel, ts)
                await respond(text=NOT_HERE, response_type="ephemeral", replace_original=False)
                return
            outcome = await asyncio.to_thread(
                step, runtime.service, action, user, clicked_message(body)
            )
            if outcome.applied:
                runtime.worker.kick()
            elif outcome.message:
                await respond(
                    text=outcome.message, response_type="ephemeral", replace_original=False
                )
        except Exception:
            log.exception("group click %s failed", action.get("action_id"))
            try:
                await respond(
                    text="Sorry, that click could not be recorded. Nothing changed; please try again.",
                    response_type="ephemeral",
                    replace_original=False,
                )
            except Exception:
                log.exception("could not tell the clicker about the failure")

    listener.__name__ = f"on_{step.__name__.strip('_')}"
    return listener


def register(app: AsyncApp) -> None:
    app.action(render.APPROVE_ALL)(_listener(_approve_all))
    app.action(render.REASSIGN_ALL)(_listener(_reassign_all))
    app.action(render.GROUP_NOT_SURE)(_listener(_group_not_sure))
    app.action(render.UNGROUP)(_listener(_ungroup))
