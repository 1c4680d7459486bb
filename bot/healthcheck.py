"""`python -m bot.healthcheck`: exit 0 when this host's bot answers GET /healthz with 200.

The container's HEALTHCHECK runs it (the slim image has no curl). It imports nothing of
the bot, so it is cheap to run every 30 seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 4.0


def check(url: str, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, f"{response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code}: {exc.read(300).decode('utf-8', 'replace')}"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(getattr(exc, "reason", exc))


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    port = os.environ.get("PORT", "3000")
    url = args[0] if args else f"http://127.0.0.1:{port}/healthz"
    healthy, detail = check(url)
    print(f"{'healthy' if healthy else 'unhealthy'}: {url} {detail}")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
