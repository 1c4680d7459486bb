"""One benchmark runner: every speed figure of the bot beside its floor, measured in one run.

    python bench/run.py                                   # synthetic corpus only
    python bench/run.py --corpus PATH                     # + real text (see below)
    python bench/run.py --corpus PATH --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/run.py --quick                           # smaller counts, a minute or two
    python bench/run.py --million                         # also classify 1,000,000 tickets

Each row is measured next to a peer or a floor on the same machine in the same run
(sklearn TF-IDF + LinearSVC batched; a bare aiohttp server with the same HMAC and JSON;
raw sqlite3 with the same durability; a minimal CLI), and the ratio is printed with the
target. CPU-bound rows run pinned to one core (taskset), so figures are per core.

The real-text corpus is built by a seeded builder from allowed text: `--corpus` takes
CLINC150's `data_full.json` (its train queries), BANKING77's `train.csv` (column
`text`), or any file of one text per line. Sentences are joined into tickets with a
median near 1 KB and a tail to 200 KB. Without `--corpus` the runner says so and builds
the long tickets from the bundled synthetic tickets instead. Loopback only; bounded.

With BENCH_PROFILE_DIR set, each bot server runs under cProfile and writes
`serve-<port>.prof` there when stopped (its event loop thread only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import machine, pct

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

SIGNING = "bench-signing-secret"
INTAKE = "bench-intake-secret"
CHANNEL = "C0TRIAGE"
WARM_UP_REQUESTS = 300  # intake requests to each server before its measured turns
SYNTHETIC = [ROOT / "data" / "tickets_train.csv", ROOT / "data" / "tickets_test.csv"]


# --- reporting --------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: float | None
    unit: str
    floor: float | None = None
    floor_name: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor if self.higher_is_better else self.floor / self.value


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        print(f"  {format_row(row)}", flush=True)


def _num(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit in ("s", "ms") or value < 10:
        return f"{value:,.2f} {unit}".strip()
    return f"{value:,.0f} {unit}".strip()


def format_row(row: Row) -> str:
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else "—"
    met = {True: "met", False: "NOT met", None: ""}[row.met]
    return (
        f"{row.measure}: {_num(row.value, row.unit)} | {row.floor_name} "
        f"{_num(row.floor, row.unit) if row.floor is not None else ''} | ratio {ratio} | "
        f"{row.target} {met} {row.note}"
    )


def markdown(report: Report, machine: str, command: str) -> str:
    lines = [
        f"Machine: {machine}. Command: `{command}`.",
        "",
        "| measure | now | peer / floor | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for row in report.rows:
        floor = f"{row.floor_name} {_num(row.floor, row.unit)}" if row.floor is not None else "—"
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "—"
        met = {True: "yes", False: "**no**", None: ""}[row.met]
        note = f" ({row.note})" if row.note else ""
        lines.append(
            f"| {row.measure} | {_num(row.value, row.unit)}{note} | {floor} | {ratio} | "
            f"{row.target} | {met} |"
        )
    lines.extend(["", *(f"- {n}" for n in report.notes)])
    return "\n".join(lines)


CORE = os.environ.get("BENCH_CORE", "0")  # the core CPU-bound children are pinned to


def pinned() -> list[str]:
    """Run a child on one core (BENCH_CORE, default 0), when taskset exists."""
    return ["taskset", "-c", CORE] if shutil.which("taskset") else []


def run_timed(
    argv: list[str], *, stdin=None, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB, CPU seconds) of a pinned child. On a shared machine the
    CPU time is the steadier measure of a one-core rate: wall time also counts the time
    the core spent on other people's work. A failing child stops the bench with its stderr."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*pinned(), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=stdin,
        env=env or child_env(),
        cwd=ROOT,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{err.decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


@contextlib.contextmanager
def on_cores(cores: set[int]) -> Iterator[None]:
    """Run this process on `cores` for a while (when pinning is on and the set is not empty)."""
    if not cores or not pinned() or not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cores)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def off_the_server_core() -> contextlib.AbstractContextManager[None]:
    """Run this process (a load generator: the intake and click clients) on the cores the
    servers are not pinned to, so the scheduler never puts it on the server's core, where
    it would take turns with the server it measures (the floor's and the bot's alike)."""
    return on_cores(set(range(os.cpu_count() or 1)) - {int(CORE)})


def on_the_pinned_core() -> contextlib.AbstractContextManager[None]:
    """Run this process on the pinned core, for a row measured in-process (the worker's),
    so that its rate is per core like those of the pinned children."""
    return on_cores({int(CORE)})


# A fixed pure-Python workload, timed in a child on the pinned core: how fast this machine
# runs Python at the moment. Machines of one kind differ, and one machine differs from
# hour to hour (a neighbour on the host); the absolute goals move with it, the ratios less.
REFERENCE_LOOP = (
    "import time\nstarted = time.perf_counter()\ntotal = 0\n"
    "for i in range(5_000_000):\n    total += i\nprint(time.perf_counter() - started)"
)


def compile_sources() -> str:
    """Compile the project's modules to bytecode first, as installing the package does (pip
    compiles what it installs). Run from a checkout with PYTHONDONTWRITEBYTECODE set (this
    kind of machine sets it), every CLI start measured would compile every module again.
    Returns a note for the report."""
    import compileall

    for package in ("bot", "handlers"):
        compileall.compile_dir(str(ROOT / package), quiet=1)
    note = "The project's modules were compiled to bytecode before the run, as `pip install` does"
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        note += (
            "; PYTHONDONTWRITEBYTECODE is set here, and without that step an editable install "
            "would compile them again at every start"
        )
    return note + "."


def pinned_probe(code: str, **kwargs: Any) -> list[str]:
    """Run `python -c code` on the pinned core; the words of its last line of output."""
    out = subprocess.run(
        [*pinned(), sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        **kwargs,
    )
    return out.stdout.strip().splitlines()[-1].split()


def reference_seconds(runs: int = 3) -> float:
    """Median seconds of REFERENCE_LOOP on the pinned core (lower is a faster machine)."""
    return statistics.median(float(pinned_probe(REFERENCE_LOOP)[0]) for _ in range(runs))


def load_average() -> str:
    with contextlib.suppress(OSError):
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return "unknown"


def child_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DATABASE_", "TRIAGE_", "SOURCE_"))
    }
    # No BLAS thread count: the CLI chooses one thread itself, as users run it.
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


# --- corpora ----------------------------------------------------------------------------------


def synthetic_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in SYNTHETIC:
        with path.open(newline="", encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def read_sentences(path: Path) -> list[str]:
    """Texts from CLINC150's data_full.json (train keys), a CSV with `text`, or lines."""
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            str(item[0])
            for key, items in data.items()
            if "train" in key  # the training queries only
            for item in items
        ]
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            return [row["text"] for row in csv.DictReader(handle) if row.get("text")]
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def long_lengths(rng: random.Random, n: int) -> list[int]:
    """Median ~1 KB, log-normal, with a tail to 200 KB (about one ticket in 200 is huge)."""
    lengths = [int(min(200_000, max(60, rng.lognormvariate(6.93, 0.9)))) for _ in range(n)]
    for index in rng.sample(range(n), max(1, n // 200)):
        lengths[index] = rng.randint(20_000, 200_000)
    return lengths


def build_long(path: Path, n: int, sentences: list[str], seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    sizes: list[int] = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "subject", "body"])
        for i, length in enumerate(long_lengths(rng, n)):
            parts: list[str] = []
            size = 0
            while size < length:
                sentence = rng.choice(sentences)
                parts.append(sentence if sentence.endswith((".", "?", "!")) else sentence + ".")
                size += len(parts[-1]) + 1
            body = " ".join(parts)[:length]
            subject = parts[0][:80]
            writer.writerow([f"L{i:07d}", subject, body])
            sizes.append(len(subject) + len(body))
    return {"median": statistics.median(sizes), "max": max(sizes), "mean": statistics.fmean(sizes)}


def build_short(path: Path, n: int) -> float:
    rows = synthetic_rows()
    sizes = []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "subject", "body"])
        for i in range(n):
            row = rows[i % len(rows)]
            writer.writerow([f"S{i:07d}", row["subject"], row["body"]])
            sizes.append(len(row["subject"]) + len(row["body"]))
    return statistics.fmean(sizes)


