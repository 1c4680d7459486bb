"""Native webhooks of the helpdesks teams already use, mapped onto the ticket fields.

`POST /tickets/<helpdesk>` accepts each vendor's own payload and signature scheme; the
adapters here only verify and translate, and the intake path stores exactly as for
`POST /tickets`.
"""

from __future__ import annotations

from bot.intake.helpdesks.base import HelpdeskAdapter, PayloadError
from bot.intake.helpdesks.chatwoot import Chatwoot
from bot.intake.helpdesks.freshdesk import Freshdesk
from bot.intake.helpdesks.intercom import Intercom
from bot.intake.helpdesks.jsm import JiraServiceManagement
from bot.intake.helpdesks.zendesk import Zendesk

ADAPTERS: dict[str, HelpdeskAdapter] = {
    adapter.name: adapter
    for adapter in (Zendesk(), Freshdesk(), Intercom(), JiraServiceManagement(), Chatwoot())
}

__all__ = ["ADAPTERS", "HelpdeskAdapter", "PayloadError"]
