"""Signed slash commands under an unsigned flood and slow senders. Run by hand, not in CI.

Loopback only, bounded (about a minute). Starts a real `triage-bot serve` subprocess on a
temporary SQLite store and a local fake Slack Web API in this process, then measures how
long a signed `/triage-status` takes to be acknowledged (HTTP 200: what Slack's 3-second
rule is about) and answered (the ephemeral reply POSTed to response_url):

  1. quiet: nothing else going on
  2. attacked: SLOW slow senders (headers and one body byte, then nothing) are connected
     and FLOODERS unsigned senders POST 2 MB forms of 245,000 fields back to back

    python bench/bench_unsigned_flood.py [--flooders 4] [--slow 32] [--commands 20]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from benchkit import machine, pct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.slack_requests import signed_headers, slash_command  # noqa: E402

SIGNING = "bench-signing-secret"
OWNER = "U0SUPPLEAD"
SLACK_DEADLINE = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def flood_body() -> bytes:
    return b"&".join(b"a=%d" % i for i in range(245_000))[: 2 * 1024 * 1024]


async def start_serve(tmp: Path, slack: FakeSlack) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=f"sqlite:///{tmp / 'bench.db'}",
        SLACK_API_URL=slack.api_url,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SIGNING,
        TRIAGE_CHANNEL="C0TRIAGE",
        INTAKE_SECRET="bench-intake",
        POLICIES_DIR=str(ROOT / "policies"),
        LOG_LEVEL="WARNING",
        RETRAIN_TIME="",
    )
    log = (tmp / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.poll() is not None:
                raise SystemExit((tmp / "serve.log").read_text()[-3000:])
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return proc, base
            await asyncio.sleep(0.1)
    raise SystemExit("serve did not start")


async def commands(base: str, slack: FakeSlack, count: int, tag: str) -> dict[str, float]:
    """`count` signed /triage-status, one after another: ack and answer latencies (s)."""
    acks: list[float] = []
    answers: list[float] = []
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        for i in range(count):
            body = slash_command("/triage-status", f"{tag}-{i}", OWNER, slack.response_url)
            before = len(slack.responses)
            started = time.perf_counter()
            async with http.post(
                f"{base}/slack/events", data=body.encode(), headers=signed_headers(SIGNING, body)
            ) as response:
                await response.read()
                assert response.status == 200, response.status
            acks.append(time.perf_counter() - started)
            await slack.wait_for(lambda s, n=before: len(s.responses) > n, timeout=60)
            answers.append(time.perf_counter() - started)
            await asyncio.sleep(0.2)
    return {
        "ack_p50": pct(acks, 50),
        "ack_p95": pct(acks, 95),
        "ack_max": max(acks),
        "answer_p50": pct(answers, 50),
        "answer_max": max(answers),
        "within_3s": sum(a <= SLACK_DEADLINE for a in acks) / len(acks),
    }


async def slow_senders(port: int, count: int) -> list[asyncio.StreamWriter]:
    writers = []
    for _ in range(count):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\np"
        )
        await writer.drain()
        writers.append(writer)
    return writers


async def flooder(base: str, body: bytes, statuses: list[int], stop: asyncio.Event) -> None:
    async with aiohttp.ClientSession() as http:
        while not stop.is_set():
            try:
                async with http.post(
                    f"{base}/slack/events",
                    data=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                ) as response:
                    await response.read()
                    statuses.append(response.status)
            except aiohttp.ClientError:
                statuses.append(0)


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_flood_"))
    slack = await FakeSlack().start()
    proc = None
    try:
        proc, base = await start_serve(tmp, slack)
        port = int(base.rsplit(":", 1)[1])
        await commands(base, slack, 2, "warm")
        quiet = await commands(base, slack, args.commands, "quiet")
        writers = await slow_senders(port, args.slow)
        body, statuses, stop = flood_body(), [], asyncio.Event()
        floods = [
            asyncio.create_task(flooder(base, body, statuses, stop)) for _ in range(args.flooders)
        ]
        started = time.perf_counter()
        attacked = await commands(base, slack, args.commands, "flood")
        took = time.perf_counter() - started
        stop.set()
        await asyncio.gather(*floods, return_exceptions=True)
        for writer in writers:
            writer.close()
        print(f"machine: {machine()}")
        print(
            "serve: MAX_CONCURRENT_REQUESTS=16 (default), REQUEST_READ_TIMEOUT_SECONDS=10 (default)"
        )
        for name, figures in (("quiet", quiet), ("attacked", attacked)):
            print(
                f"{name:9s} ack p50 {figures['ack_p50'] * 1000:.0f} ms, p95 "
                f"{figures['ack_p95'] * 1000:.0f} ms, max {figures['ack_max'] * 1000:.0f} ms; "
                f"answer p50 {figures['answer_p50'] * 1000:.0f} ms, max "
                f"{figures['answer_max'] * 1000:.0f} ms; acked within 3 s: "
                f"{figures['within_3s']:.0%} of {args.commands}"
            )
        rate = len(statuses) * len(body) / took / 1e6
        print(
            f"attack: {args.slow} slow senders connected, {args.flooders} unsigned flooders sent "
            f"{len(statuses)} bodies of {len(body) / 1e6:.1f} MB ({rate:.0f} MB/s) in {took:.1f} s; "
            f"answers: { {s: statuses.count(s) for s in sorted(set(statuses))} }"
        )
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)
        await slack.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flooders", type=int, default=4)
    parser.add_argument("--slow", type=int, default=32)
    parser.add_argument("--commands", type=int, default=20)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