def texts_of(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [f"{r['subject']}\n{r['body']}" for r in csv.DictReader(handle)]


# --- rows: classify ---------------------------------------------------------------------------


def peer_rate(texts: list[str]) -> float:
    """sklearn TF-IDF + LinearSVC, trained on the synthetic set, predicting in batches."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    rows = synthetic_rows()
    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2)
    features = vectorizer.fit_transform([f"{r['subject']}\n{r['body']}" for r in rows])
    model = LinearSVC().fit(features, [r["tag"] for r in rows])
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {0})
    started = time.perf_counter()
    for start in range(0, len(texts), 1000):
        model.predict(vectorizer.transform(texts[start : start + 1000]))
    took = time.perf_counter() - started
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return len(texts) / took


def classify_rows(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    short = tmp / "short.csv"
    mean_short = build_short(short, args.short)
    if args.corpus:
        sentences = read_sentences(Path(args.corpus))
        source = f"{len(sentences):,} sentences of {Path(args.corpus).name}"
    else:
        sentences = [
            s.strip()
            for r in synthetic_rows()
            for s in f"{r['subject']}. {r['body']}".replace("\n", " ").split(". ")
            if s.strip()
        ]
        source = "the bundled synthetic tickets (no --corpus given: synthetic fallback)"
        report.notes.append(
            "No real corpus given: the ~1 KB tickets were built from synthetic text. Re-run "
            "with --corpus (CLINC150 data_full.json or BANKING77 train.csv) for real text."
        )
    long = tmp / "long.csv"
    stats = build_long(long, args.long, sentences, seed=args.seed)
    report.notes.append(
        f"~1 KB corpus: {args.long:,} tickets from {source}, seed {args.seed}; median "
        f"{stats['median']:,.0f} chars, mean {stats['mean']:,.0f}, max {stats['max']:,.0f}. "
        f"Short corpus: {args.short:,} synthetic tickets, mean {mean_short:,.0f} chars."
    )
    cli = [sys.executable, "-m", "bot", "classify", "--format", "jsonl", "--progress", "never"]
    runs = [run_timed([*cli, str(short)]) for _ in range(args.repeat)]
    wall, rss, cpu = (statistics.median(r[i] for r in runs) for i in range(3))
    short_peer = statistics.median(peer_rate(texts_of(short)) for _ in range(args.repeat))
    rate = args.short / wall
    report.add(
        Row(
            "classify, short synthetic tickets (whole CLI, 1 core)",
            rate,
            "tickets/s",
            short_peer,
            "sklearn TF-IDF+LinearSVC batched",
            "≥ 5,000/s",
            rate >= 5000,
            note=f"{args.short / cpu:,.0f} tickets/s of CPU time",
        )
    )
    runs = [run_timed([*cli, str(long)]) for _ in range(args.repeat)]
    wall, rss_long, cpu = (statistics.median(r[i] for r in runs) for i in range(3))
    long_peer = statistics.median(peer_rate(texts_of(long)) for _ in range(args.repeat))
    rate = args.long / wall
    report.add(
        Row(
            "classify, ~1 KB tickets with a 200 KB tail (whole CLI, 1 core)",
            rate,
            "tickets/s",
            long_peer,
            "sklearn TF-IDF+LinearSVC batched",
            "≥ 1,000/s",
            rate >= 1000,
            note=f"{args.long / cpu:,.0f} tickets/s of CPU time",
        )
    )
    peak = max(rss, rss_long)
    report.add(
        Row(
            "classify peak RSS",
            peak,
            "MB",
            None,
            "",
            "< 300 MB",
            peak < 300,
            higher_is_better=False,
        )
    )


GENERATOR = """
import csv, itertools, sys
n, target, *names = sys.argv[1:]
rows = []
for name in names:
    with open(name, newline="", encoding="utf-8") as handle:
        rows += list(csv.DictReader(handle))
sink = sys.stdout if target == "-" else open(target, "w", newline="", encoding="utf-8")
out = csv.writer(sink)
out.writerow(["id", "subject", "body", "tag"])
for i, row in zip(range(int(n)), itertools.cycle(rows)):
    out.writerow([f"G{i:08d}", row["subject"], f"{row['body']} (ref {i})", row["tag"]])
sink.close()
"""


def generator(n: int, target: str = "-", stdout=None) -> subprocess.Popen:
    """A child writing n labelled CSV tickets on the fly to stdout or to `target` (a FIFO
    or a file); opening a FIFO waits in the child until the reader opens it."""
    return subprocess.Popen(
        [sys.executable, "-c", GENERATOR, str(n), target, *map(str, SYNTHETIC)],
        stdout=stdout,
        env=child_env(),
        cwd=ROOT,
    )


def big_classify_row(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    """classify reads a pipe (`classify -`) and eval a FIFO, fed on the fly: peak RSS."""
    n = 1_000_000 if args.million else args.stream
    feed = generator(n, stdout=subprocess.PIPE)
    wall, rss, _cpu = run_timed(
        [sys.executable, "-m", "bot", "classify", "--format", "jsonl", "--progress", "never", "-"],
        stdin=feed.stdout,
    )
    assert feed.stdout is not None
    feed.stdout.close()
    feed.wait()
    report.add(
        Row(
            f"classify {n:,} tickets from a pipe: peak RSS",
            rss,
            "MB",
            None,
            "",
            "< 300 MB at 1,000,000",
            rss < 300 if n >= 1_000_000 else None,
            note=f"{n / wall:,.0f} tickets/s" + ("" if args.million else "; --million for 1M"),
            higher_is_better=False,
        )
    )
    fifo = tmp / "stream.csv"
    os.mkfifo(fifo)
    feeder = generator(n, str(fifo))
    wall, rss, _cpu = run_timed([sys.executable, "-m", "bot", "eval", str(fifo)])
    feeder.wait()
    fifo.unlink()
    report.add(
        Row(
            f"eval {n:,} labelled tickets from a FIFO: peak RSS",
            rss,
            "MB",
            None,
            "",
            "< 300 MB at 1,000,000",
            rss < 300 if n >= 1_000_000 else None,
            note=f"{n / wall:,.0f} tickets/s",
            higher_is_better=False,
        )
    )


def train_row(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    """`train` on a generated labelled history: peak RSS (the target is for 100,000)."""
    path = tmp / "history.csv"
    generator(args.train, str(path)).wait()
    wall, rss, _cpu = run_timed(
        [
            sys.executable,
            "-m",
            "bot",
            "train",
            "--data",
            str(path),
            "--output",
            str(tmp / "model.npz"),
            "--no-human",
            "--no-query",
        ],
        env=child_env(DATABASE_URL=f"sqlite:///{tmp / 'train.db'}"),
    )
    path.unlink()
    report.add(
        Row(
            f"train on {args.train:,} tickets: peak RSS",
            rss,
            "MB",
            None,
            "",
            "< 2,000 MB at 100,000",
            rss < 2000 if args.train >= 100_000 else None,
            note=f"{wall:,.0f} s",
            higher_is_better=False,
        )
    )


def load_row(report: Report) -> None:
    probe = (
        "import time; t=time.perf_counter();"
        "from bot.settings import Settings;"
        "from bot.commands.common import classifier_and_policies;"
        "classifier_and_policies(Settings(_env_file=None));"
        "from bot.classifier.sentiment import tone_model; tone_model();"
        "print(time.perf_counter()-t, time.process_time())"
    )
    times, cpu = [], []
    for _ in range(3):
        wall, used = pinned_probe(probe, env=child_env(), cwd=ROOT)
        times.append(float(wall))
        cpu.append(float(used))
    value = statistics.median(times)
    report.add(
        Row(
            "all models (topic, embedding, tone, signals) + policies load, imports included",
            value,
            "s",
            None,
            "",
            "< 0.5 s",
            value < 0.5,
            note=f"{statistics.median(cpu):.2f} s of CPU time, interpreter start included",
            higher_is_better=False,
        )
    )


def cli_rows(report: Report, tmp: Path) -> None:
    minimal = [sys.executable, "-c", "import argparse; argparse.ArgumentParser().parse_args()"]

    def median_wall(argv: list[str], n: int = 5) -> float:
        return statistics.median(run_timed(argv)[0] for _ in range(n))

    floor = median_wall(minimal)
    value = median_wall([sys.executable, "-m", "bot", "--help"])
    report.add(
        Row(
            "`triage-bot --help`, wall",
            value,
            "s",
            floor,
            "minimal argparse CLI",
            "< 0.3 s",
            value < 0.3,
            higher_is_better=False,
        )
    )
    version = median_wall([sys.executable, "-m", "bot", "--version"])
    report.add(
        Row(
            "`triage-bot --version`, wall",
            version,
            "s",
            floor,
            "minimal argparse CLI",
            "",
            None,
            higher_is_better=False,
        )
    )
    one = tmp / "one.csv"
    one.write_text("id,subject,body\n1,Refund,I was charged twice for my subscription\n")
    runs = [run_timed([sys.executable, "-m", "bot", "classify", str(one)]) for _ in range(3)]
    value = statistics.median(r[0] for r in runs)
    report.add(
        Row(
            "`triage-bot classify` of one ticket, start to exit",
            value,
            "s",
            floor,
            "minimal argparse CLI",
            "< 1 s",
            value < 1.0,
            note=f"{statistics.median(r[2] for r in runs):.2f} s of CPU time",
            higher_is_better=False,
        )
    )


# --- rows: store and worker -------------------------------------------------------------------


def raw_sqlite_floor(path: Path, n: int) -> float:
    """sqlite3 with the bot's durability (WAL, synchronous=NORMAL): ticket + audit per commit."""
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE t (id TEXT PRIMARY KEY, subject TEXT, body TEXT, requester TEXT, "
        "created_at TEXT, received_at TEXT, source TEXT, status TEXT, page_level INT)"
    )
    db.execute(
        "CREATE TABLE a (id INTEGER PRIMARY KEY, at TEXT, actor TEXT, action TEXT, "
        "ticket_id TEXT, detail TEXT)"
    )
    started = time.perf_counter()
    for i in range(n):
        db.execute("BEGIN")
        inserted = db.execute(
            "INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING RETURNING id",
            (f"R{i}", "Invoice", "charged twice", "", None, "2026-01-01", "bench", "new", 0),
        ).fetchall()
        if inserted:
            db.execute(
                "INSERT INTO a (at, actor, action, ticket_id, detail) VALUES (?,?,?,?,?)",
                ("2026-01-01", "intake", "ticket_received", f"R{i}", '{"source": "bench"}'),
            )
        db.execute("COMMIT")
    took = time.perf_counter() - started
    db.close()
    return n / took


def store_rows(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    from bot.db import make_engine, upgrade
    from bot.store import Store
    from bot.tickets import TicketIn

    url = f"sqlite:///{tmp / 'store.db'}"
    upgrade(url)
    engine = make_engine(url)
    store = Store(engine)
    n = args.commits
    tickets = [
        TicketIn.from_raw({"id": f"C{i}", "subject": "Invoice", "body": "twice"}) for i in range(n)
    ]
    started = time.perf_counter()
    for ticket in tickets:
        store.add_tickets([ticket], source="bench")
    rate = n / (time.perf_counter() - started)
    engine.dispose()
    floor = raw_sqlite_floor(tmp / "raw.db", n)
    report.add(
        Row(
            "`Store.add_tickets`, one commit per ticket, SQLite",
            rate,
            "tickets/s",
            floor,
            "raw sqlite3, same durability",
            "",
            None,
        )
    )


def worker_row(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    """Classify + queue a backlog, then deliver it to a local Slack that never rate-limits."""
    from bot.app import build_runtime
    from bot.db import upgrade
    from bot.tickets import TicketIn
    from tests.conftest import make_settings
    from tests.fakes.slack_api import FakeSlack

    url = f"sqlite:///{tmp / 'worker.db'}"
    upgrade(url)
    rows = synthetic_rows()
    n = args.backlog
    tickets = [
        TicketIn.from_raw(
            {
                "id": f"W{i}",
                "subject": rows[i % len(rows)]["subject"],
                "body": rows[i % len(rows)]["body"],
            }
        )
        for i in range(n)
    ]

    async def go() -> tuple[float, float, float]:
        slack = await FakeSlack().start()
        settings = make_settings(
            database_url=url,
            slack_api_url=slack.api_url,
            policies_dir=ROOT / "policies",
            slack_channel_rate=0,
            slack_update_per_minute=0,
        )
        runtime = build_runtime(settings)
        try:
            started = time.perf_counter()
            for s in range(0, n, 500):
                await asyncio.to_thread(runtime.store.add_tickets, tickets[s : s + 500], "bench")
            intake = n / (time.perf_counter() - started)
            started = time.perf_counter()
            classified = await runtime.worker.classify_pending()
            classify_took = time.perf_counter() - started
            assert classified == n, classified
            started = time.perf_counter()
            await runtime.dispatcher.drain()
            post_took = time.perf_counter() - started
            return intake, n / classify_took, n / (classify_took + post_took)
        finally:
            await runtime.close()
            await slack.stop()

    with on_the_pinned_core():
        intake, classify_rate, whole = asyncio.run(go())
    report.add(
        Row(
            f"worker: classify + queue a {n:,}-ticket backlog",
            classify_rate,
            "tickets/s",
            intake,
            "intake accepts (batched)",
            "≥ 1,000/s",
            classify_rate >= 1000,
        )
    )
    report.add(
        Row(
            f"worker: classify + post a {n:,}-ticket backlog (Slack unpaced)",
            whole,
            "tickets/s",
            intake,
            "intake accepts (batched)",
            "",
            None,
        )
    )


# --- rows: HTTP (intake and clicks) -----------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its finished children (Linux /proc)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_floor(port: int) -> None:
    """The intake floor: bare aiohttp, the same HMAC check and JSON parse, no store."""
    from aiohttp import web

    secret = INTAKE.encode()

    async def tickets(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Triage-Signature", ""), expected):
            return web.json_response({"error": "bad signature"}, status=401)
        data = json.loads(body)
        items = data if isinstance(data, list) else [data]
        return web.json_response({"stored": [str(i.get("id")) for i in items]}, status=202)

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"database": "ok"})

    app = web.Application()
    app.router.add_post("/tickets", tickets)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Server:
    """A child process on a loopback port, pinned to one core, stopped on exit."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, tmp: Path) -> None:
        self.port = port
        self.log = (tmp / f"server-{port}.log").open("wb")
        self.proc = subprocess.Popen(
            [*pinned(), *argv], env=env, cwd=tmp, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.tmp = tmp

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                if self.proc.poll() is not None:
                    raise SystemExit(Path(self.log.name).read_text()[-3000:])
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise SystemExit("server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def bot_server(tmp: Path, database_url: str, slack_url: str, **extra: str) -> Server:
    import yaml

    policies = tmp / f"policies-{uuid.uuid4().hex[:6]}"
    shutil.copytree(ROOT / "policies", policies)
    for path in policies.glob("[!_]*.yml"):
        data = yaml.safe_load(path.read_text())
        data["mode"] = "suggest"  # every ticket waits for a click
        path.write_text(yaml.safe_dump(data))
    global_file = policies / "_global.yml"
    global_file.write_text(
        yaml.safe_dump({**yaml.safe_load(global_file.read_text()), "launch_min_decided": 0})
    )
    port = free_port()
    env = child_env(
        DATABASE_URL=database_url,
        SLACK_API_URL=slack_url,
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET=SIGNING,
        TRIAGE_CHANNEL=CHANNEL,
        INTAKE_SECRET=INTAKE,
        POLICIES_DIR=str(policies),
        WORKER_POLL_SECONDS="1",
        LOG_LEVEL="WARNING",
        **extra,
    )
    argv = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    profile_dir = os.environ.get("BENCH_PROFILE_DIR")
    if profile_dir:  # where a server's CPU goes: cProfile, written when it is stopped
        out = Path(profile_dir) / f"serve-{port}.prof"
        argv = [sys.executable, "-m", "cProfile", "-o", str(out), *argv[1:]]
    return Server(argv, env, port, tmp)


async def post_singles(base: str, n: int, clients: int, prefix: str) -> tuple[float, list[float]]:
    """n one-ticket requests from `clients` concurrent senders: (requests/s, latencies ms)."""
    import aiohttp

    bodies = [
        json.dumps(
            {"id": f"{prefix}{i}", "subject": "Invoice", "body": f"charged twice {i}"}
        ).encode()
        for i in range(n)
    ]
    latencies: list[float] = []
    queue = list(range(n))

    async def sender(http: aiohttp.ClientSession) -> None:
        while queue:
            body = bodies[queue.pop()]
            signature = "sha256=" + hmac.new(INTAKE.encode(), body, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            async with http.post(
                f"{base}/tickets",
                data=body,
                headers={"Content-Type": "application/json", "X-Triage-Signature": signature},
            ) as response:
                await response.read()
                assert response.status in (200, 202), response.status
            latencies.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        await asyncio.gather(*(sender(http) for _ in range(clients)))
        took = time.perf_counter() - started
    return n / took, latencies


def postgres_schema(base: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}", drop


async def settle(pid: int, idle_cpu: float = 0.05, window: float = 0.5, limit: float = 120) -> None:
    """Wait until a server is idle (its background classification and posting done), so
    the next burst, the floor's or its own, does not share the core with it. The window
    should outlast the server's periodic passes (`quiet_window`), or one that wakes after
    a short idle spell runs during the next burst."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(window)
        if cpu_seconds(pid) - before < idle_cpu:
            return


def quiet_window() -> float:
    """Idle time that proves a server done: longer than its channel pass interval (the
    surge-group lists of the last burst's tickets are queued by that pass)."""
    from bot.channel.jobs import FLUSH_SECONDS

    return FLUSH_SECONDS + 0.5


def intake_rows(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    """The bot and the floor take turns, burst after burst (medians of `--repeat`), so a
    neighbour's load on the machine hits both sides of each ratio alike. Between turns the
    bot is left to finish its background work (classifying and posting the burst), which
    would otherwise share the core with the next turn, the floor's or its own."""
    from tests.fakes.slack_api import FakeSlack

    stores = [("SQLite", f"sqlite:///{tmp / 'intake.db'}", None)]
    if args.postgres:
        url, drop = postgres_schema(args.postgres)
        stores.append(("PostgreSQL", url, drop))
    else:
        report.notes.append("PostgreSQL intake not measured: give --postgres URL.")

    async def turns(url: str) -> tuple[list[float], list[float], list[float]]:
        port = free_port()
        floor = Server(
            [sys.executable, str(Path(__file__).resolve()), "--serve-floor", str(port)],
            child_env(),
            port,
            tmp,
        )
        slack = await FakeSlack().start()
        bot = bot_server(tmp, url, slack.api_url, SLACK_CHANNEL_RATE="0")
        floors: list[float] = []
        rates: list[float] = []
        latencies: list[float] = []
        try:
            await floor.ready()
            await bot.ready()
            # A short burst to each first: the bot opens its database connections (and
            # psycopg prepares its statement) when first needed, not in a measured turn.
            await post_singles(floor.base, WARM_UP_REQUESTS, 16, "FW-")
            await post_singles(bot.base, WARM_UP_REQUESTS, 16, "IW-")
            await settle(bot.proc.pid, window=quiet_window())
            for turn in range(args.repeat):
                rate, _ = await post_singles(floor.base, args.requests, 16, f"F{turn}-")
                floors.append(rate)
                rate, waits = await post_singles(bot.base, args.requests, 16, f"I{turn}-")
                rates.append(rate)
                latencies.extend(waits)
                await settle(bot.proc.pid, window=quiet_window())
        finally:
            bot.stop()
            floor.stop()
            await slack.stop()
        return floors, rates, latencies

    for name, url, drop in stores:
        try:
            with off_the_server_core():
                floors, rates, latencies = asyncio.run(turns(url))
        finally:
            if drop is not None:
                drop()
        rate, floor_rate = statistics.median(rates), statistics.median(floors)
        p99 = pct(latencies, 99)
        report.add(
            Row(
                f"intake, 1 ticket/request, 16 clients, {name}",
                rate,
                "req/s",
                floor_rate,
                "bare aiohttp + same HMAC + JSON",
                "≥ 50% of floor",
                rate >= 0.5 * floor_rate,
                note=f"median of {args.repeat} turns; p50 {pct(latencies, 50):.0f} ms, "
                f"p99 {p99:.0f} ms",
            )
        )
        report.add(
            Row(
                f"intake p99, {name}",
                p99,
                "ms",
                None,
                "",
                "< 100 ms",
                p99 < 100,
                higher_is_better=False,
            )
        )


def click_row(report: Report, tmp: Path, args: argparse.Namespace) -> None:
    """Click → chat.update during a burst of clicks, Slack never rate-limiting, pacing off.

    `--repeat` bursts, each on fresh tickets once the bot is idle again; the percentiles
    are over every click of every burst, so one burst that shared the core with a
    neighbour does not decide the row alone."""
    import aiohttp

    from tests.fakes.slack_api import FakeSlack
    from tests.fakes.slack_requests import block_action, signed_headers

    n = args.clicks

    async def burst(
        http: aiohttp.ClientSession, server: Server, slack: FakeSlack, turn: int
    ) -> tuple[list[float], list[float], float]:
        """One burst of `n` clicks on `n` new tickets: (waits ms, acks ms, CPU s per click)."""
        batch = [
            {"id": f"K{turn}-{i}", "subject": "Invoice", "body": f"wrong amount {i}"}
            for i in range(n)
        ]
        body = json.dumps(batch).encode()
        signature = "sha256=" + hmac.new(INTAKE.encode(), body, hashlib.sha256).hexdigest()
        posts_before = len(slack.of("chat.postMessage"))
        updates_before = len(slack.of("chat.update"))
        async with http.post(
            f"{server.base}/tickets",
            data=body,
            headers={"Content-Type": "application/json", "X-Triage-Signature": signature},
        ) as r:
            assert r.status == 202, r.status
        await slack.wait_for(
            lambda s: len(s.of("chat.postMessage")) >= posts_before + n, timeout=300
        )
        await settle(server.proc.pid, window=quiet_window())
        ts_of: dict[str, str] = {}
        for index, call in enumerate(slack.of("chat.postMessage"), start=1):
            for block in call.params.get("blocks") or []:
                block_id = str(block.get("block_id") or "")
                if block_id.startswith(f"triage:K{turn}-"):
                    ts_of[block_id.split(":", 1)[1]] = f"1700000000.{index:06d}"
        sent: dict[str, float] = {}
        acks: list[float] = []

        async def click(ticket_id: str) -> None:
            payload = block_action(
                action_id="triage_approve",
                block_id=f"triage:{ticket_id}",
                user_id="U0BENCH",
                channel=CHANNEL,
                message_ts=ts_of[ticket_id],
                response_url=slack.response_url,
                value=ticket_id,
            )
            sent[ts_of[ticket_id]] = time.monotonic()
            async with http.post(
                f"{server.base}/slack/events",
                data=payload.encode(),
                headers=signed_headers(SIGNING, payload),
            ) as response:
                await response.read()
                assert response.status == 200
            acks.append((time.monotonic() - sent[ts_of[ticket_id]]) * 1000)

        cpu_before = cpu_seconds(server.proc.pid)
        await asyncio.gather(*(click(t) for t in ts_of))
        await slack.wait_for(
            lambda s: len(s.of("chat.update")) >= updates_before + len(ts_of), timeout=300
        )
        cpu = (cpu_seconds(server.proc.pid) - cpu_before) / len(ts_of)
        updated = {c.params["ts"]: c.at for c in slack.of("chat.update")}
        waits = [(updated[ts] - at) * 1000 for ts, at in sent.items() if ts in updated]
        return waits, acks, cpu

    async def go() -> tuple[list[float], list[float], list[float]]:
        slack = await FakeSlack().start()
        server = bot_server(
            tmp,
            f"sqlite:///{tmp / 'clicks.db'}",
            slack.api_url,
            SLACK_CHANNEL_RATE="0",
            SLACK_UPDATE_PER_MINUTE="0",
            SURGE_MIN_TICKETS="0",  # 200 look-alike tickets: each its own message to click
        )
        waits: list[float] = []
        acks: list[float] = []
        cpus: list[float] = []
        try:
            await server.ready()
            async with aiohttp.ClientSession() as http:
                for turn in range(args.repeat):
                    burst_waits, burst_acks, cpu = await burst(http, server, slack, turn)
                    waits += burst_waits
                    acks += burst_acks
                    cpus.append(cpu)
            return waits, acks, cpus
        finally:
            server.stop()
            await slack.stop()

    with off_the_server_core():
        waits, acks, cpus = asyncio.run(go())
    p50, p99 = pct(waits, 50), pct(waits, 99)
    report.notes.append(
        "Clicks: the bot's CPU time per click (ack, decision, chat.update, its mark) was "
        + ", ".join(f"{cpu * 1000:.1f}" for cpu in cpus)
        + f" ms in the {len(cpus)} bursts."
    )
    scope = f"{args.repeat} bursts, every click" if args.repeat > 1 else "one burst"
    report.add(
        Row(
            f"click → chat.update, {n}-click burst, p50",
            p50,
            "ms",
            None,
            "",
            "< 300 ms",
            p50 < 300,
            note=f"{scope}; acks p50 {pct(acks, 50):.0f} ms",
            higher_is_better=False,
        )
    )
    report.add(
        Row(
            f"click → chat.update, {n}-click burst, p99",
            p99,
            "ms",
            None,
            "",
            "< 1,000 ms",
            p99 < 1000,
            note=f"{scope}; acks p99 {pct(acks, 99):.0f} ms",
            higher_is_better=False,
        )
    )


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", help="real text for the ~1 KB tickets (see above)")
    parser.add_argument("--postgres", help="PostgreSQL URL for the intake row (fresh schema)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--short", type=int, default=20_000, help="short tickets to classify")
    parser.add_argument("--long", type=int, default=5_000, help="~1 KB tickets to classify")
    parser.add_argument("--stream", type=int, default=100_000, help="tickets for the RSS row")
    parser.add_argument("--million", action="store_true", help="the RSS rows on 1,000,000")
    parser.add_argument("--train", type=int, default=100_000, help="tickets for the train row")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per classify rate, turns of the intake rows (medians)",
    )
    parser.add_argument("--backlog", type=int, default=10_000, help="worker backlog")
    parser.add_argument("--commits", type=int, default=2_000, help="one-commit inserts")
    parser.add_argument("--requests", type=int, default=3_000, help="intake requests")
    parser.add_argument("--clicks", type=int, default=200, help="clicks in the burst")
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument(
        "--only",
        help="comma-separated: cli,load,classify,stream,train,store,worker,intake,clicks",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return
    if args.quick:
        args.short, args.long, args.stream, args.train, args.repeat = (
            3_000,
            1_000,
            10_000,
            10_000,
            1,
        )
        args.backlog, args.commits, args.requests, args.clicks = 2_000, 500, 1_000, 100
    where = machine()
    report = Report()
    report.notes.append(compile_sources())
    started_load = load_average()
    started_speed = reference_seconds()
    print(
        f"machine: {where}; load average {started_load}; reference loop {started_speed:.2f} s",
        flush=True,
    )
    sections: dict[str, Callable[[], None]] = {}
    tmp = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    sections = {
        "cli": lambda: cli_rows(report, tmp),
        "load": lambda: load_row(report),
        "classify": lambda: classify_rows(report, tmp, args),
        "stream": lambda: big_classify_row(report, tmp, args),
        "train": lambda: train_row(report, tmp, args),
        "store": lambda: store_rows(report, tmp, args),
        "worker": lambda: worker_row(report, tmp, args),
        "intake": lambda: intake_rows(report, tmp, args),
        "clicks": lambda: click_row(report, tmp, args),
    }
    chosen = args.only.split(",") if args.only else list(sections)
    try:
        for name in chosen:
            print(f"{name} …", flush=True)
            sections[name]()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    where = (
        f"{where}; load average (1/5/15 min) {started_load} at the start, {load_average()} "
        f"at the end; a fixed pure-Python loop (5,000,000 additions, pinned core) took "
        f"{started_speed:.2f} s at the start and {reference_seconds():.2f} s at the end"
    )
    table = markdown(report, where, command.strip())
    print("\n" + table)
    if args.markdown:
        args.markdown.write_text(table + "\n")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": where,
                    "rows": [r.__dict__ | {"ratio": r.ratio} for r in report.rows],
                    "notes": report.notes,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
