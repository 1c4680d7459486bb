"""Benchmark of the embedded classifier: load time, throughput on one core, `classify` of
10,000 tickets, peak memory. Run by hand (not in CI); loopback only, bounded.

    python bench/bench_classifier.py            # prints a Markdown block for the README

Every figure comes from a fresh subprocess pinned to one CPU with BLAS limited to one
thread, so it is what a single `triage-bot` process on one core does.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
N_TICKETS = 10_000
ONE_CORE_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "CLASSIFIER": "local",
}


def pinned(cmd: list[str]) -> list[str]:
    return (["taskset", "-c", "0"] if shutil.which("taskset") else []) + cmd


def run(cmd: list[str], stdout=subprocess.PIPE) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stdout) of one pinned child process, from its own rusage."""
    env = {**os.environ, **ONE_CORE_ENV}
    started = time.perf_counter()
    child = subprocess.Popen(
        pinned(cmd), cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.DEVNULL, text=True
    )
    out = child.stdout.read() if stdout is subprocess.PIPE and child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} failed with exit code {child.returncode}")
    return wall, usage.ru_maxrss // 1024, out


def make_ticket_file(n: int) -> Path:
    """n tickets cycled from the labelled files (new ids), as the CSV `classify` reads."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"tickets_{n}.csv"
    source = []
    for name in ("tickets_test.csv", "tickets_train.csv"):
        with (ROOT / "data" / name).open(encoding="utf-8", newline="") as handle:
            source.extend(csv.DictReader(handle))
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "subject", "body", "created_at", "requester"])
        for i in range(n):
            row = source[i % len(source)]
            writer.writerow(
                [f"B{i:06d}", row["subject"], row["body"], row["created_at"], row["requester"]]
            )
    return path


LOAD_SNIPPET = """
import json, time
t0 = time.perf_counter()
from bot.classifier.local import BUNDLED_MODEL, LocalModel
t1 = time.perf_counter()
model = LocalModel.load(BUNDLED_MODEL)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "version": model.version}))
"""

THROUGHPUT_SNIPPET = """
import csv, json, sys, time
from bot.classifier.local import BUNDLED_MODEL, LocalModel
from bot.policies import load_policies
from bot.triage import triage_text
from pathlib import Path
texts = []
with open(sys.argv[1], encoding="utf-8", newline="") as handle:
    for row in csv.DictReader(handle):
        texts.append((row["subject"] + "\\n" + row["body"]).strip())
model = LocalModel.load(BUNDLED_MODEL)
policies, _ = load_policies(Path("policies"))
t0 = time.perf_counter()
for i, text in enumerate(texts):  # first, with every cache cold
    triage_text(str(i), text, model, policies)
t1 = time.perf_counter()
fresh = LocalModel.load(BUNDLED_MODEL)
t2 = time.perf_counter()
for text in texts:
    fresh.predict(text)
t3 = time.perf_counter()
print(json.dumps({"n": len(texts), "triage_s": t1 - t0, "predict_s": t3 - t2,
                  "mean_chars": sum(map(len, texts)) / len(texts)}))
"""


def main() -> None:
    tickets = make_ticket_file(N_TICKETS)
    cpu = "unknown"
    if shutil.which("lscpu"):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    loads = [json.loads(run([sys.executable, "-c", LOAD_SNIPPET])[2]) for _ in range(5)]
    load_s = sorted(x["load_s"] for x in loads)[2]
    import_s = sorted(x["import_s"] for x in loads)[2]
    _, tp_rss, tp_out = run([sys.executable, "-c", THROUGHPUT_SNIPPET, str(tickets)])
    tp = json.loads(tp_out)
    with (OUT / "classify.jsonl").open("w", encoding="utf-8") as sink:
        wall, rss, _ = run(
            [sys.executable, "-m", "bot", "classify", str(tickets), "--format", "jsonl"],
            stdout=sink,
        )
    with (OUT / "classify.jsonl").open(encoding="utf-8") as handle:
        lines = sum(1 for _ in handle)
    assert lines == N_TICKETS, f"classify printed {lines} lines for {N_TICKETS} tickets"
    print(
        f"Machine: {cpu}, {os.cpu_count()} cores (pinned to one), Python {platform.python_version()}"
    )
    print(
        f"Model: {loads[0]['version']}, {tp['n']:,} tickets, mean {tp['mean_chars']:.0f} characters"
    )
    print()
    print("| measure | figure | target |")
    print("|---|---|---|")
    print(
        f"| model load (median of 5, file → ready) | {load_s * 1000:.0f} ms (+ {import_s * 1000:.0f} ms imports) | < 1 s |"
    )
    print(f"| predict, one core | {tp['n'] / tp['predict_s']:,.0f} tickets/s | ≥ 1,000/s |")
    print(
        f"| predict + guardrails + policy decision, one core | {tp['n'] / tp['triage_s']:,.0f} tickets/s | ≥ 1,000/s |"
    )
    print(
        f"| `triage-bot classify` of {N_TICKETS:,} tickets (process start to exit) | {wall:.1f} s | < 30 s |"
    )
    print(f"| peak memory of that `classify` process (max RSS) | {rss} MB | < 300 MB |")
    print(f"| peak memory of the throughput process | {tp_rss} MB | < 300 MB |")


if __name__ == "__main__":
    main()
