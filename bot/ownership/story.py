"""Readable lines from the audit trail: a ticket's whole story, or the control actions.

Used by `triage-bot audit`. Ticket bodies are never printed; the subject is shown
with PII masked.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.models import AuditEvent, Ticket
from bot.redact import redact

CONTROL_ACTIONS = (
    "pause",
    "resume",
    "auto_resume",
    "mode",
    "mode_override",
    "mode_reset",
    "gate_open",
    "gate_closed",
)


def stamp(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def _moment(value: Any, zone: ZoneInfo | None) -> str:
    """An ISO time from an event's detail, shown like the other times."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return stamp(moment, zone or ZoneInfo("UTC")) if moment.tzinfo else str(value)


def _tags(values: Any) -> str:
    return ", ".join(str(v) for v in values) if values else "-"


def summary(event: AuditEvent, shadow: bool = False, zone: ZoneInfo | None = None) -> str:
    """What happened, in a few words, from the event's action and detail."""
    d: dict[str, Any] = event.detail or {}
    action = event.action
    if action == "ticket_received":
        return f"received via {d.get('source', '?')}"
    if action == "proposed":
        conf = d.get("confidence")
        conf_text = f" {conf:.2f}" if isinstance(conf, int | float) else ""
        hidden = " (hidden from agents: shadow mode)" if shadow else ""
        return (
            f"proposed {d.get('tag')}{conf_text}, sentiment {d.get('sentiment')} → "
            f"{d.get('decision')}; model {d.get('model_version') or '?'}; "
            f"guardrails: {_tags(d.get('guardrails'))}{hidden}"
        )
    if action in ("approve", "reassign"):
        proposed = d.get("proposed_tag")
        verdict = ""
        if proposed:
            verdict = (
                " (matches the proposal)"
                if proposed == d.get("tag")
                else (f" (proposal was {proposed})")
            )
        verb = "approved" if action == "approve" else "picked" if shadow else "reassigned to"
        return f"{verb} {d.get('tag')}{verdict}; was {d.get('from', '?')}"
    if action == "not_sure":
        return f"not sure; handed to {d.get('handed_to', '?')}"
    if action == "claim":
        return "claimed the handoff"
    if action == "page":
        return (
            f"paged level {d.get('level')} ({', '.join(d.get('mentioned') or [])}) after "
            f"{d.get('waiting_minutes')} min"
        )
    if action == "pause":
        until = f" until {_moment(d['until'], zone)}" if d.get("until") else ""
        return f"paused {event.policy}{until}" + (
            f"; reason: {d['reason']}" if d.get("reason") else ""
        )
    if action == "resume":
        return f"resumed {event.policy}"
    if action == "auto_resume":
        return f"timed pause of {event.policy} by {d.get('paused_by', '?')} ended; resumed"
    if action in ("mode", "mode_override", "mode_reset"):
        text = f"mode of {event.policy}: {d.get('from')} → {d.get('to')}"
        if action == "mode_override":
            gate = d.get("gate") or {}
            measured = (
                f"{gate['precision']:.1%} over {gate.get('decided')}"
                if isinstance(gate.get("precision"), int | float)
                else f"{gate.get('decided', 0)} decided"
            )
            text += f", LAUNCH GATE OVERRIDDEN (measured {measured})"
        if action == "mode_reset":
            text += " (back to the policy file)"
        return text + (f"; reason: {d['reason']}" if d.get("reason") else "")
    if action in ("gate_open", "gate_closed"):
        measured = (
            f"{d['precision']:.1%} over {d.get('decided')}"
            if isinstance(d.get("precision"), int | float)
            else f"{d.get('decided', 0)} decided"
        )
        verdict = "passed" if action == "gate_open" else "fell below"
        return f"{event.policy} {verdict} the launch gate (measured {measured})"
    if action == "erased":
        return f"text and personal data erased ({d.get('reason', '?')})"
    if action == "slack_call_failed":
        return f"Slack {d.get('method')} for {d.get('purpose')} failed: {d.get('error')}"
    extra = json.dumps(d, ensure_ascii=False, default=str, sort_keys=True)
    return extra[:300]


def line(event: AuditEvent, zone: ZoneInfo, shadow: bool = False) -> str:
    policy = f" [{event.policy}]" if event.policy and event.action != "proposed" else ""
    return (
        f"{stamp(event.at, zone)}  {event.actor:<12} {event.action:<16} "
        f"{summary(event, shadow, zone)}{policy}"
    )


def ticket_story(ticket: Ticket | None, events: list[AuditEvent], zone: ZoneInfo) -> list[str]:
    """The header and one line per event, oldest first."""
    shadow = any(
        e.action == "proposed" and "mode_shadow" in ((e.detail or {}).get("guardrails") or [])
        for e in events
    )
    lines: list[str] = []
    if ticket is not None:
        subject = redact(ticket.subject or "")[:120] or "(no subject)"
        lines.append(f"Ticket #{ticket.id}: {subject}")
        final = f", final tag {ticket.final_tag}" if ticket.final_tag else ""
        who = f" by {ticket.decided_by}" if ticket.decided_by else ""
        lines.append(
            f"status {ticket.status}{final}{who}; policy {ticket.policy or '-'}; "
            f"received {stamp(ticket.received_at, zone)} via {ticket.source}"
        )
        lines.append("")
    lines.extend(line(e, zone, shadow) for e in events)
    return lines


def as_json(event: AuditEvent) -> str:
    return json.dumps(
        {
            "at": event.at.isoformat(),
            "actor": event.actor,
            "action": event.action,
            "ticket_id": event.ticket_id,
            "policy": event.policy,
            "detail": event.detail,
        },
        ensure_ascii=False,
        default=str,
    )
