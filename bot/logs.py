"""Logging for every command: text or JSON lines on stderr, quiet scheduler, quiet Bolt.

- LOG_FORMAT=json gives one JSON object per line (python-json-logger) with `time`,
  `level`, `logger`, `message` and any `extra` fields, for log shippers.
- APScheduler says "Running job …" and "executed successfully" at INFO on every tick;
  that chatter is shown only at LOG_LEVEL=DEBUG.
- The Slack SDK and Bolt log whole request bodies at DEBUG (ticket text, in Slack
  messages): they stay at INFO even with LOG_LEVEL=DEBUG. The SDK's web client decides
  whether to format those lines from its own logger's level, not the level it inherits:
  its loggers get INFO set on themselves too, or every call would render its whole
  request and answer to a string for nothing (a large part of a chat.update's cost).
- Bolt warns on every start that the token "will be unused" because the bot hands it a
  ready client (which carries that same token); that one line is dropped.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY_LOGGERS = ("apscheduler",)
BODY_LOGGERS = ("slack_sdk", "slack_bolt")
# The SDK clients' own loggers (their module names), whose level the SDK reads directly.
SDK_CLIENT_LOGGERS = (
    "slack_sdk.web.async_base_client",
    "slack_sdk.web.base_client",
    "slack_sdk.webhook.async_client",
    "slack_sdk.webhook.client",
)
BOLT_APP_LOGGERS = ("slack_bolt.AsyncApp", "slack_bolt.App")
_UNUSED_TOKEN = "`token` will be unused"


class _DropUnusedTokenWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _UNUSED_TOKEN not in record.getMessage()


_BOLT_FILTER = _DropUnusedTokenWarning()


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def setup_logging(level: str = "INFO", fmt: str = "text", stream=None) -> logging.Handler | None:
    """Configure the root logger; returns the handler it installed.

    Like logging.basicConfig, it leaves a root logger that someone else configured alone
    (a host application, or pytest when a test calls the CLI in-process); a handler this
    function installed before is replaced.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_triage_bot", False)]:
        root.removeHandler(old)
    handler: logging.Handler | None = None
    if not root.handlers:
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
        handler._triage_bot = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(level.upper())
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    for name in BODY_LOGGERS + SDK_CLIENT_LOGGERS:  # DEBUG lines carry bodies: ticket text
        logging.getLogger(name).setLevel(logging.INFO)
    quiet_bolt_token_warning()
    return handler


def quiet_bolt_token_warning() -> None:
    for name in BOLT_APP_LOGGERS:
        logger = logging.getLogger(name)
        if _BOLT_FILTER not in logger.filters:
            logger.addFilter(_BOLT_FILTER)
