"""Surge mode: many similar tickets at once become one grouped proposal.

During an outage hundreds of near-identical tickets arrive within minutes; one message
each would bury the channel (Slack posts about one message per second per channel).
Similar review tickets (bot.channel.similarity) are proposed as one group with
*Approve all* / *Reassign all* / *Not sure*; members are listed in thread replies,
about 20 a reply; new arrivals join the open group; an agent can pull one out.

Similar tickets the bot would route alone are grouped too (reason `surge`): a burst of
them is a possible incident, and one human click decides them all.
Members carrying a guardrail (no-go topic, sarcasm or complaint veto, `unfamiliar`) are
never decided in bulk: they are listed apart in the thread, in batches, each with the
controls of a single proposal (`triage:<ticket id>`: Approve, Reassign, Not sure), so each
is proposed and decided on its own while one post shows up to APART_LINES of them (a post
apiece would cost the channel one of its one-per-second slots each).

Correctness: membership rows are written in the transaction that records the proposal
(bot.service.process_new); a bulk decision moves each member out of `review` with one
conditional UPDATE in one transaction with its decisions, audit rows and posts, so each
member is decided, audited and routed exactly once, across restarts and processes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, func, select

from bot.channel import render
from bot.channel.models import GroupMember, GroupStatus, MemberKind, MemberState, SurgeGroup
from bot.channel.reasons import bulk_blocked, sentences
from bot.channel.similarity import Similarities, embedder_of, similarity
from bot.clicks import ClickOutcome
from bot.models import (
    AuditEvent,
    Decision,
    OutboxMessage,
    OutboxStatus,
    Proposal,
    Ticket,
    TicketStatus,
    utcnow,
)
from bot.store import OutboxItem, unindexed

if TYPE_CHECKING:
    from bot.channel.host import TriageHost
    from bot.triage import TriageResult

log = logging.getLogger(__name__)

PRIORITY_GROUP = 10  # the grouped proposal: as urgent as any ticket
# Member lists come after every single proposal, praise (70) included: the group's post
# already shows its members to agents (count and samples); a list only adds Pull out.
PRIORITY_LIST = 80
# Guarded members wait for a human in their batch: before ordinary single proposals
# (priority 30), since one post shows many of them, after urgent ones and the group (10).
PRIORITY_APART = 20
LIST_WAIT = timedelta(seconds=20)  # a partly filled member list waits at most this long
HEAD_REFRESH = timedelta(seconds=15)  # the group's count is refreshed at most this often
RECENT_LIMIT = 300
SURGE_CODE = "surge"
SURGE_REASON = "one of many similar tickets arriving together; decided as a group"
SAMPLE_TEXTS = 24  # the group's first members: its different wordings
_MEMBERS = GroupMember.__table__  # type: ignore[attr-defined]
# Is this ticket a guarded member shown apart? Asked on every click (a prebuilt Core probe).
_LISTED_APART = select(_MEMBERS.c.ticket_id).where(
    _MEMBERS.c.ticket_id == bindparam("ticket_id"),
    _MEMBERS.c.kind == MemberKind.APART.value,
    _MEMBERS.c.list_key.is_not(None),
)


TEXT_BODY_CHARS = 400  # what of a body grouping compares (the similarity reads less)


def ticket_text(ticket: Ticket) -> str:
    return _text(ticket.subject, ticket.body)


def _text(subject: str, body: str) -> str:
    return f"{subject}\n{body[:TEXT_BODY_CHARS]}"


def _texts_of(session: Session, query) -> list[str]:
    """`ticket_text` of the tickets a query selects, read as two columns (no ORM objects:
    each batch compares with a few hundred recent tickets)."""
    columns = query.with_only_columns(
        col(Ticket.subject), func.substr(col(Ticket.body), 1, TEXT_BODY_CHARS)
    )
    return [_text(subject, body) for subject, body in session.execute(columns)]


@dataclass(frozen=True)
class Placement:
    group_id: int
    kind: str  # MemberKind


def _components(adjacent, skip: set[int]) -> list[list[int]]:
    """Connected parts of a similarity graph (breadth first), in first-arrival order."""
    seen = set(skip)
    parts = []
    for start in range(len(adjacent)):
        if start in seen:
            continue
        seen.add(start)
        part, queue = [], [start]
        while queue:
            node = queue.pop()
            part.append(node)
            for other in adjacent[node].nonzero()[0].tolist():
                if other not in seen:
                    seen.add(other)
                    queue.append(other)
        parts.append(sorted(part))
    return parts


@dataclass
class _Joining:
    """One batch's joins. Each group's row is locked (its last_joined_at set) by the first
    join only: the lock lasts until the batch commits, so the group cannot be decided in
    between. The member rows the batch's tickets already have are loaded in one query,
    after that first lock (on SQLite, before it another process may still add some). A
    join then costs one INSERT in the batch's flush, not an UPDATE, a SELECT and an INSERT."""

    ticket_ids: list[str]
    members: dict[str, GroupMember] | None = None
    still_open: dict[int, bool] = field(default_factory=dict)

    def existing(self, session: Session) -> dict[str, GroupMember]:
        if self.members is None:
            self.members = {
                m.ticket_id: m
                for m in session.exec(
                    select(GroupMember).where(col(GroupMember.ticket_id).in_(self.ticket_ids))
                )
            }
        return self.members


