"""Speed and memory of the local model alone: load time, predict_many at ~1 KB, peak RSS.

    python bench/bench_model_speed.py [--model FILE] [--n 3000] [--chars 1000]

Runs the measurement in a fresh child pinned to one CPU (taskset) with one BLAS thread,
so the figures are what one `triage-bot` process on one core does. Tickets are the
synthetic test split's texts padded/cut to `--chars` characters (real-length tickets).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
}

CHILD = r"""
import csv, json, resource, sys, time
started = time.perf_counter()
from bot.classifier.local import LocalModel
model = LocalModel.load(__import__("pathlib").Path(sys.argv[1]))
loaded = time.perf_counter() - started
n, chars = int(sys.argv[2]), int(sys.argv[3])
with open("data/tickets_test.csv", encoding="utf-8", newline="") as handle:
    base = [f"{r['subject']}\n{r['body']}" for r in csv.DictReader(handle)]
texts = []
while len(texts) < n:
    for t in base:
        while len(t) < chars:
            t = t + "\n" + t
        texts.append(t[:chars])
texts = texts[:n]
model.predict_many(texts[:50])
t0, c0 = time.perf_counter(), time.process_time()
model.predict_many(texts)
t1, c1 = time.perf_counter(), time.process_time()
fresh = [f"{t} (ref {i})" for i, t in enumerate(texts[:500])]  # caches must not help
start = time.perf_counter()
for t in fresh:
    model.predict(t)
single = 500 / (time.perf_counter() - start)
import bot.classifier.local as local
neutral = local.read_signals("")
local.read_signals = lambda text: neutral  # the sentiment signals are measured elsewhere
texts = [f"{t} (case {i})" for i, t in enumerate(texts)]
t2, c2 = time.perf_counter(), time.process_time()
model.predict_many(texts)
own = n / (time.perf_counter() - t2)
own_cpu = n / (time.process_time() - c2)
print(json.dumps({"load_s": round(loaded, 3), "per_s_batch": round(n / (t1 - t0)),
    "per_s_model_only": round(own), "cpu_per_s_model_only": round(own_cpu),
    "cpu_per_s_batch": round(n / (c1 - c0)),
    "per_s_single": round(single), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "bot/classifier/data/triage-model.npz")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--chars", type=int, default=1000)
    args = parser.parse_args()
    cmd = [sys.executable, "-c", CHILD, str(args.model), str(args.n), str(args.chars)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    out = subprocess.run(
        cmd, cwd=ROOT, env={**os.environ, **ENV}, check=True, capture_output=True, text=True
    ).stdout
    figures = json.loads(out)
    load = os.getloadavg()[0]
    print(
        f"one core, {args.chars}-char tickets, {args.n} tickets; load average {load:.1f} "
        f"on {os.cpu_count()} CPUs while measuring"
    )
    print(
        f"load {figures['load_s']} s; predict_many {figures['per_s_batch']}/s; "
        f"predict one by one {figures['per_s_single']}/s; peak RSS {figures['rss_mb']} MB"
    )
    print(
        "model alone (TF-IDF + embedding + familiarity + issue split; the sentiment signals "
        f"left out): {figures['per_s_model_only']}/s"
    )
    print(
        "per second of CPU time (what one idle core would do; the wall-clock figures above "
        f"suffer from other processes): predict_many {figures['cpu_per_s_batch']}/s, "
        f"model alone {figures['cpu_per_s_model_only']}/s"
    )


if __name__ == "__main__":
    main()
