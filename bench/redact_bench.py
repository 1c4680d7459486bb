"""Throughput of PII redaction (bot.redact), which runs on every Slack post and LLM call.

Run by hand: `python bench/redact_bench.py [--seconds 3]`. Loopback-free, CPU only.
Prints tickets per second for three kinds of text: plain, PII-heavy, and a long body.
"""

from __future__ import annotations

import argparse
import time

from bot.redact import redact

PLAIN = (
    "Hi, the export to CSV button does nothing when I click it in Chrome on the reports "
    "page. It worked last week (version 3.2.1). Could you take a look? Thanks, Ana. "
) * 6
PII = (
    "I was charged twice on card 4111 1111 1111 1111 for order #12345 on 2024-01-01. "
    "Refund one of them, please: mail jane.doe@example.com or call +44 20 7946 0958. "
    "My password: hunter2! IBAN GB82 WEST 1234 5698 7654 32. "
) * 5
LONG = PLAIN * 20  # about 20 KB: a forwarded thread


def rate(text: str, seconds: float) -> tuple[float, float]:
    """(calls per second, microseconds per KB)."""
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        redact(text)
        done += 1
    elapsed = time.perf_counter() - started
    return done / elapsed, elapsed / done * 1e6 / (len(text) / 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    print(f"{'text':<10} {'chars':>7} {'per second':>11} {'µs per KB':>10}")
    for name, text in (("plain", PLAIN), ("pii", PII), ("long", LONG)):
        per_second, per_kb = rate(text, args.seconds)
        print(f"{name:<10} {len(text):>7} {per_second:>11,.0f} {per_kb:>10,.0f}")


if __name__ == "__main__":
    main()
