"""Running the real CLI (`python -m bot`) as an operator would, from a directory of theirs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# Settings the developer's shell may carry; every test starts without them.
SCRUB = (
    "SLACK_",
    "TRIAGE_",
    "DIGEST_",
    "DATABASE_",
    "POLICIES_",
    "INTAKE_",
    "SOURCE_",
    "OPENAI_",
    "CLASSIFIER",
    "MODEL_PATH",
    "METRICS_",
    "LOG_",
    "PORT",
    "TIMEZONE",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUB)}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def run_bot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean_env(**(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def copy_policies(target: Path) -> Path:
    shutil.copytree(ROOT / "policies", target)
    return target


def real_looking_ids(directory: Path) -> dict[str, str]:
    """Replace every bundled placeholder ID by a made-up but real-looking one.

    Returns {new id: old id}.
    """
    from bot.placeholders import slack_id_refs

    mapping: dict[str, str] = {}
    for i, ref in enumerate(sorted({r.value for r in slack_id_refs(directory)})):
        mapping[ref] = f"{ref[0]}0{i:02d}A7Q9Z{i % 10}"
    for path in directory.glob("*.yml"):
        text = path.read_text()
        for old, new in sorted(mapping.items(), key=lambda kv: -len(kv[0])):
            text = text.replace(old, new)
        path.write_text(text)
    return {new: old for old, new in mapping.items()}
