"""The agents' channel under an outage burst, at Slack's real pace, with an injected clock.

1,000 tickets arrive within BURST_SECONDS: 800 near-duplicates of one problem ("can't log
in since 10:05", reworded) and 200 varied tickets from data/tickets_test.csv, chosen so
that about 100 need review (the first 100 the classifier sends to review and the first
100 it routes alone). The real service classifies, groups and summarises them in a real
SQLite store; a simulated Slack delivers the outbox at 1 post/s per channel (updates in
their own bucket), on a virtual clock, so the run takes seconds, not 20 minutes.

Then agents act: *Approve all* on every surge group and *Approve* on every single review
proposal. Reported: when the last review ticket became visible (alone or in a group),
how many messages the triage channel carried (thread replies included), and whether
every ticket was decided, audited and routed exactly once.

    python bench/channel_surge.py [--json]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, select  # noqa: E402

from bot.channel.models import GroupMember, MemberKind, SummaryEntry, SurgeGroup  # noqa: E402
from bot.classifier import load_classifier  # noqa: E402
from bot.db import make_engine, upgrade  # noqa: E402
from bot.models import (  # noqa: E402
    AuditEvent,
    Decision,
    OutboxMessage,
    OutboxStatus,
    Ticket,
    TicketStatus,
    utcnow,
)
from bot.policies import require_policies  # noqa: E402
from bot.service import TriageService  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.tickets import TicketIn  # noqa: E402
from bot.triage import triage_text  # noqa: E402

TRIAGE = "C0TRIAGE"
BURST_SECONDS = 60
AGENT = "U0AGENT01"
# Near-duplicates: one report of one problem, as many people type it (times, names,
# greetings, small wording changes).
ONE_PROBLEM = [
    ("Can't log in since {t}", "Since {t} I cannot log in to the dashboard, it just spins. {name}"),
    ("Cannot log in since {t}", "Since {t} I can't log in to the dashboard, it just spins."),
    ("can't login since {t}", "since {t} i cannot log in to the dashboard, it just spins!! {name}"),
    ("Can't log in since {t}", "Hi, since {t} I cannot log in to the dashboard. Thanks, {name}"),
]
# Paraphrases: five different wordings of the same outage (--wordings five).
PHRASES = [
    ("Can't log in since {t}", "Since {t} I cannot log in to the dashboard, it just spins."),
    ("Cannot log in", "I can't log in since about {t} this morning. The login page never loads."),
    ("login broken", "Since {t} nobody on our team can log in. Is the site down?"),
    ("Site down?", "Your site seems down, can't log in since {t}. {name} here."),
    ("Login not working", "Hi, login has not worked since {t}, we are locked out. Thanks, {name}"),
]
NAMES = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jo"]


def near_duplicates(n: int, rng: random.Random, phrases: list | None = None) -> list[dict]:
    rows = []
    for i in range(n):
        subject, body = rng.choice(phrases or ONE_PROBLEM)
        t = f"10:{rng.randint(5, 25):02d}"
        name = rng.choice(NAMES)
        rows.append(
            {
                "id": f"O{i:04d}",
                "subject": subject.format(t=t, name=name),
                "body": body.format(t=t, name=name),
                "requester": f"{name} <{name.lower()}{i}@example.com>",
            }
        )
    return rows


def varied(service: TriageService, want_review: int, want_auto: int) -> list[dict]:
    rows = list(csv.DictReader((ROOT / "data" / "tickets_test.csv").open(encoding="utf-8")))
    review, auto = [], []
    for row in rows:
        text = f"{row['subject']}\n{row['body']}"
        result = triage_text(row["id"], text, service.classifier, service.policies)
        bucket = auto if result.decision == "auto" else review
        limit = want_auto if bucket is auto else want_review
        if len(bucket) < limit:
            bucket.append({k: row[k] for k in ("id", "subject", "body", "requester")})
        if len(review) >= want_review and len(auto) >= want_auto:
            break
    return review + auto


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class SlowSlack:
    """Delivers the outbox like Slack allows: 1 post/s per channel; updates apart."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.ts = 0
        self.next_post: dict[str, datetime] = {}
        self.posts: list[tuple[datetime, OutboxMessage]] = []
        self.updates = 0

    def tick(self) -> None:
        now = self.clock()
        with self.store.session() as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING.value)
                .order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
            ).all()
        busy: set[str] = set()
        for row in rows:
            channel = str(row.payload.get("channel") or "")
            if row.method == "chat.update":
                self.updates += 1
                self.store.outbox_sent(row.id or 0, channel, row.payload.get("ts"))
                continue
            if channel in busy or self.next_post.get(channel, now) > now:
                continue
            busy.add(channel)
            self.next_post[channel] = now + timedelta(seconds=1)
            self.ts += 1
            self.store.outbox_sent(row.id or 0, channel, f"1700000000.{self.ts:06d}")
            self.posts.append((now, row))

    def triage_posts(self) -> list[tuple[datetime, OutboxMessage]]:
        return [(at, row) for at, row in self.posts if row.payload.get("channel") == TRIAGE]


