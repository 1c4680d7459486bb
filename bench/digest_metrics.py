"""How long the daily digest takes to compute on a busy store (run by hand, loopback only).

    python bench/digest_metrics.py --per-day 5000 --days 21
    python bench/digest_metrics.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Seeds `days` days of tickets (70% auto-routed, 3% of those corrected; the rest reviewed
and decided) with proposals and decisions into a fresh store (a temporary SQLite file, or
a fresh schema on the given PostgreSQL), then times building the digest (all metrics,
the baseline comparison and the waiting list), rendering its blocks and drawing the chart.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from bot.db import make_engine, upgrade
from bot.digest.build import build_digest
from bot.digest.chart import trend_png
from bot.digest.render import digest_blocks
from bot.models import Decision, Proposal, Ticket
from bot.store import Store

POLICIES = ["billing", "bug", "account_access", "how_to", "feature_request"]


def seed(store: Store, days: int, per_day: int, end: datetime) -> int:
    rng = random.Random(5)
    total = 0
    for day in range(days):
        base = end - timedelta(days=days - day)
        tickets, proposals, decisions = [], [], []
        for n in range(per_day):
            tid = f"{day}-{n}"
            received = base + timedelta(seconds=rng.randrange(86_400))
            policy = rng.choice(POLICIES)
            auto = rng.random() < 0.7
            route = received + timedelta(seconds=rng.randrange(5, 3600 if auto else 14_400))
            tickets.append(
                {
                    "id": tid,
                    "subject": "s",
                    "body": "",
                    "requester": "",
                    "created_at": received,
                    "received_at": received,
                    "source": "sql",
                    "status": "auto_routed" if auto else "routed",
                    "proposed_tag": policy,
                    "final_tag": policy,
                    "policy": policy,
                    "page_level": 0,
                    "first_response_at": received + timedelta(hours=rng.uniform(1, 12)),
                }
            )
            proposals.append(
                {
                    "ticket_id": tid,
                    "tag": policy,
                    "policy": policy,
                    "confidence": 0.9,
                    "sentiment": "neutral",
                    "decision": "auto" if auto else "review",
                    "reasons": [],
                    "guardrails": [] if auto else ["low_confidence"],
                    "scores": {},
                    "model_version": "bench",
                    "created_at": received,
                }
            )
            action = "auto" if auto else rng.choice(["approve", "approve", "reassign"])
            actor = "bot" if auto else "U0AGENT01"
            decisions.append(
                {"ticket_id": tid, "action": action, "tag": policy, "proposed_tag": policy,
                 "actor": actor, "at": route}
            )  # fmt: skip
            if auto and rng.random() < 0.03:
                decisions.append(
                    {"ticket_id": tid, "action": "reassign", "tag": "bug", "proposed_tag": policy,
                     "actor": "U0AGENT01", "at": route + timedelta(hours=1)}
                )  # fmt: skip
        with store.engine.begin() as connection:
            connection.execute(insert(Ticket), tickets)
            connection.execute(insert(Proposal), proposals)
            connection.execute(insert(Decision), decisions)
        total += len(tickets)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--per-day", type=int, default=5000)
    parser.add_argument("--database-url", help="PostgreSQL base URL (default: a temp SQLite file)")
    args = parser.parse_args()
    schema = None
    if args.database_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(args.database_url).begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.database_url}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    end = datetime(2026, 11, 27, tzinfo=UTC)
    started = time.perf_counter()
    total = seed(store, args.days, args.per_day, end)
    print(
        f"seeded {total:,} tickets in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})"
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    digest = build_digest(store, "UTC", (end - timedelta(days=1)).date(), end)
    built = time.perf_counter() - started
    started = time.perf_counter()
    blocks = digest_blocks(digest, end)
    rendered = time.perf_counter() - started
    started = time.perf_counter()
    png = trend_png(digest.trend)
    drawn = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"digest: build {built:.2f} s, blocks {rendered * 1000:.0f} ms ({len(blocks)} blocks), "
        f"chart {drawn:.2f} s ({len(png) / 1024:.0f} KiB); "
        f"peak RSS {rss_after / 1024:.0f} MiB (+{(rss_after - rss_before) / 1024:.0f} MiB)"
    )
    print(f"report day volume {digest.day.volume:,}, precision {digest.day.precision:.3f}")
    store.engine.dispose()
    if schema:
        with create_engine(args.database_url).begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


if __name__ == "__main__":
    main()
