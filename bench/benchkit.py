"""What every benchmark prints beside its figures: the machine, and percentiles of timings.

Imported by the scripts in this folder (run as `python bench/<script>.py`, which puts this
folder on the import path)."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path


def machine() -> str:
    """CPU model, core count and Python version: figures mean little without them."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def pct(values: list[float], q: float) -> float:
    """The q-th percentile by nearest rank (NaN when there are no values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]