def setup(tmp: Path) -> tuple[Settings, Store, TriageService, Clock, SlowSlack]:
    """A fresh store, the shipped policies (launch gate off: the bot may route alone), the
    local classifier, summaries every 5 minutes and groups from 8 similar tickets."""
    policies = tmp / "policies"
    shutil.copytree(ROOT / "policies", policies)
    glob = policies / "_global.yml"
    glob.write_text(glob.read_text().replace("launch_min_decided: 50", "launch_min_decided: 0"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    settings = Settings(
        _env_file=None,
        database_url=url,
        policies_dir=policies,
        triage_channel=TRIAGE,
        routed_summary_seconds=300,
        surge_min_tickets=8,
    )
    engine = make_engine(url)
    store = Store(engine)
    classifier = load_classifier("local", settings=settings, engine=engine)
    service = TriageService(
        settings, store, classifier, require_policies(policies, list(classifier.tags))
    )
    clock = Clock(utcnow())
    service.summaries.clock = clock
    service.surge.clock = clock
    slack = SlowSlack(store, clock)

    return settings, store, service, clock, slack


def normal_day(hours: int = 3, seed: int = 7) -> dict:
    """20 tickets an hour, 80% routed alone: messages in the triage channel vs the target
    of at most one per review ticket plus one routed summary per interval."""
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="channel-day-"))
    try:
        settings, store, service, clock, slack = setup(tmp)
        start = clock.now
        tickets = varied(service, 4 * hours, 16 * hours)
        rng.shuffle(tickets)
        gap = 3600 / 20
        step = 5
        arrived = 0
        for second in range(0, hours * 3600 + 2 * settings.routed_summary_seconds, step):
            clock.now = start + timedelta(seconds=second)
            due = min(len(tickets), int(second // gap) + 1)
            if arrived < due:
                service.intake([TicketIn.from_raw(t) for t in tickets[arrived:due]], "bench")
                arrived = due
            service.process_new(limit=1000)
            service.summaries.flush(clock.now)
            service.surge.flush(clock.now)
            for _ in range(step):
                slack.tick()
        posts = slack.triage_posts()
        kinds = Counter(row.purpose for _, row in posts)
        with store.session() as session:
            review = len(
                session.exec(select(Ticket).where(Ticket.status == TicketStatus.REVIEW.value)).all()
            )
            slots = {e.slot for e in session.exec(select(SummaryEntry)).all()}
        return {
            "hours": hours,
            "tickets": len(tickets),
            "review_tickets": review,
            "intervals_with_routed_tickets": len(slots),
            "triage_channel_messages": len(posts),
            "target": review + len(slots),
            "by_kind": dict(kinds),
            "surge_groups": kinds.get("group", 0),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(seed: int = 7, wordings: str = "one") -> dict:
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="channel-bench-"))
    try:
        settings, store, service, clock, slack = setup(tmp)
        start = clock.now

        phrases = ONE_PROBLEM if wordings == "one" else PHRASES
        tickets = near_duplicates(800, rng, phrases) + varied(service, 100, 100)
        rng.shuffle(tickets)
        per_second = len(tickets) / BURST_SECONDS
        arrived = 0
        second = 0
        arrival: dict[str, float] = {}
        while True:
            due = min(len(tickets), round((second + 1) * per_second))
            if arrived < due:
                service.intake([TicketIn.from_raw(t) for t in tickets[arrived:due]], "bench")
                arrival.update({str(t["id"]): float(second) for t in tickets[arrived:due]})
                arrived = due
            service.process_new(limit=1000)
            service.summaries.flush(clock.now)
            service.surge.flush(clock.now)
            slack.tick()
            second += 1
            clock.now = start + timedelta(seconds=second)
            with store.session() as session:
                pending = session.exec(
                    select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING.value)
                ).first()
                unsummarised = session.exec(
                    select(Ticket).where(Ticket.status == TicketStatus.NEW.value)
                ).first()
            settled = arrived == len(tickets) and pending is None and unsummarised is None
            if settled and second > settings.routed_summary_seconds + BURST_SECONDS:
                break
            if second > 3 * 3600:
                raise RuntimeError("the bench did not settle in 3 virtual hours")

        visible = visibility(store, slack, start)
        waits = [at - arrival[tid] for tid, at in visible.items()]
        in_channel = len(slack.triage_posts())
        decide_everything(service, store, slack, clock)
        once = exactly_once(store, slack)
        return {
            "tickets": len(tickets),
            "wordings": wordings,
            "burst_seconds": BURST_SECONDS,
            "similar_but_guarded_listed_in_batches": apart_count(store),
            "waiting_for_a_human": len(visible),
            "single_proposals": sum(
                1 for _, row in slack.triage_posts() if row.purpose == "proposal"
            ),
            "max_seconds_arrival_to_visible": max(waits) if waits else None,
            "last_visible_after_burst_start": max(visible.values()) if visible else None,
            "triage_channel_messages_during_burst": in_channel,
            "triage_channel_messages_total": len(slack.triage_posts()),
            "by_kind": dict(Counter(row.purpose for _, row in slack.triage_posts())),
            "chat_updates": slack.updates,
            "groups": group_sizes(store),
            "varied_tickets_in_a_group": varied_in_groups(store),
            **once,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def visibility(store: Store, slack: SlowSlack, start: datetime) -> dict[str, float]:
    """Seconds from the burst's start until each review ticket was in front of agents."""
    shown: dict[str, float] = {}
    group_at: dict[str, float] = {}
    listed_at: dict[str, float] = {}
    for at, row in slack.triage_posts():
        seconds = (at - start).total_seconds()
        if row.purpose == "proposal" and row.ticket_id:
            shown.setdefault(row.ticket_id, seconds)
        if row.purpose == "group":
            group_at[row.dedupe_key] = seconds
        if row.purpose == "group_list":
            listed_at[row.dedupe_key] = seconds
    with store.session() as session:
        members = session.exec(select(GroupMember)).all()
        groups = {g.id: g for g in session.exec(select(SurgeGroup)).all()}
        review = session.exec(
            select(Ticket.id).where(col(Ticket.status) == TicketStatus.REVIEW.value)
        ).all()
    for member in members:
        group = groups.get(member.group_id)
        if member.kind == MemberKind.APART and member.list_key in listed_at:
            # A guarded member: visible, with its own controls, once its batch is posted.
            shown.setdefault(member.ticket_id, listed_at[member.list_key or ""])
        if group is not None and member.kind == MemberKind.MEMBER and group.head_key in group_at:
            # Visible in the group's count from its next refresh (at most HEAD_REFRESH later).
            joined = (member.joined_at - start).total_seconds()
            shown.setdefault(member.ticket_id, max(group_at[group.head_key], joined))
    return {tid: shown.get(tid, float("inf")) for tid in review}


def decide_everything(service: TriageService, store: Store, slack: SlowSlack, clock: Clock) -> None:
    with store.session() as session:
        groups = [g.id for g in session.exec(select(SurgeGroup)).all()]
    for group_id in groups:
        service.surge.decide(group_id or 0, AGENT, (TRIAGE, "1700000000.000001"))
    for ticket in store.tickets_with_status(TicketStatus.REVIEW, limit=5000):
        batch = service.surge.listed_apart(ticket.id)  # a guarded member: its batch message
        clicked = (
            (batch.result_channel or "", batch.result_ts or "")
            if batch is not None
            else (TRIAGE, ticket.message_ts or "")
        )
        service.route_by_human(ticket.id, AGENT, clicked)
    for _ in range(3600):
        clock.now += timedelta(seconds=1)
        service.summaries.flush(clock.now)
        service.surge.flush(clock.now)
        slack.tick()
        with store.session() as session:
            if (
                session.exec(
                    select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING.value)
                ).first()
                is None
            ):
                break


