"""The 14-day trend chart (PNG): volume, automation, precision and time to route.

Uses matplotlib's object API with the Agg canvas: no display, no global pyplot state,
safe to call from a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.digest.build import TrendPoint


def _series(values: Sequence[float | None], scale: float = 1.0) -> list[float]:
    return [float("nan") if v is None else v * scale for v in values]


def trend_png(points: Sequence[TrendPoint], title: str = "Triage, last 14 days") -> bytes:
    """Four small panels sharing the day axis; missing days are gaps, not zeros."""
    labels = [f"{p.day:%d %b}" for p in points]
    x = list(range(len(points)))
    figure = Figure(figsize=(9, 6.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots(4, 1, sharex=True)
    axes[0].bar(x, [p.volume for p in points], color="#4a6fa5")
    axes[0].set_ylabel("tickets")
    axes[0].set_ylim(bottom=0, top=max([p.volume for p in points] + [1]) * 1.15)
    axes[1].plot(x, _series([p.automation for p in points], 100), marker="o", color="#2e8b57")
    axes[1].set_ylabel("automated %")
    axes[1].set_ylim(0, 105)
    axes[2].plot(x, _series([p.precision for p in points], 100), marker="o", color="#b8860b")
    axes[2].set_ylabel("precision %")
    axes[2].set_ylim(0, 105)
    axes[3].plot(x, _series([p.route_p50 for p in points]), marker="o", color="#8b3a62")
    axes[3].set_ylabel("route p50 min")
    axes[3].set_ylim(bottom=0, top=max([p.route_p50 or 0 for p in points] + [1]) * 1.15)
    axes[3].set_xticks(x, labels, rotation=45, ha="right", fontsize=8)
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
