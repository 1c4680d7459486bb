"""Button and select clicks on triage messages.

Each click: ack → load → change state → rebuild → chat.update (queued in the outbox).
Errors and no-op clicks are answered to the clicker only (ephemeral).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import observability
from bot.blocks import HANDOFF_BLOCK_PREFIX, TRIAGE_BLOCK_PREFIX, ActionId
from bot.clicks import ClickFacts, read_click
from bot.service import ClickOutcome, TriageService
from handlers.context import runtime_of

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)

Step = Callable[
    [TriageService, str, str, tuple[str, str], dict[str, Any], ClickFacts], ClickOutcome
]


NOT_HERE = (
    "That control does not belong to the message it was clicked in, so nothing changed. "
    "Use the controls on the ticket's own message."
)


def ticket_id_of(action: dict[str, Any]) -> str | None:
    """The ticket a control belongs to, from its block_id (`triage:<id>` / `handoff:<id>`).

    Only the block_id counts: it is checked against the message that was clicked, a
    button's value is not."""
    block_id = str(action.get("block_id") or "")
    for prefix in (TRIAGE_BLOCK_PREFIX, HANDOFF_BLOCK_PREFIX):
        if block_id.startswith(prefix):
            return block_id[len(prefix) :] or None
    return None


def clicked_message(body: dict[str, Any]) -> tuple[str, str]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id") or ""
    ts = container.get("message_ts") or (body.get("message") or {}).get("ts") or ""
    return channel, ts


async def _handle(
    body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond, step: Step
) -> None:
    """Run one click after it was acknowledged; never raises (Bolt would drop the ack)."""
    runtime = runtime_of(context)
    action = (body.get("actions") or [{}])[0]
    user = (body.get("user") or {}).get("id", "")
    ticket_id = ticket_id_of(action)
    try:
        if not ticket_id or not user:
            await respond(
                text="That control is not attached to a ticket.",
                response_type="ephemeral",
                replace_original=False,
            )
            return
        # Was this control really shown in the message that was clicked? Every message
        # that shows a ticket's controls is recorded with its (channel, ts) when Slack
        # accepts it (Store.record_controls), so a forged or stale block_id clicked from
        # some other message is refused. Clicks run first come, first served (click_lane):
        # the check and the decision in one call, so a click's decision never queues
        # behind the checks of the clicks that arrived after it.
        channel, ts = clicked_message(body)
        block_id = str(action.get("block_id") or "")
        own = ticket_id if block_id.startswith(TRIAGE_BLOCK_PREFIX) else None
        outcome = await runtime.click_lane.run(
            functools.partial(
                _checked_step, runtime, (channel, ts), block_id, own, step, ticket_id, user, action
            )
        )
        if outcome is None:
            log.warning(
                "refused a click on %r: that control is not shown in message %r/%r",
                action.get("block_id"),
                *clicked_message(body),
            )
            await respond(text=NOT_HERE, response_type="ephemeral", replace_original=False)
            return
        observability.clicked(
            str(action.get("action_id")), "applied" if outcome.applied else "noop"
        )
        if outcome.applied:
            runtime.worker.kick_delivery()
        elif outcome.message:
            await respond(text=outcome.message, response_type="ephemeral", replace_original=False)
    except Exception:
        observability.clicked(str(action.get("action_id")), "error")
        log.exception("click %s on ticket %s failed", action.get("action_id"), ticket_id)
        try:
            await respond(
                text="Sorry, that click could not be recorded. Nothing changed; please try again.",
                response_type="ephemeral",
                replace_original=False,
            )
        except Exception:
            log.exception("could not tell the clicker about the failure")


def _checked_step(
    runtime: Runtime,
    clicked: tuple[str, str],
    block_id: str,
    own: str | None,
    step: Step,
    ticket_id: str,
    user: str,
    action: dict[str, Any],
) -> ClickOutcome | None:
    """The click's outcome, or None when the control is not shown in the clicked message.

    What the decision needs to know first is read in one go (bot.clicks.read_click)."""
    facts = read_click(runtime.store, clicked, block_id, own, ticket_id)
    if facts is None:
        return None
    return step(runtime.service, ticket_id, user, clicked, action, facts)


def _approve(
    service: TriageService, ticket_id: str, user: str, clicked, _action, facts: ClickFacts
) -> ClickOutcome:
    return service.route_by_human(ticket_id, user, clicked, facts=facts)


def _reassign(
    service: TriageService, ticket_id: str, user: str, clicked, action, facts: ClickFacts
) -> ClickOutcome:
    tag = ((action.get("selected_option") or {}).get("value")) or ""
    if not tag:
        return ClickOutcome(False, "Pick a tag to reassign to.")
    return service.route_by_human(ticket_id, user, clicked, tag=tag, facts=facts)


def _not_sure(
    service: TriageService, ticket_id: str, user: str, clicked, _action, facts: ClickFacts
) -> ClickOutcome:
    return service.hand_off(ticket_id, user, clicked, facts=facts)


def _claim(
    service: TriageService, ticket_id: str, user: str, clicked, _action, facts: ClickFacts
) -> ClickOutcome:
    return service.claim(ticket_id, user, clicked, facts=facts)


def _listener(step: Step):
    async def listener(
        ack: AsyncAck, body: dict[str, Any], context: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        await _handle(body, context, respond, step)

    listener.__name__ = f"on_{step.__name__.strip('_')}"
    return listener


def register(app: AsyncApp) -> None:
    app.action(ActionId.APPROVE.value)(_listener(_approve))
    app.action(ActionId.REASSIGN.value)(_listener(_reassign))
    app.action(ActionId.NOT_SURE.value)(_listener(_not_sure))
    app.action(ActionId.CLAIM.value)(_listener(_claim))