def exactly_once(store: Store, slack: SlowSlack) -> dict:
    with store.session() as session:
        tickets = session.exec(select(Ticket)).all()
        decisions = Counter(
            d.ticket_id
            for d in session.exec(select(Decision)).all()
            if d.action in ("auto", "approve", "reassign")
        )
        audited = Counter(
            e.ticket_id
            for e in session.exec(select(AuditEvent)).all()
            if e.action in ("approve", "reassign")
            or (e.action == "proposed" and e.detail.get("decision") == "auto")
        )
    routed = Counter()
    for _, row in slack.posts:
        if row.purpose != "route":
            continue
        if row.ticket_id:
            routed[row.ticket_id] += 1
        else:
            for token in str(row.payload.get("text", "")).split(": ", 1)[-1].split(", "):
                routed[token.lstrip("#")] += 1
    ids = [t.id for t in tickets]
    return {
        "undecided": sum(1 for t in tickets if t.status not in ("routed", "auto_routed")),
        "decided_once": all(decisions[i] == 1 for i in ids),
        "audited_once": all(audited[i] == 1 for i in ids),
        "routed_once": all(routed[i] == 1 for i in ids),
        "route_posts": sum(1 for _, r in slack.posts if r.purpose == "route"),
    }


def apart_count(store: Store) -> int:
    with store.session() as session:
        return len(
            session.exec(
                select(GroupMember).where(GroupMember.kind == MemberKind.APART.value)
            ).all()
        )


def varied_in_groups(store: Store) -> int:
    """Tickets of the 200 varied ones that landed in a surge group (near-duplicates are O…)."""
    with store.session() as session:
        members = session.exec(select(GroupMember)).all()
    return sum(1 for m in members if not m.ticket_id.startswith("O"))


def group_sizes(store: Store) -> list[int]:
    with store.session() as session:
        members = session.exec(
            select(GroupMember).where(GroupMember.kind == MemberKind.MEMBER.value)
        ).all()
    return sorted(Counter(m.group_id for m in members).values(), reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--wordings",
        choices=["one", "five"],
        default="one",
        help="near-duplicates of one report (default) or five paraphrases of the outage",
    )
    args = parser.parse_args()
    report = {"burst": run(args.seed, args.wordings), "normal_day": normal_day(seed=args.seed)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, part in report.items():
        print(f"== {name}")
        for key, value in part.items():
            print(f"{key:40} {value}")


if __name__ == "__main__":
    main()
