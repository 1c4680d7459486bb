"""One settings object for the whole bot, read from the environment and `.env`.

Names match ../shared/interfaces.md; operators script against them.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.dburl import normalize_source_url, normalize_store_url

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

# The largest request Slack sends to /slack/events: a click on a message of 50 blocks of
# 3,000 characters each, every character at worst an astral one that Slack's JSON writes as
# a `\uXXXX\uXXXX` surrogate pair and the form encoding percent-encodes (16 bytes), plus
# room for the rest of the payload (user, team, container, state, fallback text).
SLACK_MESSAGE_BLOCKS = 50
SLACK_BLOCK_CHARS = 3_000
SLACK_WORST_BYTES_PER_CHAR = 16
SLACK_ENVELOPE_BYTES = 256 * 1024
SLACK_LARGEST_REQUEST_BYTES = (
    SLACK_MESSAGE_BLOCKS * SLACK_BLOCK_CHARS * SLACK_WORST_BYTES_PER_CHAR + SLACK_ENVELOPE_BYTES
)
# Where Slack's response_url points (commercial and GovSlack).
SLACK_RESPONSE_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


class MissingSettingError(RuntimeError):
    """A setting that the chosen command needs is not set."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name} is not set: {why}. Set it in the environment or in .env.")
        self.name = name


