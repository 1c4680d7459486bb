"""The managers' daily digest: outcome first, then what needs attention, plus a trend chart.

build.py computes it from the store (bot.metrics), render.py turns it into Block Kit and
plain text, chart.py draws the 14-day trend, job.py posts it once per day across processes.
"""

from bot.digest.build import Digest, build_digest
from bot.digest.job import DigestService, register_digest

__all__ = ["Digest", "DigestService", "build_digest", "register_digest"]
