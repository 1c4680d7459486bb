"""Benchmark of the helpdesk source (run by hand; loopback PostgreSQL only).

    python bench/bench_source.py [--rows 100000] [--url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Builds a legacy helpdesk table of N rows (HTML bodies, text ids, a real timestamp column)
in a throwaway schema, a throwaway schema for the bot's store, then measures:
  1. the first sync (SOURCE_START=all: every row becomes a stored ticket), with RSS sampled
     after every batch (memory must stay flat: rows are streamed, not loaded whole);
  2. a poll that finds nothing new (median and max of 30);
  3. the first sync in the default mode (history becomes the baseline table).
Everything it creates is dropped at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.db import make_engine, upgrade
from bot.settings import Settings
from bot.source.poller import PollResult, SourcePoller
from bot.store import Store

QUERY = (
    "SELECT ref AS id, title AS subject, body, opened AS created_at, email AS requester, "
    "first_reply AS first_response_at, closed AS resolved_at FROM hd_ticket"
)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def build_source(admin, schema: str, rows: int) -> None:
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
        c.execute(text(f'SET search_path TO "{schema}"'))
        c.execute(
            text(
                "CREATE TABLE hd_ticket (seq SERIAL PRIMARY KEY, ref CHAR(12), title TEXT,"
                " body TEXT, opened TIMESTAMPTZ, email TEXT, first_reply TIMESTAMPTZ,"
                " closed TIMESTAMPTZ)"
            )
        )
        c.execute(
            text(
                "INSERT INTO hd_ticket (ref, title, body, opened, email, first_reply, closed) "
                "SELECT lpad(g::text, 8, '0'), 'Invoice question #' || g, "
                "'<p>Hello team,</p><p>I was charged twice for order ' || g || "
                "' &amp; the refund has not arrived.</p>' || repeat('<br>More detail here. ', 20) "
                "|| E'\\n-- \\nCustomer signature', "
                "now() - interval '400 days' + g * interval '5 minutes', "
                "'user' || g || '@example.com', "
                "now() - interval '400 days' + g * interval '5 minutes' + interval '2 hours', "
                "CASE WHEN g % 3 = 0 THEN NULL ELSE now() - interval '399 days' "
                "+ g * interval '5 minutes' END "
                f"FROM generate_series(1, {rows}) AS g"
            )
        )
        c.execute(text("CREATE INDEX hd_ticket_opened ON hd_ticket (opened)"))
        c.execute(text("ANALYZE hd_ticket"))


def run_sync(
    url: str, source_url: str, start: str | None, label: str
) -> tuple[SourcePoller, Store]:
    upgrade(url)
    store = Store(make_engine(url))
    settings = Settings(
        _env_file=None,
        database_url=url,
        source_database_url=source_url,
        source_query=QUERY,
        source_start=start,
        source_batch_size=1000,
    )
    poller = SourcePoller(settings, store)
    samples: list[tuple[int, float]] = []

    def progress(result: PollResult) -> None:
        samples.append((result.rows_read, rss_mib()))

    before = rss_mib()
    began, cpu = time.perf_counter(), time.process_time()
    result = poller.poll_once(progress)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    assert result.error is None, result.error
    print(
        f"[{label}] first sync: {result.summary()} in {elapsed:.1f} s "
        f"({result.rows_read / elapsed:,.0f} rows/s); bot process CPU {cpu:.1f} s"
    )
    marks = [samples[0]] + [samples[len(samples) * k // 4 - 1] for k in (1, 2, 3, 4)]
    print(
        f"[{label}] RSS before {before:.0f} MiB; "
        + ", ".join(f"{rows:,} rows: {mib:.0f} MiB" for rows, mib in marks)
    )
    settled = [mib for rows, mib in samples if rows >= samples[-1][0] // 10]
    print(
        f"[{label}] RSS growth from 10% to 100% of the sync: {max(settled) - min(settled):.1f} MiB"
    )
    return poller, store


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    suffix = uuid.uuid4().hex[:8]
    source_schema, store_schema, base_schema = (
        f"bench_hd_{suffix}",
        f"bench_bot_{suffix}",
        f"bench_bl_{suffix}",
    )
    admin = create_engine(args.url)
    sep = "&" if "?" in args.url else "?"
    try:
        t0 = time.perf_counter()
        build_source(admin, source_schema, args.rows)
        print(f"built {args.rows:,} source rows in {time.perf_counter() - t0:.1f} s")
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{store_schema}"'))
            c.execute(text(f'CREATE SCHEMA "{base_schema}"'))
        source_url = f"{args.url}{sep}options=-csearch_path%3D{source_schema}"
        store_url = f"{args.url}{sep}options=-csearch_path%3D{store_schema}"
        poller, store = run_sync(store_url, source_url, "all", "tickets")
        assert store.count_tickets() == args.rows

        quiet: list[float] = []
        cpu = time.process_time()
        for _ in range(30):
            began = time.perf_counter()
            result = poller.poll_once()
            quiet.append((time.perf_counter() - began) * 1000)
            assert result.new == 0 and result.error is None
        print(
            f"quiet poll (nothing new): median {statistics.median(quiet):.1f} ms, "
            f"max {max(quiet):.1f} ms over 30 polls; "
            f"bot process CPU {(time.process_time() - cpu) * 1000 / 30:.1f} ms per poll"
        )
        poller.close()
        store.engine.dispose()

        base_url = f"{args.url}{sep}options=-csearch_path%3D{base_schema}"
        poller, store = run_sync(base_url, source_url, None, "baseline")
        poller.close()
        store.engine.dispose()
    finally:
        with admin.begin() as c:
            for schema in (source_schema, store_schema, base_schema):
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