class Settings(BaseSettings):
    """Every knob of the bot. Field names are the upper-cased environment names."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    triage_channel: str | None = None
    digest_channel: str | None = None
    digest_time: str = "09:00"
    # Pre-launch baseline cutoff for outcome metrics; unset: the first proposal.
    baseline_until: datetime | None = None
    timezone: str = "UTC"
    database_url: str = "sqlite:///triage.db"
    policies_dir: Path = Path("policies")
    classifier: str = "local"
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    openai_model: str | None = None
    openai_daily_token_budget: int = Field(default=200_000, ge=0)
    openai_timeout_seconds: float = Field(default=10.0, gt=0, le=10)
    openai_max_retries: int = Field(default=2, ge=0, le=5)
    openai_backoff_seconds: float = Field(default=0.5, ge=0, le=10)
    intake_secret: str | None = None
    # Native helpdesk webhooks (POST /tickets/<helpdesk>): each vendor's signing secret, or
    # the shared token its sender presents; unset turns that endpoint off.
    zendesk_webhook_secret: str | None = None
    freshdesk_webhook_secret: str | None = None
    intercom_webhook_secret: str | None = None
    jsm_webhook_secret: str | None = None
    chatwoot_webhook_secret: str | None = None
    # Signs the decision webhooks sent to policies' `webhook_url` (bot/outbound.py).
    outbound_webhook_secret: str | None = None
    source_database_url: str | None = None
    source_query: str | None = None
    # A SELECT over the helpdesk's history for `triage-bot train` (docs/training.md): columns
    # id, subject, body and tag (or category, mapped by a policy's helpdesk_categories).
    source_train_query: str | None = None
    # Helpdesk source tuning (docs/helpdesk-database.md).
    source_cursor_column: str = "created_at"
    source_lookback_seconds: int = Field(default=600, ge=0)
    source_poll_seconds: float = Field(default=30.0, gt=0)
    source_outcome_seconds: float = Field(default=300.0, gt=0)
    source_batch_size: int = Field(default=500, ge=1, le=10_000)
    source_outcome_batch: int = Field(default=500, ge=1, le=5_000)
    source_max_body_chars: int = Field(default=200_000, ge=1_000)
    source_start: str | None = None
    source_timezone: str = "UTC"
    source_dayfirst: bool = False
    # A source time further ahead than this never advances the watermark (docs/source-safety.md).
    source_max_future_seconds: int = Field(default=86_400, ge=0)
    # Ticket text and personal data older than this many days are erased; unset keeps them
    # (docs/retention.md).
    retention_days: int | None = Field(default=None, ge=1)
    retention_time: str = "04:00"  # when the daily retention job runs (HH:MM, TIMEZONE)
    # The role the running bot connects as, granted its rights by `db upgrade` run as the
    # owner role (PostgreSQL; docs/postgres-roles.md).
    database_runtime_role: str | None = None

    port: int = 3000
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024 * 1024)
    body_excerpt_chars: int = Field(default=1500, ge=100, le=2800)
    worker_poll_seconds: float = Field(default=2.0, gt=0)
    # Reliability and scale (README "Reliability and scale").
    slack_channel_rate: float = Field(default=1.0, ge=0)  # posts/s per channel; 0 = unpaced
    slack_channel_burst: int = Field(default=4, ge=1)
    # chat.update has its own bucket (Slack's tier 3, about 50 a minute per workspace), apart
    # from the per-channel posting bucket: a click's update never waits behind proposals.
    slack_update_per_minute: float = Field(default=50.0, ge=0)  # 0 = unpaced
    slack_update_burst: int = Field(default=10, ge=1)
    slack_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    outbox_lease_seconds: float = Field(default=60.0, gt=0)
    outbox_max_backoff_seconds: float = Field(default=60.0, gt=0)
    outbox_batch: int = Field(default=50, ge=1, le=1000)
    max_concurrent_requests: int = Field(default=16, ge=1)
    # HTTP hardening (docs/security.md): a client has this long for its headers and again for
    # its body; /slack/events bodies are capped at the largest request Slack really sends.
    request_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    slack_max_body_bytes: int = Field(
        default=SLACK_LARGEST_REQUEST_BYTES, ge=SLACK_LARGEST_REQUEST_BYTES // 2
    )
    # Comma-separated hosts a response_url may point at; unset: Slack's own hosts plus the
    # host of SLACK_API_URL (so a local Slack-compatible server keeps working).
    slack_response_url_hosts: str | None = None
    # Local classifier (docs/model-and-thresholds.md).
    model_path: Path = Path("models/triage-model.npz")
    training_data: Path = Path("data/tickets_train.csv")
    retrain_time: str | None = "03:00"  # daily retrain inside serve (HH:MM, TIMEZONE); "" = off
    log_level: str = "INFO"
    # Operations (docs/observability.md): `text` or `json` log lines on stderr; GET /metrics
    # answers only with `Authorization: Bearer <METRICS_TOKEN>` and is off while it is unset.
    log_format: Literal["text", "json"] = "text"
    metrics_token: str | None = None

    # The agents' channel (docs/channel.md): how tickets look and how the channel stays calm.
    show_requester: str = "name"  # none | name | email; a policy's redaction wins
    ticket_url_template: str | None = None  # e.g. https://help.example.com/tickets/{id}
    routed_summary_seconds: int = Field(default=300, ge=0, le=86_400)  # 0: one post per ticket
    surge_min_tickets: int = Field(default=8, ge=0, le=10_000)  # 0: never group
    surge_window_seconds: int = Field(default=900, ge=60, le=86_400)
    surge_similarity: float = Field(default=0.73, gt=0, le=1)  # centred embedding, cosine

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return normalize_store_url(value)

    @field_validator("source_database_url")
    @classmethod
    def _check_source_url(cls, value: str | None) -> str | None:
        return normalize_source_url(value) if value and value.strip() else None

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_log_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as UTC or Europe/Berlin"
            ) from None
        return value

    @field_validator("digest_time")
    @classmethod
    def _check_time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("DIGEST_TIME must look like HH:MM (24-hour clock)")
        return value

    @field_validator("retention_time")
    @classmethod
    def _check_retention_time(cls, value: str) -> str:
        if not _TIME.match(value):
            raise ValueError("RETENTION_TIME must look like HH:MM (24-hour clock)")
        return value

    @field_validator("retrain_time")
    @classmethod
    def _check_retrain_time(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not _TIME.match(value):
            raise ValueError("RETRAIN_TIME must look like HH:MM (24-hour clock), or be empty")
        return value

    @field_validator("show_requester")
    @classmethod
    def _check_show_requester(cls, value: str) -> str:
        value = (value or "").strip().lower()
        if value not in {"none", "name", "email"}:
            raise ValueError("SHOW_REQUESTER must be 'none', 'name' or 'email'")
        return value

    @field_validator("ticket_url_template")
    @classmethod
    def _check_url_template(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and (
            not value.startswith(("https://", "http://")) or "{id}" not in value
        ):
            raise ValueError(
                "TICKET_URL_TEMPLATE must be an http(s) URL containing {id}, "
                "e.g. https://help.example.com/tickets/{id}"
            )
        return value

    @field_validator("classifier")
    @classmethod
    def _check_classifier(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in {"local", "openai"}:
            raise ValueError("CLASSIFIER must be 'local' or 'openai'")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        """Socket Mode is on exactly when an app-level token is configured."""
        return bool(self.slack_app_token)

    @property
    def response_url_hosts(self) -> frozenset[str]:
        """Hosts the bot may POST a response_url to (lower-case, no port)."""
        if self.slack_response_url_hosts and self.slack_response_url_hosts.strip():
            hosts = self.slack_response_url_hosts.split(",")
        else:
            hosts = [*SLACK_RESPONSE_HOSTS, urlsplit(self.slack_api_url).hostname or ""]
        return frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip())

    @property
    def effective_digest_channel(self) -> str | None:
        return self.digest_channel or self.triage_channel

    def require(self, *names: str, why: str) -> None:
        """Stop with one clear line when a setting needed by this command is missing."""
        for name in names:
            if not getattr(self, name.lower()):
                raise MissingSettingError(name.upper(), why)
