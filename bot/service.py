"""The triage service: what happens to a ticket, from intake to a human's decision.

Slack-agnostic: handlers and the intake webhook call it; it writes state changes,
audit rows and the Slack calls they cause in one transaction (see bot.store).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from bot import blocks as kit
from bot import observability, outbound
from bot.channel import people
from bot.channel import reasons as human
from bot.channel.summary import RoutedSummaries, grouped_message_at
from bot.channel.surge import Placement, SurgeGroups
from bot.classifier import Classifier, Sentiment
from bot.classifier.signals import MAX_SCAN_CHARS
from bot.clicks import ClickFacts, ClickOutcome
from bot.models import AuditEvent, Decision, Proposal, Ticket, TicketStatus, utcnow
from bot.ownership import shadow
from bot.ownership.modes import EffectiveMode, ModeBook
from bot.policies import Policy, PolicySet
from bot.settings import Settings
from bot.source.clean import clean_for_classification
from bot.store import (
    UPDATE_PRIORITY,
    IntakeResult,
    OutboxItem,
    ProposalRecord,
    Store,
    Transition,
)
from bot.tickets import TicketIn
from bot.triage import AUTO, TriageResult, triage_text
from bot.triage_batch import triage_many

if TYPE_CHECKING:
    from sqlalchemy import Connection

log = logging.getLogger(__name__)

# The guardrails read the whole ticket in one pass, up to MAX_SCAN_CHARS; one character more
# is kept so that a longer ticket is seen to be longer and goes to review (`too_long`).
CLASSIFY_CHARS = MAX_SCAN_CHARS + 1
CLAIM_BATCH = 50  # tickets classified per transaction
CLAIM_SECONDS = 1.0  # classification work claimed at once (see _claim_size)

# Lower is posted first: risky and unhappy tickets reach humans before praise.
PRIORITY_URGENT = 10
PRIORITY_REVIEW = 30
PRIORITY_AUTO = 50
PRIORITY_PRAISE = 70
PRIORITY_UPDATE = UPDATE_PRIORITY  # decision webhooks queue right behind updates


def _esc(text: str) -> str:
    """User-controlled values (ticket ids, a reassign value) in an ephemeral mrkdwn reply."""
    return kit.escape_mrkdwn(str(text))


def _key(purpose: str, ticket_id: str) -> str:
    return f"{purpose}:{ticket_id}:{uuid.uuid4().hex}"


class TriageService:
    """Intake, classification and human decisions over the store."""

    def __init__(
        self, settings: Settings, store: Store, classifier: Classifier, policies: PolicySet
    ) -> None:
        self.settings = settings
        self.store = store
        self.classifier = classifier
        self.policies = policies
        # Stored overrides + launch gate (bot.ownership); the gate counts only the proposals
        # of the live model's lineage (bot.classifier.registry).
        self.modes = ModeBook(store, policies, versions=self._evidence_versions)
        self.summaries = RoutedSummaries(self)  # ROUTED_SUMMARY_SECONDS (bot.channel)
        self.surge = SurgeGroups(self)  # SURGE_MIN_TICKETS (bot.channel)
        self._per_ticket = 0.001  # seconds one classification takes (moving average)

    def _evidence_versions(self) -> list[str] | None:
        from bot.classifier.rollout import evidence_versions

        return evidence_versions(self.settings, self.classifier)

    # --- views -----------------------------------------------------------------------------

    def _policy(self, name: str | None) -> Policy | None:
        return self.policies.policies.get(name) if name else None

    def _ticket_view(self, ticket: Ticket) -> kit.TicketView:
        policy = self._policy(ticket.policy)
        return kit.TicketView(
            id=ticket.id,
            subject=ticket.subject,
            body=ticket.body,
            requester=people.requester_label(ticket.requester, self.settings.show_requester),
            redact_pii=policy.redact_pii if policy else True,
            url=people.ticket_url(
                ticket.id, getattr(ticket, "url", "") or "", self.settings.ticket_url_template
            ),
        )

    def _proposal_view(self, proposal: Proposal | None) -> kit.ProposalView | None:
        if proposal is None:
            return None
        return kit.ProposalView(
            tag=proposal.tag,
            confidence=proposal.confidence,
            sentiment=proposal.sentiment,
            decision=proposal.decision,
            reasons=list(proposal.reasons),
            policy=proposal.policy,
            show=not shadow.is_shadow(proposal),
            guardrails=tuple(proposal.guardrails or ()),
        )

    @property
    def _excerpt(self) -> int:
        return self.settings.body_excerpt_chars

    @property
    def _triage_channel(self) -> str:
        return self.settings.triage_channel or ""

    # --- intake ----------------------------------------------------------------------------

    def intake(
        self, tickets: Sequence[TicketIn], source: str, connection: Connection | None = None
    ) -> IntakeResult:
        """Durably store tickets (or, with `connection`, once its transaction commits);
        classification and posting follow in the worker."""
        return self.store.add_tickets(tickets, source=source, connection=connection)

    def classify_text(self, ticket: Ticket) -> str:
        """What the classifier reads: subject and the body with quotes and signatures trimmed."""
        body = clean_for_classification(ticket.body[: CLASSIFY_CHARS * 2])
        return f"{ticket.subject}\n{body}"[:CLASSIFY_CHARS].strip()

    def triage(
        self, ticket: Ticket, paused: set[str], modes: dict[str, EffectiveMode] | None = None
    ) -> TriageResult:
        # Quoted replies and signatures are trimmed for the classifier; the stored body keeps them.
        text = self.classify_text(ticket)
        return triage_text(ticket.id, text, self.classifier, self.policies, paused, modes)

    def triage_batch(
        self,
        tickets: Sequence[Ticket],
        paused: set[str],
        modes: dict[str, EffectiveMode] | None = None,
    ) -> list[tuple[Ticket, TriageResult]]:
        """Classify a claimed batch: one model call when the classifier batches, else one by
        one within CLAIM_SECONDS (a slow LLM posts what is done; the rest is released)."""
        if len(tickets) > 1 and hasattr(self.classifier, "predict_many"):
            started = time.monotonic()
            try:
                items = [(t.id, self.classify_text(t)) for t in tickets]
                results = triage_many(items, self.classifier, self.policies, paused, modes)
            except Exception:  # one bad ticket must not fail the batch: go one by one
                log.exception("batched classification failed; classifying one by one")
            else:
                took = (time.monotonic() - started) / len(tickets)
                for _ in tickets:
                    observability.classified(took)
                self._per_ticket = 0.8 * self._per_ticket + 0.2 * took
                return list(zip(tickets, results, strict=True))
        done: list[tuple[Ticket, TriageResult]] = []
        deadline = time.monotonic() + CLAIM_SECONDS
        for ticket in tickets:
            if done and time.monotonic() > deadline:
                break  # a slow classifier: post what is done; the rest is released
            started = time.monotonic()
            try:
                done.append((ticket, self.triage(ticket, paused, modes)))
            except Exception:  # a classifier bug must not stop the queue
                log.exception("classifier failed on ticket %s; sending it to review", ticket.id)
                done.append((ticket, self._failed_result(ticket)))
            took = time.monotonic() - started
            observability.classified(took)
            self._per_ticket = 0.8 * self._per_ticket + 0.2 * took
        return done

    def _priority(self, result: TriageResult) -> int:
        if {"no_go", "complaint_veto", "sarcasm"} & set(result.guardrails):
            return PRIORITY_URGENT
        if result.sentiment == "negative":
            return PRIORITY_URGENT
        if result.tag == "positive_feedback":
            return PRIORITY_PRAISE
        return PRIORITY_AUTO if result.decision == AUTO else PRIORITY_REVIEW

    def process_new(self, limit: int = 200, batch: int = CLAIM_BATCH) -> int:
        """Classify stored tickets and queue their Slack posts; returns how many were done.

        Tickets are claimed (`Store.claim_new_tickets`), so several processes on one
        PostgreSQL never classify the same ticket twice; each batch is one transaction.
        """
        done = 0
        while done < limit:
            size = min(batch, limit - done, self._claim_size())
            with self.store.claim_new_tickets(size) as claim:
                if not claim.tickets:
                    break
                paused = self.store.paused_names()
                modes = self.modes.effective()
                results = self.triage_batch(claim.tickets, paused, modes)
                placed = self.surge.assign(claim.session, results)
                records: list[ProposalRecord] = []
                summarised: set[str] = set()
                for ticket, result in results:
                    where = placed.get(ticket.id)
                    try:
                        record, in_summary = self._proposal_record(
                            ticket, self.surge.hold(result, where), placement=where
                        )
                    except Exception:  # building the post failed: keep the ticket for a retry
                        log.exception("could not queue the post for ticket %s", ticket.id)
                        continue
                    records.append(record)
                    if in_summary:
                        summarised.add(ticket.id)
                stored = self.store.record_proposals(claim.session, records)
                for ticket_id in stored:
                    if ticket_id in summarised:
                        self.summaries.collect(claim.session, ticket_id)
                recorded = len(stored)
                claim.session.commit()
            done += recorded
            if recorded == 0:
                break
        return done

    def _claim_size(self) -> int:
        """Claim about CLAIM_SECONDS of classification work: 50 fast tickets, or one slow
        LLM call, so a slow classifier neither delays posts nor locks tickets others could do."""
        return max(1, min(CLAIM_BATCH, int(CLAIM_SECONDS / max(self._per_ticket, 1e-4))))

    def _failed_result(self, ticket: Ticket) -> TriageResult:
        tag = self.policies.tags[0]
        policy = self.policies.for_tag(tag)
        return TriageResult(
            ticket_id=ticket.id,
            tag=tag,
            confidence=0.0,
            sentiment=Sentiment.NEUTRAL,
            decision="review",
            policy=policy.name if policy else None,
            reasons=["classifier_error: the classifier failed; a human must tag this ticket"],
            guardrails=["classifier_error"],
            model_version=self.classifier.version,
        )

    def _proposal_record(
        self, ticket: Ticket, result: TriageResult, placement: Placement | None = None
    ) -> tuple[ProposalRecord, bool]:
        """The proposal, its Slack posts and the ticket's new status, as plain values; and
        whether the ticket is announced in the interval's routed summary instead of alone."""
        proposal = {
            "ticket_id": ticket.id,
            "tag": result.tag,
            "policy": result.policy,
            "confidence": result.confidence,
            "sentiment": str(result.sentiment),
            "decision": result.decision,
            "reasons": result.reasons,
            "guardrails": result.guardrails,
            "scores": result.scores,
            "model_version": result.model_version,
        }
        ticket.policy = result.policy
        view = self._ticket_view(ticket)
        pview = kit.ProposalView(
            tag=result.tag,
            confidence=result.confidence,
            sentiment=str(result.sentiment),
            decision=result.decision,
            reasons=list(result.reasons),
            policy=result.policy,
            show=shadow.SHADOW_CODE not in (result.guardrails or []),
            guardrails=tuple(result.guardrails or ()),
        )
        tags = self.policies.tags
        priority = self._priority(result)
        policy = self._policy(result.policy)
        outbox: list[OutboxItem] = []
        if result.decision == AUTO and policy is not None:
            message = kit.auto_routed_message(
                view, pview, tags, self._excerpt, policy.route_channel
            )
            headline = f"Routed to {result.tag}:"
            status = TicketStatus.AUTO_ROUTED
            outbox.append(
                self._route_item(
                    ticket,
                    view,
                    result.tag,
                    "routed automatically by the bot",
                    priority,
                    warning=kit.tone_warning(str(result.sentiment), result.guardrails),
                )
            )
            outbox.extend(self._webhook_items(ticket, result.tag, "auto", "bot", utcnow()))
        else:
            build = kit.review_message if pview.show else shadow.review_message
            message = build(view, pview, tags, self._excerpt)
            headline = "Needs triage:"
            status = TicketStatus.REVIEW
        # A group member is listed in the group's thread: a plain member with the group's
        # controls, a guarded one ("apart") in a batch with its own `triage:<id>` controls.
        grouped = placement is not None
        summarised = status is TicketStatus.AUTO_ROUTED and self.summaries.enabled
        if not (summarised or grouped):  # else: in the interval's summary / the group's thread
            outbox.insert(0, self._proposal_post(ticket, view, message, headline, priority))
        auto_tag = result.tag if status is TicketStatus.AUTO_ROUTED else None
        return ProposalRecord(ticket.id, status, proposal, outbox, auto_tag), summarised

    def _proposal_post(
        self,
        ticket: Ticket,
        view: kit.TicketView,
        message: list,
        headline: str,
        priority: int,
    ) -> OutboxItem:
        return OutboxItem(
            dedupe_key=f"proposal:{ticket.id}",
            method="chat.postMessage",
            payload={
                "channel": self._triage_channel,
                "text": kit.fallback_text(view, headline),
                "blocks": kit.to_dicts(message),
                "unfurl_links": False,
                "unfurl_media": False,
            },
            ticket_id=ticket.id,
            purpose="proposal",
            priority=priority,
        )

    def proposal_item(self, ticket: Ticket, proposal: Proposal | None) -> OutboxItem:
        """A review ticket's own proposal post (a member pulled out of a surge group)."""
        view = self._ticket_view(ticket)
        pview = self._proposal_view(proposal)
        if pview is None:
            pview = kit.ProposalView(
                tag=ticket.proposed_tag or "",
                confidence=0.0,
                sentiment="neutral",
                decision="review",
                reasons=[],
                policy=ticket.policy,
            )
        build = kit.review_message if pview.show else shadow.review_message
        message = build(view, pview, self.policies.tags, self._excerpt)
        return self._proposal_post(ticket, view, message, "Needs triage", PRIORITY_REVIEW)

    def _route_item(
        self,
        ticket: Ticket,
        view: kit.TicketView,
        tag: str,
        how: str,
        priority: int,
        warning: str | None = None,
    ) -> OutboxItem:
        policy = self.policies.for_tag(tag)
        channel = policy.route_channel if policy else self._triage_channel
        return OutboxItem(
            dedupe_key=_key("route", ticket.id),
            method="chat.postMessage",
            payload={
                "channel": channel,
                "text": kit.fallback_text(view, f"Routed to {tag}:"),
                "blocks": kit.to_dicts(kit.route_message(view, tag, how, self._excerpt, warning)),
                "unfurl_links": False,
                "unfurl_media": False,
            },
            ticket_id=ticket.id,
            purpose="route",
            priority=priority,
        )

    def _webhook_items(
        self, ticket: Ticket, tag: str, action: str, actor: str, at: datetime
    ) -> list[OutboxItem]:
        """The decision, told to the policy's webhook (if it has one) once, with the decision."""
        policy = self.policies.for_tag(tag)
        if policy is None or not policy.webhook_url:
            return []
        body = outbound.decision_body(
            ticket_id=ticket.id,
            ticket_url=getattr(ticket, "url", None),
            tag=tag,
            policy=policy.name,
            action=action,
            decided_by=actor,
            decided_at=at,
            proposed_tag=ticket.proposed_tag,
        )
        return [
            OutboxItem(
                dedupe_key=_key(outbound.PURPOSE, ticket.id),
                method=outbound.METHOD,
                payload={
                    "channel": outbound.lane(policy.webhook_url),
                    "url": policy.webhook_url,
                    "body": body,
                },
                ticket_id=ticket.id,
                purpose=outbound.PURPOSE,
                priority=PRIORITY_UPDATE + 1,
            )
        ]

    def _update_item(
        self, ticket: Ticket, channel: str, ts: str, blocks: list, headline: str
    ) -> OutboxItem:
        view = self._ticket_view(ticket)
        return OutboxItem.message_update(
            _key("update", ticket.id),
            channel,
            ts,
            kit.fallback_text(view, headline),
            kit.to_dicts(blocks),
            ticket_id=ticket.id,
        )

    # --- clicks ----------------------------------------------------------------------------

    def _click_reads(
        self, ticket_id: str, facts: ClickFacts | None
    ) -> tuple[Ticket | None, Proposal | None]:
        """The ticket and its latest proposal: from the click's facts when it has them."""
        if facts is not None:
            return facts.ticket, facts.proposal
        return self.store.ticket_with_proposal(ticket_id)

    def _decided(
        self, result: Transition, ticket_id: str, settle: Callable[[], None] | None = None
    ) -> ClickOutcome:
        """The clicker's answer to a click's transition. Once it applied, `settle` runs after
        its commit (it reads what this decision committed)."""
        if not result.applied:
            return self._already(result.ticket, ticket_id)
        if settle is not None:
            self.store.after_commit(settle)
        return ClickOutcome(True)

    def _already(self, ticket: Ticket | None, ticket_id: str) -> ClickOutcome:
        if ticket is None:
            return ClickOutcome(False, f"Ticket #{_esc(ticket_id)} is not in the triage store.")
        if ticket.status == TicketStatus.NEW:
            return ClickOutcome(False, f"Ticket #{_esc(ticket.id)} is still being classified.")
        if ticket.status in (TicketStatus.ROUTED, TicketStatus.AUTO_ROUTED) and ticket.decided_at:
            who = "the bot" if ticket.decided_by == "bot" else kit.mention(ticket.decided_by or "")
            return ClickOutcome(
                False,
                f"Ticket #{_esc(ticket.id)} was already routed to `{_esc(ticket.final_tag or '')}` by {who} "
                f"{kit.slack_date(ticket.decided_at)}. Nothing changed.",
            )
        if ticket.status == TicketStatus.HANDED_OFF and ticket.handed_off_at:
            return ClickOutcome(
                False,
                f"Ticket #{_esc(ticket.id)} was already handed to its owner "
                f"{kit.slack_date(ticket.handed_off_at)}; claim it from the handoff message.",
            )
        if ticket.status == TicketStatus.CLAIMED and ticket.claimed_at:
            return ClickOutcome(
                False,
                f"Ticket #{_esc(ticket.id)} was already claimed by {kit.mention(ticket.claimed_by or '')} "
                f"{kit.slack_date(ticket.claimed_at)}.",
            )
        return ClickOutcome(False, f"Ticket #{_esc(ticket.id)} cannot take that action now.")

    def _original_update(
        self, ticket: Ticket, clicked: tuple[str, str], blocks: list, headline: str
    ) -> list[OutboxItem]:
        """Replace the clicked message, and the original proposal if it was another message."""
        items = [self._update_item(ticket, clicked[0], clicked[1], blocks, headline)]
        if ticket.message_ts and ticket.message_channel and ticket.message_ts != clicked[1]:
            items.append(
                self._update_item(
                    ticket, ticket.message_channel, ticket.message_ts, blocks, headline
                )
            )
        return items

    def _listed_update(
        self,
        ticket: Ticket,
        clicked: tuple[str, str],
        blocks: list,
        headline: str,
        outcome: str,
        apart: bool = True,
    ) -> tuple[list[OutboxItem], Callable[[], None]]:
        """The updates a decision makes, and what to do once it is committed.

        A guarded surge member's batch message shows that member decided (the others keep
        their controls); any other clicked message (its own proposal, a handoff page) is
        replaced as before. The batch is rebuilt from the store; if another member of it was
        decided while this click was under way, `settle` queues one more rebuild after the
        commit, so the batch never ends up showing a stale control. `apart` False: the
        click's facts already said the ticket is not a member shown apart."""
        batch = self.surge.listed_apart(ticket.id) if apart else None
        if batch is None:
            return self._original_update(ticket, clicked, blocks, headline), lambda: None
        update, seen = self.surge.apart_update(batch, ticket.id, outcome)
        items = [update]
        if (batch.result_channel, batch.result_ts) != tuple(clicked):
            items += self._original_update(ticket, clicked, blocks, headline)
        return items, lambda: self.surge.settle(batch, ticket.id, seen)

    def route_by_human(
        self,
        ticket_id: str,
        user: str,
        clicked: tuple[str, str],
        tag: str | None = None,
        facts: ClickFacts | None = None,
    ) -> ClickOutcome:
        """Approve (tag=None) or reassign (tag given): one decision, however many clicks.

        `facts`: what the click handler already read (bot.clicks.read_click)."""
        ticket, proposal = self._click_reads(ticket_id, facts)
        if ticket is None:
            return self._already(None, ticket_id)
        if tag is not None and self.policies.for_tag(tag) is None:
            return ClickOutcome(False, f"`{_esc(tag)}` is not a tag any policy covers.")
        approve = tag is None
        if approve and shadow.is_shadow(proposal):
            return ClickOutcome(False, shadow.APPROVE_REFUSED)
        final = (ticket.proposed_tag if approve else tag) or ""
        allowed = [TicketStatus.REVIEW, TicketStatus.HANDED_OFF, TicketStatus.CLAIMED]
        if not approve:
            allowed.append(TicketStatus.AUTO_ROUTED)
        now = utcnow()
        verb = "Approved" if approve else "Reassigned"
        if not approve and ticket.status == TicketStatus.AUTO_ROUTED:
            verb = "Corrected"
        outcome = (
            f":white_check_mark: *{verb}* as `{final}` by {kit.mention(user)} {kit.slack_date(now)}"
        )
        view = self._ticket_view(ticket)
        pview = self._proposal_view(proposal)
        message = kit.decided_message(view, pview, outcome, self._excerpt)
        summary = (
            grouped_message_at(self.store, *clicked) if facts is None or facts.grouped else None
        )
        if summary is not None and summary.purpose == "summary":
            # A line of a routed summary: that line changes, the other tickets stay.
            line = self.summaries.rebuilt(summary, ticket_id, outcome)
            outbox = [line] if line is not None else []
            settle: Callable[[], None] = lambda: None  # noqa: E731
        else:
            outbox, settle = self._listed_update(
                ticket,
                clicked,
                message,
                f"{verb} as {final}:",
                outcome,
                apart=facts is None or facts.apart,
            )
        outbox.append(
            self._route_item(
                ticket,
                view,
                final,
                f"{verb.lower()} by {kit.mention(user)}",
                PRIORITY_REVIEW,
                warning=kit.tone_warning(proposal.sentiment, proposal.guardrails or [])
                if proposal is not None
                else None,
            )
        )
        policy = self.policies.for_tag(final)
        action = "approve" if approve else "reassign"
        outbox.extend(self._webhook_items(ticket, final, action, user, now))
        result = self.store.transition(
            ticket_id,
            allowed,
            {
                "status": TicketStatus.ROUTED.value,
                "final_tag": final,
                "policy": policy.name if policy else ticket.policy,
                "decided_by": user,
                "decided_at": now,
            },
            Decision.model_construct(
                ticket_id=ticket_id,
                action=action,
                tag=final,
                proposed_tag=ticket.proposed_tag,
                actor=user,
                at=now,
            ),
            AuditEvent.model_construct(
                actor=user,
                action=action,
                ticket_id=ticket_id,
                policy=policy.name if policy else None,
                at=now,
                detail={"tag": final, "proposed_tag": ticket.proposed_tag, "from": ticket.status},
            ),
            outbox,
        )
        return self._decided(result, ticket_id, settle)

    def hand_off(
        self,
        ticket_id: str,
        user: str,
        clicked: tuple[str, str],
        facts: ClickFacts | None = None,
    ) -> ClickOutcome:
        """ "Not sure": page the policy's owner with a Claim button."""
        ticket, proposal = self._click_reads(ticket_id, facts)
        if ticket is None:
            return self._already(None, ticket_id)
        policy = self._policy(ticket.policy)
        owner = policy.owner if policy else self.policies.global_settings.owners[0]
        now = utcnow()
        view = self._ticket_view(ticket)
        outcome = (
            f":thinking_face: {kit.mention(user)} was not sure {kit.slack_date(now)}; "
            f"handed to {kit.mention(owner)}"
            + (f" (owner of {policy.name})" if policy and not shadow.is_shadow(proposal) else "")
        )
        message = kit.decided_message(view, self._proposal_view(proposal), outcome, self._excerpt)
        said = human.sentences(proposal.reasons, proposal.policy, 1) if proposal else []
        reason = said[0] if said else ""
        if shadow.is_shadow(proposal):  # the reasons name the hidden tag
            reason = shadow.HANDOFF_REASON
        page = kit.handoff_message(view, owner, [], user, reason, self._excerpt)
        outbox, settle = self._listed_update(
            ticket, clicked, message, "Handed off:", outcome, apart=facts is None or facts.apart
        )
        outbox.append(
            OutboxItem(
                dedupe_key=f"handoff:{ticket_id}:0",
                method="chat.postMessage",
                payload={
                    "channel": self._triage_channel,
                    "text": f"{kit.mention(owner)} ticket #{kit.escape_mrkdwn(ticket.id)} needs you",
                    "blocks": kit.to_dicts(page),
                },
                ticket_id=ticket_id,
                purpose="handoff",
                priority=PRIORITY_URGENT,
            )
        )
        result = self.store.transition(
            ticket_id,
            [TicketStatus.REVIEW],
            {"status": TicketStatus.HANDED_OFF.value, "handed_off_at": now, "page_level": 0},
            Decision.model_construct(
                ticket_id=ticket_id,
                action="not_sure",
                proposed_tag=ticket.proposed_tag,
                actor=user,
                at=now,
            ),
            AuditEvent.model_construct(
                actor=user,
                action="not_sure",
                ticket_id=ticket_id,
                policy=ticket.policy,
                at=now,
                detail={"handed_to": owner},
            ),
            outbox,
        )
        return self._decided(result, ticket_id, settle)

    def claim(
        self,
        ticket_id: str,
        user: str,
        clicked: tuple[str, str],
        facts: ClickFacts | None = None,
    ) -> ClickOutcome:
        """Take a handed-off ticket; the claimer then decides with Approve or Reassign."""
        ticket, proposal = self._click_reads(ticket_id, facts)
        if ticket is None:
            return self._already(None, ticket_id)
        now = utcnow()
        view = self._ticket_view(ticket)
        message = kit.claimed_message(view, user, now, self.policies.tags, self._excerpt)
        if shadow.is_shadow(proposal):
            message = shadow.without_approve(message)
        outbox = [self._update_item(ticket, clicked[0], clicked[1], message, "Claimed:")]
        result = self.store.transition(
            ticket_id,
            [TicketStatus.HANDED_OFF],
            {"status": TicketStatus.CLAIMED.value, "claimed_by": user, "claimed_at": now},
            Decision.model_construct(ticket_id=ticket_id, action="claim", actor=user, at=now),
            AuditEvent.model_construct(
                actor=user, action="claim", ticket_id=ticket_id, policy=ticket.policy, at=now
            ),
            outbox,
        )
        return self._decided(result, ticket_id)

    # --- reporting -------------------------------------------------------------------------

    def waiting(self) -> list[tuple[Ticket, datetime]]:
        """Tickets waiting for a human, oldest first, with the time they started waiting."""
        rows: list[tuple[Ticket, datetime]] = []
        for status in (TicketStatus.REVIEW, TicketStatus.HANDED_OFF, TicketStatus.CLAIMED):
            for ticket in self.store.tickets_with_status(status, limit=1000):
                since = ticket.handed_off_at or ticket.received_at
                rows.append((ticket, since))
        return sorted(rows, key=lambda item: item[1])
