"""How long the launch gate takes to measure on a busy store (run by hand, bounded, loopback).

Seeds PER_POLICY decided tickets (with proposals) for every bundled policy, then times
`launch_gates` (what /triage-status and App Home measure) and `ModeBook.effective` as the
worker calls it per batch of new tickets: cold (re-measured) and warm (30 s cache).

    python bench/launch_gate.py --per-policy 20000
    python bench/launch_gate.py --per-policy 20000 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.db import make_engine, upgrade  # noqa: E402
from bot.models import Proposal, Ticket, utcnow  # noqa: E402
from bot.ownership.gate import launch_gates  # noqa: E402
from bot.ownership.modes import ModeBook  # noqa: E402
from bot.policies import GlobalSettings, PolicySet, load_policies  # noqa: E402
from bot.store import Store  # noqa: E402


def seed(store: Store, policies: PolicySet, per_policy: int) -> None:
    now = utcnow()
    rng = random.Random(6)
    tags = policies.tags
    for tag in tags:
        tickets, proposals = [], []
        for i in range(per_policy):
            tid = f"{tag}-{i}"
            final = tag if rng.random() < 0.96 else rng.choice(tags)
            at = now - timedelta(minutes=rng.randrange(60 * 24 * 40))
            tickets.append(
                {
                    "id": tid,
                    "subject": "",
                    "body": "",
                    "requester": "",
                    "received_at": at,
                    "source": "bench",
                    "status": "routed",
                    "proposed_tag": tag,
                    "final_tag": final,
                    "decided_at": at,
                    "decided_by": "U0AGENT01",
                    "page_level": 0,
                }
            )
            proposals.append(
                {
                    "ticket_id": tid,
                    "tag": tag,
                    "policy": tag,
                    "confidence": 0.95,
                    "sentiment": "neutral",
                    "decision": "review",
                    "reasons": [],
                    "guardrails": ["mode_suggest"] if rng.random() < 0.7 else ["low_confidence"],
                    "scores": {},
                    "model_version": "bench",
                    "created_at": at,
                }
            )
        with store.engine.begin() as connection:
            connection.execute(insert(Ticket), tickets)
            connection.execute(insert(Proposal), proposals)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-policy", type=int, default=20000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    schema = None
    if args.database_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.database_url)
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{args.database_url}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    try:
        upgrade(url)
        loaded, problems = load_policies(ROOT / "policies")
        assert loaded is not None and not problems, problems
        policies = PolicySet(
            policies=loaded.policies,
            global_settings=GlobalSettings(owners=["U0SUPPLEAD"], launch_min_decided=50),
        )
        engine = make_engine(url)
        store = Store(engine)
        t0 = time.perf_counter()
        seed(store, policies, args.per_policy)
        print(
            f"seeded {args.per_policy * len(policies.tags):,} decided tickets in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        cold = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            gates = launch_gates(store, policies)
            cold.append(time.perf_counter() - t0)
        print(
            f"launch_gates, {len(gates)} policies: min {min(cold) * 1000:.0f} ms, "
            f"max {max(cold) * 1000:.0f} ms"
        )
        book = ModeBook(store, policies)
        book.effective()
        warm = []
        for _ in range(args.repeat * 20):
            t0 = time.perf_counter()
            book.effective()
            warm.append(time.perf_counter() - t0)
        print(
            f"ModeBook.effective, cached gates (per worker batch): median "
            f"{sorted(warm)[len(warm) // 2] * 1000:.1f} ms"
        )
        sample = gates["billing"]
        print(f"billing: {sample.describe()}")
        engine.dispose()
    finally:
        if schema:
            with admin.begin() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
