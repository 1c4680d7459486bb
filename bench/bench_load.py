"""Load benchmark, run by hand (not in CI). Loopback only, bounded (~2 min).

Starts a real `triage-bot serve` subprocess against a fresh store (a temporary SQLite file,
or a fresh schema in the PostgreSQL at --postgres) and a local fake Slack Web API in this
process, then measures:

  1. intake throughput to the durable store (202 = stored): batched and one-per-request
  2. intake-to-posted latency at a steady rate, with no rate limiting (SLACK_CHANNEL_RATE=0)
  3. acknowledgement latency of signed clicks: N arriving at once, then a steady rate
  4. a flood of 1 MB bodies (bad signatures), then the server's peak memory (VmHWM)

    python bench/bench_load.py                      # SQLite
    python bench/bench_load.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from benchkit import machine, pct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.intake.webhook import sign  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.slack_requests import block_action, signed_headers  # noqa: E402

SIGNING = "bench-signing-secret"
INTAKE = "bench-intake-secret"
CHANNEL = "C0TRIAGE"
SUBJECTS = [
    ("Invoice question", "Could someone look at my invoice? The amount looks wrong."),
    ("Cannot log in", "I reset my password but still cannot log in to my account."),
    ("Export", "How do I export my reports to CSV?"),
    ("Thanks", "Great support, thank you!"),
]


def ticket(i: int, prefix: str) -> dict[str, Any]:
    subject, body = SUBJECTS[i % len(SUBJECTS)]
    return {"id": f"{prefix}{i:06d}", "subject": subject, "body": body}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="bench_load_"))
        self.results: dict[str, Any] = {"machine": machine()}
        self.schema: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    # --- setup ------------------------------------------------------------------------------

    def database_url(self) -> str:
        if not self.args.postgres:
            self.results["store"] = "SQLite (WAL)"
            return f"sqlite:///{self.tmp / 'bench.db'}"
        from sqlalchemy import create_engine, text

        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = create_engine(self.args.postgres)
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        engine.dispose()
        self.results["store"] = "PostgreSQL"
        separator = "&" if "?" in self.args.postgres else "?"
        return f"{self.args.postgres}{separator}options=-csearch_path%3D{self.schema}"

    def policies(self) -> Path:
        """The bundled policies in suggest mode: every ticket waits for a click."""
        target = self.tmp / "policies"
        shutil.copytree(ROOT / "policies", target)
        for path in target.glob("[!_]*.yml"):
            data = yaml.safe_load(path.read_text())
            data["mode"] = "suggest"
            path.write_text(yaml.safe_dump(data))
        return target

    async def start(self, slack: FakeSlack) -> str:
        port = self.args.port or free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
        env.update(
            PYTHONPATH=str(ROOT),
            DATABASE_URL=self.database_url(),
            SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SIGNING,
            TRIAGE_CHANNEL=CHANNEL,
            INTAKE_SECRET=INTAKE,
            POLICIES_DIR=str(self.policies()),
            CLASSIFIER=self.args.classifier,
            SLACK_CHANNEL_RATE="0",
            ROUTED_SUMMARY_SECONDS="0",  # latency is measured per ticket post
            SURGE_MIN_TICKETS="0",
            WORKER_POLL_SECONDS="1",
            LOG_LEVEL="WARNING",
        )
        log = (self.tmp / "serve.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise SystemExit((self.tmp / "serve.log").read_text()[-3000:])
                try:
                    async with http.get(f"{base}/healthz") as response:
                        if response.status == 200:
                            return base
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise SystemExit("serve did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
        if self.schema:
            from sqlalchemy import create_engine, text

            engine = create_engine(self.args.postgres)
            with engine.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            engine.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # --- phases -----------------------------------------------------------------------------

    async def post(self, http: aiohttp.ClientSession, base: str, payload: Any) -> int:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-Triage-Signature": sign(INTAKE, body)}
        async with http.post(f"{base}/tickets", data=body, headers=headers) as response:
            await response.read()
            return response.status

    async def intake(self, http: aiohttp.ClientSession, base: str) -> None:
        n, size, parallel = self.args.tickets, 100, 4
        batches = [[ticket(i, "B") for i in range(s, min(n, s + size))] for s in range(0, n, size)]
        gate = asyncio.Semaphore(parallel)

        async def send(batch: list[dict[str, Any]]) -> int:
            async with gate:
                return await self.post(http, base, batch)

        started = time.perf_counter()
        statuses = await asyncio.gather(*(send(b) for b in batches))
        took = time.perf_counter() - started
        assert set(statuses) == {202}, statuses
        self.results["intake_batched_per_s"] = round(n / took)

        singles, parallel = self.args.single, 16
        gate = asyncio.Semaphore(parallel)

        async def one(i: int) -> int:
            async with gate:
                return await self.post(http, base, ticket(i, "S"))

        started = time.perf_counter()
        statuses = await asyncio.gather(*(one(i) for i in range(singles)))
        took = time.perf_counter() - started
        assert set(statuses) == {202}, statuses
        self.results["intake_single_per_s"] = round(singles / took)

    async def wait_posted(self, slack: FakeSlack, count: int, timeout: float = 300) -> None:
        await slack.wait_for(
            lambda s: len(s.accepted("chat.postMessage", CHANNEL)) >= count, timeout
        )

    async def latency(self, http: aiohttp.ClientSession, base: str, slack: FakeSlack) -> None:
        rate, seconds = self.args.latency_rate, self.args.latency_seconds
        sent: dict[str, float] = {}
        tasks = []
        started = time.monotonic()
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            item = ticket(i, "L")
            sent[item["id"]] = time.monotonic()
            tasks.append(asyncio.create_task(self.post(http, base, item)))
        await asyncio.gather(*tasks)
        await slack.wait_for(
            lambda s: (
                sum(
                    1
                    for c in s.accepted("chat.postMessage", CHANNEL)
                    if "#L" in str(c.params.get("text"))
                )
                >= len(sent)
            ),
            timeout=120,
        )
        posted: dict[str, float] = {}
        for call in slack.accepted("chat.postMessage", CHANNEL):
            for block in call.params.get("blocks") or []:
                block_id = str(block.get("block_id") or "")
                if block_id.startswith("triage:L"):
                    posted.setdefault(block_id.split(":", 1)[1], call.at)
        waits = [(posted[t] - sent[t]) * 1000 for t in sent]
        self.results["posted_latency_ms"] = {
            "rate_per_s": rate,
            "n": len(waits),
            "p50": round(pct(waits, 50), 1),
            "p95": round(pct(waits, 95), 1),
            "max": round(max(waits), 1),
        }

    async def click(
        self, http: aiohttp.ClientSession, base: str, slack: FakeSlack, ticket_id: str
    ) -> float:
        body = block_action(
            action_id="triage_approve",
            block_id=f"triage:{ticket_id}",
            user_id="U0BENCH",
            channel=CHANNEL,
            message_ts="1700000000.000001",
            response_url=slack.response_url,
            value=ticket_id,
        )
        headers = signed_headers(SIGNING, body)
        started = time.perf_counter()
        async with http.post(
            f"{base}/slack/events", data=body.encode(), headers=headers
        ) as response:
            await response.read()
            assert response.status == 200, response.status
        return (time.perf_counter() - started) * 1000

    async def clicks(self, http: aiohttp.ClientSession, base: str, slack: FakeSlack) -> None:
        burst = self.args.click_burst
        ids = [ticket(i, "B")["id"] for i in range(self.args.tickets)]
        at_once = await asyncio.gather(*(self.click(http, base, slack, t) for t in ids[:burst]))
        self.results["click_burst_ms"] = {
            "n": burst,
            "p50": round(pct(at_once, 50), 1),
            "p99": round(pct(at_once, 99), 1),
            "max": round(max(at_once), 1),
            "over_3s": sum(1 for v in at_once if v > 3000),
        }
        rate, seconds = self.args.click_rate, self.args.click_seconds
        steady_ids = ids[burst : burst + int(rate * seconds)]
        tasks = []
        started = time.monotonic()
        for i, ticket_id in enumerate(steady_ids):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            tasks.append(asyncio.create_task(self.click(http, base, slack, ticket_id)))
        steady = await asyncio.gather(*tasks)
        self.results["click_steady_ms"] = {
            "rate_per_s": rate,
            "n": len(steady),
            "p50": round(pct(steady, 50), 1),
            "p99": round(pct(steady, 99), 1),
            "max": round(max(steady), 1),
        }

    async def flood(self, http: aiohttp.ClientSession, base: str) -> None:
        """Concurrent 1 MB bodies with bad signatures: memory must stay bounded."""
        body = b'{"id": "flood", "body": "' + b"x" * (1024 * 1024 - 40) + b'"}'
        headers = {"Content-Type": "application/json", "X-Triage-Signature": "sha256=00"}

        async def one() -> int:
            async with http.post(f"{base}/tickets", data=body, headers=headers) as response:
                await response.read()
                return response.status

        for _ in range(self.args.flood_rounds):
            statuses = await asyncio.gather(*(one() for _ in range(self.args.flood)))
            assert set(statuses) == {401}, set(statuses)
        self.results["flood"] = (
            f"{self.args.flood_rounds} x {self.args.flood} concurrent 1 MB bodies"
        )

    async def run(self) -> dict[str, Any]:
        slack = await FakeSlack().start()
        try:
            base = await self.start(slack)
            assert self.proc is not None
            self.results["server_rss_at_start_mb"] = round(peak_rss_mb(self.proc.pid), 1)
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                print("intake …", flush=True)
                await self.intake(http, base)
                print("waiting for every stored ticket to be posted …", flush=True)
                await self.wait_posted(slack, self.args.tickets + self.args.single)
                print("intake-to-posted latency …", flush=True)
                await self.latency(http, base, slack)
                print("click acknowledgements …", flush=True)
                await self.clicks(http, base, slack)
                self.results["server_peak_rss_before_flood_mb"] = round(
                    peak_rss_mb(self.proc.pid), 1
                )
                print("flood …", flush=True)
                await self.flood(http, base)
            assert self.proc is not None
            self.results["server_peak_rss_mb"] = round(peak_rss_mb(self.proc.pid), 1)
        finally:
            await slack.stop()
            self.stop()
        return self.results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--postgres", help="a PostgreSQL URL; a fresh schema is created and dropped"
    )
    parser.add_argument("--port", type=int, default=0, help="default: a free loopback port")
    parser.add_argument("--classifier", default="local")
    parser.add_argument(
        "--tickets", type=int, default=5000, help="batched intake (100 per request)"
    )
    parser.add_argument("--single", type=int, default=1000, help="one-ticket requests")
    parser.add_argument("--latency-rate", type=float, default=20.0)
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--click-burst", type=int, default=200)
    parser.add_argument("--click-rate", type=float, default=50.0)
    parser.add_argument("--click-seconds", type=float, default=10.0)
    parser.add_argument("--flood", type=int, default=100)
    parser.add_argument("--flood-rounds", type=int, default=3)
    args = parser.parse_args()
    if args.tickets < args.click_burst + args.click_rate * args.click_seconds:
        parser.error("--tickets must cover every click (burst + rate x seconds)")
    results = asyncio.run(Bench(args).run())
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
