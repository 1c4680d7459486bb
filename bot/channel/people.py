"""Who wrote a ticket, and where it lives in the helpdesk, as the team's settings allow."""

from __future__ import annotations

from email.utils import parseaddr
from urllib.parse import quote

from bot.tickets import parse_url


def requester_label(requester: str, show: str) -> str:
    """The requester as SHOW_REQUESTER allows: `none` hides, `name` shows the display name
    (or the part of the address before `@`), `email` shows what intake gave."""
    requester = " ".join((requester or "").split())
    if show == "none" or not requester:
        return ""
    if show == "email":
        return requester
    name, address = parseaddr(requester)
    if name.strip():
        return name.strip()
    if "@" in (address or requester):
        return (address or requester).split("@", 1)[0]
    return requester


def ticket_url(ticket_id: str, url: str, template: str | None) -> str:
    """The ticket's own link, else TICKET_URL_TEMPLATE with the id filled in, else ''."""
    if url:
        return url
    if template:
        return parse_url(template.replace("{id}", quote(ticket_id, safe="")))
    return ""
