"""The CLI starts at once and streams: --version, lazy imports, output before input ends."""

from __future__ import annotations

import argparse
import io
import json
import os
import queue
import subprocess
import sys
import threading
from importlib.metadata import version
from pathlib import Path

from bot.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("matplotlib", "slack_bolt", "aiohttp", "bot.app", "sklearn", "apscheduler")

# Runs the CLI in-process, then reports which heavy modules got imported (stdout, last line).
PROBE = """
import json, sys
from bot.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps([m for m in HEAVY if m in sys.modules]))
""".replace("HEAVY", repr(HEAVY))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRIAGE_"))}
    env.pop("DATABASE_URL", None)
    return env


def heavy_modules(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_version_prints_the_package_version_without_the_app():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"triage-bot {version('triage-bot')}"
    assert heavy_modules("--version") == []


def test_help_lists_every_command_and_imports_nothing_heavy():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert result.returncode == 0
    for command in ("serve", "classify", "eval", "train", "ingest", "digest", "check-policies"):
        assert command in result.stdout
    assert heavy_modules("--help") == []


def test_each_command_imports_only_what_it_needs():
    assert heavy_modules("classify", "--help") == []
    assert heavy_modules("classify", "examples/tickets.csv") == []
    assert "matplotlib" not in heavy_modules("serve", "--help")
    assert "matplotlib" in heavy_modules("digest", "--help")


def test_classify_errors_come_before_any_output(tmp_path: Path):
    missing = subprocess.run(
        [sys.executable, "-m", "bot", "classify", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"
    directory = subprocess.run(
        [sys.executable, "-m", "bot", "classify", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=60,
    )
    assert directory.returncode == 1 and directory.stdout == ""
    assert "is a directory" in directory.stderr and "no such file" not in directory.stderr


def _lines_of(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def test_classify_streams_output_before_the_input_ends():
    """A pipe stays open while we wait for the first answer: output cannot wait for EOF."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "classify", "-", "--format", "jsonl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=_env(),
    )
    out: queue.Queue = queue.Queue()
    threading.Thread(target=_lines_of, args=(proc.stdout, out), daemon=True).start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(
            '{"id": "s1", "subject": "Refund please", "body": "I was charged twice"}\n'
        )
        proc.stdin.flush()
        first = out.get(timeout=90)  # the input is still open here
        assert first is not None and json.loads(first)["ticket_id"] == "s1"
        assert proc.poll() is None
        proc.stdin.write('{"id": "s2", "subject": "Cannot log in", "body": "password reset"}\n')
        proc.stdin.flush()
        second = out.get(timeout=90)
        assert json.loads(second)["ticket_id"] == "s2"
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        assert out.get(timeout=10) is None  # nothing more
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_progress_goes_to_stderr_only(tmp_path: Path):
    source = tmp_path / "many.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": str(i), "subject": "Invoice", "body": f"charged twice {i}"}) + "\n"
            for i in range(600)
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "classify",
            str(source),
            "--format",
            "jsonl",
            "--progress",
            "always",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]  # pure JSONL
    assert [r["ticket_id"] for r in records] == [str(i) for i in range(600)]
    assert "classify: 600 tickets" in result.stderr and "/s" in result.stderr


def test_progress_line_has_rate_count_and_eta_on_a_fake_clock():
    now = [100.0]
    stream = io.StringIO()
    progress = Progress(
        "classify", stream=stream, clock=lambda: now[0], tty=False, fraction=lambda: 0.25
    )
    progress.update(1000)
    assert stream.getvalue() == ""  # a short run says nothing when nobody watches
    now[0] += 40.0
    progress.update(4000)
    assert stream.getvalue() == "classify: 4,000 tickets, 100/s, 0:40, 25%, ETA 2:00\n"
    tty = io.StringIO()
    live = Progress("train", stream=tty, clock=lambda: now[0], tty=True)
    now[0] += 1.0
    live.update(10)
    live.finish()
    assert tty.getvalue().startswith("\r\x1b[Ktrain: 10 tickets") and tty.getvalue().endswith(
        "\r\x1b[K"
    )


def test_rows_read_deep_inside_a_command_are_counted(tmp_path: Path):
    """`train` reads its files far from the command; the reader counts rows for its line."""
    from bot.intake.files import read_ticket_file
    from bot.progress import reporting

    source = tmp_path / "labelled.csv"
    source.write_text("id,subject,tag\n" + "".join(f"{i},s{i},billing\n" for i in range(50)))
    stream = io.StringIO()
    progress = Progress("train", unit="rows read", stream=stream, tty=False, always=True)
    with reporting(progress):
        rows = list(read_ticket_file(source))
    assert len(rows) == 50 and progress.done == 50
    assert stream.getvalue().splitlines()[-1].startswith("train: 50 rows read, ")
    assert list(read_ticket_file(source))  # outside `reporting` nothing is counted
    assert progress.done == 50


def test_every_command_module_is_listed_and_registers_under_its_name():
    """A command added to bot/commands/ must be named in COMMANDS (or --help misses it)."""
    from bot.cli import COMMANDS, build_parser

    modules = {
        f"bot.commands.{path.stem}"
        for path in (ROOT / "bot" / "commands").glob("*.py")
        if "def register(" in path.read_text(encoding="utf-8")
    }
    assert modules == {spec.module for spec in COMMANDS.values()}
    parser = build_parser(None)  # loads every command: each must fill its own stub
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in COMMANDS:
        stub = sub.choices[name]
        # A registered command sets what runs it (directly, or in its own sub-commands).
        nested = [a for a in stub._actions if isinstance(a, argparse._SubParsersAction)]
        assert stub.get_default("run") is not None or nested, name


def test_blas_runs_one_thread_unless_the_operator_set_a_count():
    from bot.cli import one_blas_thread

    chosen = {"OMP_NUM_THREADS": "4"}
    one_blas_thread(chosen)
    assert chosen == {"OMP_NUM_THREADS": "4"}  # the operator's count is kept
    unset: dict[str, str] = {}
    one_blas_thread(unset)
    assert unset == {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_the_cli_loads_numpy_with_one_blas_thread():
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "main(['classify', '--progress', 'never', sys.argv[1]])\n"
        "from threadpoolctl import threadpool_info\n"
        "print(sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'}))"
    )
    env = {k: v for k, v in _env().items() if k not in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    env.pop("OMP_NUM_THREADS", None)
    result = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "examples" / "tickets.csv")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[1]"