class SurgeGroups:
    """Forms, grows, lists and decides surge groups."""

    def __init__(self, service: TriageHost, clock: Callable[[], datetime] = utcnow) -> None:
        self.service = service
        self.clock = clock

    @property
    def settings(self):
        return self.service.settings

    @property
    def enabled(self) -> bool:
        return self.settings.surge_min_tickets > 0

    # --- forming groups ---------------------------------------------------------------------

    def _similar(self, texts: Sequence[str]) -> Similarities:
        return similarity(
            texts, embedder_of(self.service.classifier), self.settings.surge_similarity
        )

    def assign(
        self, session: Session, pairs: Sequence[tuple[Ticket, TriageResult]]
    ) -> dict[str, Placement]:
        """Place review tickets of one classification batch into surge groups.

        Called inside the batch's transaction; the caller commits. Tickets that get
        `MemberKind.MEMBER` are not posted on their own."""
        if not self.enabled:
            return {}
        now = self.clock()
        window = timedelta(seconds=self.settings.surge_window_seconds)
        candidates = [
            (ticket, result)
            for ticket, result in pairs
            if result.policy is not None and "mode_shadow" not in result.guardrails
        ]
        if not candidates:
            return {}
        groups = list(
            session.exec(
                select(SurgeGroup)
                .where(
                    SurgeGroup.status == GroupStatus.OPEN.value,
                    col(SurgeGroup.last_joined_at) >= now - window,
                )
                .order_by(col(SurgeGroup.id))
                .with_for_update()
            ).all()
        )
        group_texts: list[tuple[int, str]] = []
        for group in groups:
            rows = _texts_of(
                session,
                select(Ticket)
                .join(GroupMember, col(GroupMember.ticket_id) == col(Ticket.id))
                .where(GroupMember.group_id == group.id)
                .order_by(col(GroupMember.joined_at))
                .limit(SAMPLE_TEXTS),
            )
            group_texts += [(group.id or 0, text) for text in rows]
        batch_ids = [t.id for t, _ in candidates]
        joining = _Joining(batch_ids)
        recent = _texts_of(
            session,
            select(Ticket)
            .where(
                col(Ticket.received_at) >= now - window,
                Ticket.status != TicketStatus.NEW.value,
                col(Ticket.id).not_in(select(GroupMember.ticket_id)),
                col(Ticket.id).not_in(batch_ids),
            )
            .order_by(col(Ticket.received_at).desc())
            .limit(RECENT_LIMIT),
        )
        texts = [ticket_text(t) for t, _ in candidates] + [text for _, text in group_texts] + recent
        similar = self._similar(texts)
        sims, threshold = similar.matrix, similar.threshold
        n, g = len(candidates), len(group_texts)
        placed: dict[str, Placement] = {}
        # 1. Join the open group whose members the ticket most resembles.
        for i, (ticket, result) in enumerate(candidates):
            best, best_score = None, threshold
            for group in groups:
                cols = [n + j for j, (gid, _) in enumerate(group_texts) if gid == group.id]
                score = float(sims[i, cols].max()) if cols else 0.0
                if score >= best_score:
                    best, best_score = group, score
            joined = self._join(session, joining, best, ticket, result, now) if best else None
            if joined is not None:
                placed[ticket.id] = joined
        #    ... or resembles a ticket of this batch that joined one (a chain of near-duplicates).
        by_id = {group.id: group for group in groups}
        changed = True
        while changed:
            changed = False
            for i, (ticket, result) in enumerate(candidates):
                if ticket.id in placed:
                    continue
                for j, (other, _) in enumerate(candidates):
                    joined = placed.get(other.id)
                    if joined is not None and sims[i, j] >= threshold and joined.group_id in by_id:
                        group = by_id[joined.group_id]
                        placement = self._join(session, joining, group, ticket, result, now)
                        if placement is not None:
                            placed[ticket.id] = placement
                            changed = True
                        break
        # 2. Start a group where enough similar tickets arrived together: the connected
        #    parts of the batch's similarity graph, counting similar recent tickets too.
        for cluster in _components(
            sims[:n, :n] >= threshold,
            skip={i for i, (t, _) in enumerate(candidates) if t.id in placed},
        ):
            similar_recent = int((sims[cluster][:, n + g :] >= threshold).any(axis=0).sum())
            members = [j for j in cluster if not bulk_blocked(candidates[j][1].guardrails)]
            if not members or len(cluster) + similar_recent < self.settings.surge_min_tickets:
                continue
            group = self._open(session, [candidates[j] for j in members], now)
            for j in cluster:
                other, other_result = candidates[j]
                placement = self._join(session, joining, group, other, other_result, now)
                if placement is not None:
                    placed[other.id] = placement
            session.flush()
            self._announce(session, group)
        return placed

    def _open(
        self, session: Session, members: list[tuple[Ticket, TriageResult]], now: datetime
    ) -> SurgeGroup:
        tags: dict[str, int] = {}
        for _, result in members:
            tags[result.tag] = tags.get(result.tag, 0) + 1
        tag = max(tags, key=lambda t: (tags[t], t))
        policy = self.service.policies.for_tag(tag)
        group = SurgeGroup(
            tag=tag,
            policy=policy.name if policy else None,
            headline=" ".join(members[0][0].subject.split())[:300],
            created_at=now,
            last_joined_at=now,
        )
        session.add(group)
        session.flush()
        group.head_key = f"group:{group.id}"
        session.add(
            AuditEvent(
                actor="bot",
                action="surge_group",
                policy=group.policy,
                at=now,
                detail={"group": group.id, "tag": tag, "first": len(members)},
            )
        )
        return group

    def _join(
        self,
        session: Session,
        joining: _Joining,
        group: SurgeGroup,
        ticket: Ticket,
        result: TriageResult,
        now: datetime,
    ) -> Placement | None:
        """Add a ticket to a group that is still open; None when it was decided meanwhile.

        The conditional UPDATE takes the group's row (PostgreSQL) or the write lock
        (SQLite) before the member is added, so a concurrent Approve all either sees the
        new member or has closed the group first: a member is never left undecided."""
        group_id = group.id or 0
        if group_id not in joining.still_open:
            updated = session.execute(
                update(SurgeGroup)
                .where(col(SurgeGroup.id) == group_id, SurgeGroup.status == GroupStatus.OPEN.value)
                .values(last_joined_at=now)
                .execution_options(synchronize_session=False)
            )
            joining.still_open[group_id] = updated.rowcount == 1
        if not joining.still_open[group_id]:
            return None
        kind = MemberKind.APART if bulk_blocked(result.guardrails) else MemberKind.MEMBER
        members = joining.existing(session)
        member = members.get(ticket.id)
        if member is None:
            member = GroupMember(ticket_id=ticket.id, group_id=group_id, kind=kind, joined_at=now)
            session.add(member)
            members[ticket.id] = member
        else:  # a ticket that was a member before: its row now says where it is
            member.group_id, member.kind, member.joined_at = group_id, kind, now
            member.state, member.list_key = MemberState.IN, None
        group.last_joined_at = now
        return Placement(group_id, kind)

    def _announce(self, session: Session, group: SurgeGroup) -> None:
        """Queue the grouped proposal (it also mentions the policy's owner)."""
        blocks = render.group_message(self.view(session, group), self.service.policies.tags)
        self.service.store._enqueue(
            session,
            [
                OutboxItem(
                    dedupe_key=group.head_key,
                    method="chat.postMessage",
                    payload={
                        "channel": self.settings.triage_channel or "",
                        "text": f"Possible incident: {render.group_headline(self.view(session, group))}",
                        "blocks": render.kit.to_dicts(blocks),
                        "unfurl_links": False,
                        "unfurl_media": False,
                    },
                    purpose="group",
                    priority=PRIORITY_GROUP,
                )
            ],
        )

    def hold(self, result: TriageResult, placement: Placement | None) -> TriageResult:
        """A group member the bot would have routed alone waits for the group's decision:
        hundreds of similar tickets at once are a possible incident a human should see."""
        if placement is None or placement.kind != MemberKind.MEMBER or result.decision != "auto":
            return result
        return replace(
            result,
            decision="review",
            reasons=[*result.reasons, f"{SURGE_CODE}: {SURGE_REASON}"],
            guardrails=[*result.guardrails, SURGE_CODE],
        )

    # --- what the group shows ----------------------------------------------------------------

    def view(self, session: Session, group: SurgeGroup) -> render.GroupView:
        counts = dict(
            session.exec(
                select(GroupMember.kind, func.count())
                .where(GroupMember.group_id == group.id, GroupMember.state != MemberState.OUT.value)
                .group_by(GroupMember.kind)
            ).all()
        )
        pulled = session.exec(
            select(func.count())
            .select_from(GroupMember)
            .where(GroupMember.group_id == group.id, GroupMember.state == MemberState.OUT.value)
        ).one()
        samples = session.exec(
            select(Ticket)
            .join(GroupMember, col(GroupMember.ticket_id) == col(Ticket.id))
            .where(GroupMember.group_id == group.id, GroupMember.kind == MemberKind.MEMBER.value)
            .order_by(col(GroupMember.joined_at))
            .limit(render.SAMPLES)
        ).all()
        confidence = session.exec(
            select(func.avg(Proposal.confidence))
            .join(GroupMember, col(GroupMember.ticket_id) == col(Proposal.ticket_id))
            .where(GroupMember.group_id == group.id, GroupMember.kind == MemberKind.MEMBER.value)
        ).one()
        policy = self.service._policy(group.policy)
        decided = None
        if group.status == GroupStatus.DECIDED.value and group.decided_at:
            decided = (
                f":white_check_mark: *{'Approved' if group.final_tag == group.tag else 'Reassigned'}"
                f" all* as `{group.final_tag}` by {render.kit.mention(group.decided_by or '')} "
                f"{render.kit.slack_date(group.decided_at)}"
            )
        handed = (
            f":thinking_face: Handed to {render.kit.mention(group.handed_to)}, who decides for "
            "the group."
            if group.handed_to
            else None
        )
        return render.GroupView(
            id=group.id or 0,
            tag=group.tag,
            policy=group.policy,
            headline=group.headline,
            count=int(counts.get(MemberKind.MEMBER.value, 0)),
            apart=int(counts.get(MemberKind.APART.value, 0)),
            pulled=int(pulled or 0),
            first_at=group.created_at,
            last_at=group.last_joined_at,
            owner=policy.owner if policy else None,
            samples=[self.service._ticket_view(t) for t in samples],
            confidence=float(confidence or 0.0),
            decided=decided,
            handed=handed,
        )

    def _head_update(self, session: Session, group: SurgeGroup, head: OutboxMessage) -> OutboxItem:
        view = self.view(session, group)
        group.shown_count = view.count
        group.updated_at = self.clock()
        session.add(group)
        return OutboxItem.message_update(
            f"group-head:{group.id}:{group.updated_at.timestamp()}:{view.count}",
            head.result_channel,
            head.result_ts,
            f"Possible incident: {render.group_headline(view)}",
            render.kit.to_dicts(render.group_message(view, self.service.policies.tags)),
        )

    @staticmethod
    def _sent(session: Session, key: str) -> OutboxMessage | None:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.dedupe_key == key)).first()
        if row is None or row.status != OutboxStatus.SENT.value or not row.result_ts:
            return None
        return row

    def _lines(
        self, session: Session, members: Sequence[GroupMember], done: dict[str, str] | None = None
    ) -> list[render.Line]:
        ids = [m.ticket_id for m in members]
        tickets = {t.id: t for t in session.exec(select(Ticket).where(col(Ticket.id).in_(ids)))}
        apart = [m.ticket_id for m in members if m.kind == MemberKind.APART.value]
        proposals: dict[str, Proposal] = {}
        if apart:
            for proposal in session.exec(
                select(Proposal)
                .where(col(Proposal.ticket_id).in_(apart))
                .order_by(col(Proposal.id))
            ):
                proposals[proposal.ticket_id] = proposal  # the latest wins
        lines = []
        for member in members:
            ticket = tickets.get(member.ticket_id)
            if ticket is None:
                continue
            outcome = (done or {}).get(ticket.id)
            if member.kind == MemberKind.APART.value:
                lines.append(self._apart_line(ticket, proposals.get(ticket.id), outcome))
                continue
            if outcome is None and member.state == MemberState.OUT.value:
                outcome = "Pulled out of the group; proposed on its own."
            elif outcome is None and member.state == MemberState.DECIDED.value:
                outcome = f"Routed as `{ticket.final_tag}` with the group."
            lines.append(
                render.Line(
                    ticket=self.service._ticket_view(ticket),
                    tag=ticket.proposed_tag or "",
                    done=outcome,
                )
            )
        return lines

    def _apart_line(
        self, ticket: Ticket, proposal: Proposal | None, outcome: str | None
    ) -> render.Line:
        """A guarded member as a proposal of its own: what the bot proposes, why a human
        must decide, the tone warning; once decided, who decided what (from the store, so
        every rebuild of the batch shows every decision made so far)."""
        kit = render.kit
        view = self.service._proposal_view(proposal)
        why = None
        warning = None
        if view is not None:
            why = f"*Proposed tag:* {kit.verdict(view)}" if view.show else None
            said = sentences(view.reasons, view.policy, 2) if view.show else []
            if said:
                why = f"{why or ''}\n" + "\n".join(f"• {kit.escape_mrkdwn(text)}" for text in said)
            warning = kit.tone_warning(view.sentiment, list(view.guardrails))
        if outcome is None:
            outcome = self._outcome_of(ticket)
        return render.Line(
            ticket=self.service._ticket_view(ticket),
            tag=ticket.proposed_tag or "",
            done=outcome,
            warning=warning,
            why=why,
        )

    @staticmethod
    def _outcome_of(ticket: Ticket) -> str | None:
        """What happened to a ticket decided on its own, in the words of its own message."""
        kit = render.kit
        status = ticket.status
        if status in (TicketStatus.ROUTED.value, TicketStatus.AUTO_ROUTED.value):
            verb = "Approved" if ticket.final_tag == ticket.proposed_tag else "Reassigned"
            who = kit.mention(ticket.decided_by or "") if ticket.decided_by != "bot" else "the bot"
            when = f" {kit.slack_date(ticket.decided_at)}" if ticket.decided_at else ""
            return f":white_check_mark: *{verb}* as `{ticket.final_tag}` by {who}{when}"
        if status == TicketStatus.HANDED_OFF.value:
            when = f" {kit.slack_date(ticket.handed_off_at)}" if ticket.handed_off_at else ""
            return f":thinking_face: Handed to its policy's owner{when}."
        if status == TicketStatus.CLAIMED.value:
            return f":raising_hand: Claimed by {kit.mention(ticket.claimed_by or '')}."
        return None

    def _list_item(
        self,
        session: Session,
        group: SurgeGroup,
        head: OutboxMessage,
        members: Sequence[GroupMember],
        apart: bool,
    ) -> OutboxItem:
        key = f"group-list:{group.id}:{members[0].ticket_id}"[:255]
        for member in members:
            member.list_key = key
            session.add(member)
        lines = self._lines(session, members)
        blocks = (
            render.apart_message(group.id or 0, lines, self.service.policies.tags)
            if apart
            else render.list_message(group.id or 0, lines)
        )
        return OutboxItem(
            dedupe_key=key,
            method="chat.postMessage",
            payload={
                "channel": head.result_channel,
                "thread_ts": head.result_ts,
                "text": f"{len(members)} tickets of group {group.id}: "
                + ", ".join(f"#{render.kit.escape_mrkdwn(m.ticket_id)}" for m in members)[:2000],
                "blocks": render.kit.to_dicts(blocks),
                "unfurl_links": False,
                "unfurl_media": False,
            },
            purpose="group_list",
            priority=PRIORITY_APART if apart else PRIORITY_LIST,
        )

    # --- the periodic pass -------------------------------------------------------------------

    def flush(self, now: datetime | None = None) -> int:
        """List new members in the thread and refresh group counts; returns posts queued."""
        if not self.enabled:
            return 0
        now = now or self.clock()
        store = self.service.store
        queued = 0
        with store.session() as session:
            groups = list(
                session.exec(
                    select(SurgeGroup)
                    .where(
                        col(SurgeGroup.id).in_(
                            select(GroupMember.group_id).where(col(GroupMember.list_key).is_(None))
                        )
                        | (SurgeGroup.status == GroupStatus.OPEN.value)
                    )
                    .order_by(col(SurgeGroup.id))
                    .with_for_update(skip_locked=True)
                ).all()
            )
            items: list[OutboxItem] = []
            for group in groups:
                head = self._sent(session, group.head_key)
                if head is None:
                    continue  # the grouped proposal is not in Slack yet: nothing to thread
                unlisted = list(
                    session.exec(
                        select(GroupMember)
                        .where(
                            GroupMember.group_id == group.id, col(GroupMember.list_key).is_(None)
                        )
                        .order_by(col(GroupMember.joined_at), col(GroupMember.ticket_id))
                    ).all()
                )
                for kind, size in (
                    (MemberKind.MEMBER.value, render.LIST_LINES),
                    (MemberKind.APART.value, render.APART_LINES),
                ):
                    rows = [m for m in unlisted if m.kind == kind]
                    while rows:
                        chunk = rows[:size]
                        waited = now - min(m.joined_at for m in chunk)
                        full = len(chunk) == size
                        if not (full or waited >= LIST_WAIT or group.status != GroupStatus.OPEN):
                            break
                        items.append(
                            self._list_item(session, group, head, chunk, kind == MemberKind.APART)
                        )
                        rows = rows[size:]
                count = self.view(session, group).count
                stale = group.updated_at is None or now - group.updated_at >= HEAD_REFRESH
                if count != group.shown_count and stale and group.status == GroupStatus.OPEN:
                    items.append(self._head_update(session, group, head))
            store._enqueue(session, items)
            session.commit()
            queued = len(items)
        return queued

    # --- clicks ------------------------------------------------------------------------------

    def decide(
        self, group_id: int, user: str, clicked: tuple[str, str], tag: str | None = None
    ) -> ClickOutcome:
        """Approve all (tag None) or Reassign all: each member decided once, in one go."""

        service = self.service
        if tag is not None and service.policies.for_tag(tag) is None:
            return ClickOutcome(False, f"`{tag}` is not a tag any policy covers.")
        now = self.clock()
        with service.store.session() as session:
            group = session.get(SurgeGroup, group_id)
            if group is None:
                return ClickOutcome(False, f"Group {group_id} is not in the triage store.")
            final = tag or group.tag
            taken = session.execute(
                update(SurgeGroup)
                .where(col(SurgeGroup.id) == group_id, SurgeGroup.status == GroupStatus.OPEN.value)
                .values(
                    status=GroupStatus.DECIDED.value,
                    decided_by=user,
                    decided_at=now,
                    final_tag=final,
                )
            )
            if taken.rowcount != 1:
                session.rollback()
                group = session.get(SurgeGroup, group_id)
                who = render.kit.mention(group.decided_by or "") if group else "someone"
                return ClickOutcome(
                    False,
                    f"Group {group_id} was already decided by {who}; nothing changed.",
                )
            session.refresh(group)
            members = list(
                session.exec(
                    select(GroupMember).where(
                        GroupMember.group_id == group_id,
                        GroupMember.kind == MemberKind.MEMBER.value,
                        GroupMember.state == MemberState.IN.value,
                    )
                ).all()
            )
            ids = [m.ticket_id for m in members]
            policy = service.policies.for_tag(final)
            tickets_table = Ticket.__table__  # type: ignore[attr-defined]
            routed = set()
            if ids:
                result = session.execute(
                    update(tickets_table)
                    .where(
                        tickets_table.c.id.in_(ids),
                        unindexed(tickets_table.c.status) == TicketStatus.REVIEW.value,
                    )
                    .values(
                        status=TicketStatus.ROUTED.value,
                        final_tag=final,
                        policy=policy.name if policy else None,
                        decided_by=user,
                        decided_at=now,
                    )
                    .returning(tickets_table.c.id, tickets_table.c.proposed_tag)
                )
                routed = {row.id: row.proposed_tag for row in result}
            action = "approve" if tag is None else "reassign"
            for member in members:
                if member.ticket_id in routed:
                    member.state = MemberState.DECIDED.value
                    session.add(member)
            session.add_all(
                [
                    Decision(
                        ticket_id=tid,
                        action=action,
                        tag=final,
                        proposed_tag=proposed,
                        actor=user,
                        at=now,
                    )
                    for tid, proposed in routed.items()
                ]
            )
            session.add_all(
                [
                    AuditEvent(
                        actor=user,
                        action=action,
                        ticket_id=tid,
                        policy=policy.name if policy else None,
                        at=now,
                        detail={
                            "tag": final,
                            "proposed_tag": proposed,
                            "from": TicketStatus.REVIEW.value,
                            "group": group_id,
                        },
                    )
                    for tid, proposed in routed.items()
                ]
            )
            session.flush()
            items = [self._decided_head(session, group, clicked)]
            hooks = getattr(service, "_webhook_items", None)  # the policy's decision webhook
            if hooks is not None:
                for tid in routed:
                    decided = session.get(Ticket, tid)
                    if decided is not None:
                        items += hooks(decided, final, action, user, now)
            items += self._route_posts(
                session, group, [m for m in members if m.ticket_id in routed], final, user, action
            )
            items += self._close_lists(session, group)
            service.store._enqueue(session, items)
            session.commit()
        return ClickOutcome(True)

    def _decided_head(
        self, session: Session, group: SurgeGroup, clicked: tuple[str, str]
    ) -> OutboxItem:
        view = self.view(session, group)
        head = self._sent(session, group.head_key)
        channel, ts = (head.result_channel, head.result_ts) if head else clicked
        return OutboxItem.message_update(
            f"group-head:{group.id}:decided",
            channel,
            ts,
            f"Decided: {render.group_headline(view)}",
            render.kit.to_dicts(render.group_message(view, self.service.policies.tags)),
        )

    def _route_posts(
        self,
        session: Session,
        group: SurgeGroup,
        members: list[GroupMember],
        tag: str,
        user: str,
        action: str,
    ) -> list[OutboxItem]:
        """The route channel gets the group too: one post per ROUTE_LINES members."""
        policy = self.service.policies.for_tag(tag)
        channel = policy.route_channel if policy else (self.settings.triage_channel or "")
        how = f"{'approved' if action == 'approve' else 'reassigned'} as a group by {render.kit.mention(user)}"
        chunks = [
            members[i : i + render.ROUTE_LINES] for i in range(0, len(members), render.ROUTE_LINES)
        ]
        items = []
        for part, chunk in enumerate(chunks, start=1):
            lines = self._lines(session, chunk, {m.ticket_id: "" for m in chunk})
            blocks = render.group_route_message(group.headline, tag, how, lines, part, len(chunks))
            items.append(
                OutboxItem(
                    dedupe_key=f"group-route:{group.id}:{part}",
                    method="chat.postMessage",
                    payload={
                        "channel": channel,
                        "text": f"Routed to {tag}: "
                        + ", ".join(f"#{render.kit.escape_mrkdwn(m.ticket_id)}" for m in chunk)[
                            :2000
                        ],
                        "blocks": render.kit.to_dicts(blocks),
                        "unfurl_links": False,
                        "unfurl_media": False,
                    },
                    purpose="route",
                    priority=30,
                )
            )
        return items

    def _close_lists(self, session: Session, group: SurgeGroup) -> list[OutboxItem]:
        """Member lists already in Slack lose their Pull out buttons."""
        keys = session.exec(
            select(GroupMember.list_key)
            .where(
                GroupMember.group_id == group.id,
                GroupMember.kind == MemberKind.MEMBER.value,
                col(GroupMember.list_key).is_not(None),
            )
            .distinct()
        ).all()
        items = []
        for key in keys:
            message = self._sent(session, key or "")
            if message is not None:
                items.append(self._list_update(session, message, {}))
        return items

    def _list_update(
        self, session: Session, message: OutboxMessage, done: dict[str, str]
    ) -> OutboxItem:
        members = list(
            session.exec(
                select(GroupMember)
                .where(GroupMember.list_key == message.dedupe_key)
                .order_by(col(GroupMember.joined_at), col(GroupMember.ticket_id))
            ).all()
        )
        group_id = members[0].group_id if members else 0
        apart = bool(members) and members[0].kind == MemberKind.APART.value
        lines = self._lines(session, members, done)
        blocks = (
            render.apart_message(group_id, lines, self.service.policies.tags)
            if apart
            else render.list_message(group_id, lines)
        )
        return OutboxItem.message_update(
            f"group-list-update:{message.dedupe_key}:{uuid.uuid4().hex}",
            message.result_channel,
            message.result_ts,
            f"{len(members)} tickets of group {group_id}",
            render.kit.to_dicts(blocks),
        )

    def listed_apart(self, ticket_id: str) -> OutboxMessage | None:
        """The batch message in Slack that shows this guarded member's own controls."""
        with self.service.store.engine.connect() as connection:  # every click asks: Core probe
            if connection.execute(_LISTED_APART, {"ticket_id": ticket_id}).first() is None:
                return None
        with self.service.store.session() as session:
            member = session.get(GroupMember, ticket_id)
            if member is None or member.kind != MemberKind.APART.value or not member.list_key:
                return None
            return self._sent(session, member.list_key)

    @staticmethod
    def _batch_state(session: Session, key: str, skip: str) -> tuple[tuple[str, str], ...]:
        """Each member of a batch with its ticket's status (but `skip`, the one being decided)."""
        rows = session.exec(
            select(GroupMember.ticket_id, Ticket.status)
            .join(Ticket, col(Ticket.id) == col(GroupMember.ticket_id))
            .where(GroupMember.list_key == key)
            .order_by(col(GroupMember.ticket_id))
        ).all()
        return tuple((tid, str(status)) for tid, status in rows if tid != skip)

    def apart_update(
        self, message: OutboxMessage, ticket_id: str, outcome: str
    ) -> tuple[OutboxItem, tuple[tuple[str, str], ...]]:
        """The batch `message` rebuilt with this member shown as decided (`outcome`) and the
        others as the store has them (queued with the decision, in its transaction); and the
        others' statuses it was built from (read first: see `settle`)."""
        # On the click's own transaction when clicks are decided together: a member decided
        # earlier in the same hop shows as decided here, not with its stale controls.
        with self.service.store.reading_session() as session:
            seen = self._batch_state(session, message.dedupe_key, ticket_id)
            item = self._list_update(session, message, {ticket_id: outcome})
        return replace(item, ticket_id=ticket_id), seen

    def settle(
        self, message: OutboxMessage, ticket_id: str, seen: tuple[tuple[str, str], ...]
    ) -> None:
        """After a decision from a batch committed: if another member was decided while it
        was under way, the update queued with it may show that member's stale controls, so
        one more rebuild from the store is queued (delivered after it, being newer)."""
        with self.service.store.session() as session:
            if self._batch_state(session, message.dedupe_key, ticket_id) == seen:
                return
            self.service.store._enqueue(session, [self._list_update(session, message, {})])
            session.commit()

    def not_sure(self, group_id: int, user: str) -> ClickOutcome:
        """Hand the whole group to its policy's owner: one page, the group stays one."""

        service = self.service
        now = self.clock()
        with service.store.session() as session:
            group = session.get(SurgeGroup, group_id)
            if group is None or group.status != GroupStatus.OPEN.value:
                return ClickOutcome(False, f"Group {group_id} is already decided; nothing changed.")
            policy = service._policy(group.policy)
            owner = policy.owner if policy else service.policies.global_settings.owners[0]
            taken = session.execute(
                update(SurgeGroup)
                .where(
                    col(SurgeGroup.id) == group_id,
                    col(SurgeGroup.handed_to).is_(None),
                    SurgeGroup.status == GroupStatus.OPEN.value,
                )
                .values(handed_to=owner)
            )
            if taken.rowcount != 1:  # another click (or process) handed it first
                session.rollback()
                return ClickOutcome(
                    False, f"Group {group_id} was already handed to its owner; nothing changed."
                )
            session.refresh(group)
            session.add(
                AuditEvent(
                    actor=user,
                    action="group_not_sure",
                    policy=group.policy,
                    at=now,
                    detail={"group": group_id, "handed_to": owner},
                )
            )
            session.flush()
            view = self.view(session, group)
            head = self._sent(session, group.head_key)
            link = ""
            items: list[OutboxItem] = []
            if head is not None:
                items.append(self._head_update(session, group, head))
            items.append(
                OutboxItem(
                    dedupe_key=f"group-handoff:{group_id}",
                    method="chat.postMessage",
                    payload={
                        "channel": self.settings.triage_channel or "",
                        "text": f"{render.kit.mention(owner)}: group {group_id} needs you",
                        "blocks": render.kit.to_dicts(
                            render.kit.notice(
                                f"{render.kit.mention(owner)}: {render.group_headline(view)} "
                                f"need you. {render.kit.mention(user)} was not sure about the "
                                f"proposed tag `{group.tag}`; decide for the group with "
                                f"*Approve all* or *Reassign all*.{link}"
                            )
                        ),
                    },
                    purpose="handoff",
                    priority=10,
                )
            )
            service.store._enqueue(session, items)
            session.commit()
        return ClickOutcome(True)

    def ungroup(
        self, ticket_id: str, user: str, clicked: tuple[str, str], group_id: int | None = None
    ) -> ClickOutcome:
        """Pull one member out: it is proposed on its own, the group goes on without it."""

        service = self.service
        now = self.clock()
        with service.store.session() as session:
            member = session.get(GroupMember, ticket_id)
            group = session.get(SurgeGroup, member.group_id) if member else None
            if member is None or group is None or group_id not in (None, member.group_id):
                return ClickOutcome(
                    False, f"Ticket #{render.kit.escape_mrkdwn(ticket_id)} is not in this group."
                )
            if group.status != GroupStatus.OPEN.value:
                return ClickOutcome(False, f"Group {group.id} is already decided; nothing changed.")
            moved = session.execute(
                update(GroupMember)
                .where(
                    col(GroupMember.ticket_id) == ticket_id,
                    GroupMember.state == MemberState.IN.value,
                    GroupMember.kind == MemberKind.MEMBER.value,
                )
                .values(state=MemberState.OUT.value)
            )
            ticket = session.get(Ticket, ticket_id)
            if moved.rowcount != 1 or ticket is None or ticket.status != TicketStatus.REVIEW.value:
                session.rollback()
                return ClickOutcome(
                    False,
                    f"Ticket #{render.kit.escape_mrkdwn(ticket_id)} was already taken out or decided.",
                )
            session.add(
                AuditEvent(
                    actor=user,
                    action="ungroup",
                    ticket_id=ticket_id,
                    policy=ticket.policy,
                    at=now,
                    detail={"group": group.id},
                )
            )
            session.flush()
            items = [service.proposal_item(ticket, service.store.latest_proposal(ticket_id))]
            clicked_row = session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.result_channel == clicked[0],
                    OutboxMessage.result_ts == clicked[1],
                    OutboxMessage.purpose == "group_list",
                )
            ).first()
            if clicked_row is not None:
                items.append(
                    self._list_update(
                        session,
                        clicked_row,
                        {
                            ticket_id: f"Pulled out by {render.kit.mention(user)}; proposed on its own."
                        },
                    )
                )
            service.store._enqueue(session, items)
            session.commit()
        return ClickOutcome(True)
