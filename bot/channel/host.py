"""What the routed summaries and surge groups need from the triage service.

A Protocol rather than an import of bot.service: the service builds these helpers, so
they must not import it back (the import graph flows one way).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot import blocks as kit
    from bot.classifier import Classifier
    from bot.models import Proposal, Ticket
    from bot.policies import Policy, PolicySet
    from bot.settings import Settings
    from bot.store import OutboxItem, Store


class TriageHost(Protocol):
    settings: Settings
    store: Store
    policies: PolicySet
    classifier: Classifier

    def _policy(self, name: str | None) -> Policy | None: ...

    def _ticket_view(self, ticket: Ticket) -> kit.TicketView: ...

    def process_new(self, limit: int = ..., batch: int = ...) -> int: ...

    def proposal_item(self, ticket: Ticket, proposal: Proposal | None) -> OutboxItem: ...

    def __getattr__(self, name: str) -> Any: ...
