"""`GET /healthz` key "source": how the last poll of the helpdesk database went.

Read from the store, so every bot process reports the same truth whichever one polled.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.models import utcnow
from bot.source.state import SourceStateRepo

if TYPE_CHECKING:
    from bot.runtime import Runtime


def source_check(runtime: Runtime) -> tuple[str, Any, bool]:
    poller = getattr(runtime, "source", None)
    if poller is None:
        return "source", "not configured", True
    state = SourceStateRepo(runtime.store).get()
    report: dict[str, Any] = {"status": "starting", "url": poller.reader.masked_url}
    if state is None:
        return "source", report, True
    stamp = {
        "last_poll_at": state.last_poll_at,
        "last_ok_at": state.last_ok_at,
        "last_error_at": state.last_error_at,
    }
    report.update({k: v.isoformat() if v else None for k, v in stamp.items()})
    # Rows stored with a creation time beyond now + SOURCE_MAX_FUTURE_SECONDS: stored and
    # triaged, but never used as the watermark (docs/source-safety.md).
    report["suspect_times"] = state.suspect_times
    failing = state.last_error_at is not None and (
        state.last_ok_at is None or state.last_error_at > state.last_ok_at
    )
    stale_after = timedelta(seconds=max(300.0, 10 * runtime.settings.source_poll_seconds))
    polling = state.lease_until is not None and state.lease_until > utcnow()  # a long sync
    stale = (
        not polling
        and state.last_poll_at is not None
        and utcnow() - state.last_poll_at > stale_after
    )
    if failing:
        report["status"] = f"error: {state.last_error}"
    elif stale:
        report["status"] = "stale: no poll finished recently"
    elif state.last_ok_at is not None:
        report["status"] = "ok"
    return "source", report, not (failing or stale)
