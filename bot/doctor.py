"""Configuration checks shared by `triage-bot doctor` and `serve`'s start.

Every check returns findings instead of raising, so one run reports every problem.
Errors stop `serve`; warnings (probably wrong: placeholder IDs, say) are logged by `serve`
and make `doctor` exit 1 too; notes are information and fail nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from bot import placeholders
from bot.dbcheck import check_connection
from bot.policies import load_policies
from bot.settings import Settings

Level = Literal["error", "warning", "note", "ok"]
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]+$")
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Finding:
    level: Level
    where: str  # a setting name, a file:line, "database", "slack"
    message: str

    def __str__(self) -> str:
        joint = " " if self.message.startswith("is ") else ": "
        return f"{self.level}: {self.where}{joint}{self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)

    def add(self, level: Level, where: str, message: str) -> None:
        self.findings.append(Finding(level, where, message))

    def extend(self, findings: list[Finding]) -> None:
        self.findings.extend(findings)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]


# --- settings ------------------------------------------------------------------------------


def _validation_findings(exc: ValidationError) -> list[Finding]:
    findings = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]).upper() or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        findings.append(Finding("error", name, message))
    return findings


def load_settings_leniently(**overrides: Any) -> tuple[Settings, list[Finding]]:
    """Settings from the environment and .env even when some values are invalid.

    Each invalid value is reported and replaced by its default, so the other checks can
    still run and every problem is named in one run.
    """
    findings: list[Finding] = []
    fixed: dict[str, Any] = dict(overrides)
    for _attempt in range(len(Settings.model_fields) + 1):
        try:
            return Settings(**fixed), findings
        except ValidationError as exc:
            new = _validation_findings(exc)
            findings.extend(f for f in new if f not in findings)
            progressed = False
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else ""
                info = Settings.model_fields.get(name)
                if info is not None and name not in fixed:
                    fixed[name] = info.get_default(call_default_factory=True)
                    progressed = True
            if not progressed:
                break
    return Settings(_env_file=None), findings  # type: ignore[call-arg]


def serve_requirements(settings: Settings) -> list[tuple[str, str]]:
    """(setting, why) pairs `serve` cannot start without, for the chosen mode."""
    needs = [
        ("SLACK_BOT_TOKEN", "serve posts to Slack with the bot token"),
        ("TRIAGE_CHANNEL", "serve posts proposals to the triage channel"),
    ]
    if not settings.socket_mode:
        needs.append(
            (
                "SLACK_SIGNING_SECRET",
                "HTTP mode verifies Slack's requests (or set SLACK_APP_TOKEN for Socket Mode)",
            )
        )
    if settings.classifier == "openai":
        needs.append(("OPENAI_MODEL", "CLASSIFIER=openai needs the model name to call"))
        needs.append(("OPENAI_API_KEY", "CLASSIFIER=openai needs an API key"))
    return needs


def settings_findings(settings: Settings) -> list[Finding]:
    """Missing and suspicious settings for `serve`, all of them."""
    report = Report()
    for name, why in serve_requirements(settings):
        if not getattr(settings, name.lower()):
            report.add("error", name, f"is not set: {why}")
    token = settings.slack_bot_token or ""
    if token and not token.startswith("xoxb-"):
        kind = "an app-level token (xapp-)" if token.startswith("xapp-") else "not a bot token"
        report.add(
            "error" if token.startswith(("xapp-", "xoxp-")) else "warning",
            "SLACK_BOT_TOKEN",
            f"this is {kind}; use the Bot User OAuth Token (xoxb-…) from OAuth & Permissions",
        )
    app_token = settings.slack_app_token or ""
    if app_token and not app_token.startswith("xapp-"):
        report.add(
            "error",
            "SLACK_APP_TOKEN",
            "an app-level token starts with xapp- (Basic Information → App-Level Tokens, "
            "scope connections:write)",
        )
    for name in ("TRIAGE_CHANNEL", "DIGEST_CHANNEL"):
        value = getattr(settings, name.lower())
        if not value:
            continue
        if not CHANNEL_ID.match(value):
            report.add(
                "error",
                name,
                f"{value!r} is not a channel ID; use the ID (C…), shown under the channel's "
                "name → About, not its #name",
            )
        elif placeholders.is_placeholder(value):
            report.add("warning", name, f"{value} looks like a placeholder")
    if not settings.intake_secret:
        report.add(
            "note",
            "INTAKE_SECRET",
            "not set: POST /tickets refuses every request until it is (any long random string)",
        )
    if bool(settings.source_database_url) != bool(settings.source_query):
        missing = "SOURCE_QUERY" if settings.source_database_url else "SOURCE_DATABASE_URL"
        report.add(
            "error", missing, "the helpdesk source needs both SOURCE_DATABASE_URL and SOURCE_QUERY"
        )
    if settings.metrics_token is not None and len(settings.metrics_token) < MIN_TOKEN_CHARS:
        report.add(
            "warning",
            "METRICS_TOKEN",
            f"shorter than {MIN_TOKEN_CHARS} characters; use a long random string",
        )
    return report.findings


# --- policies -------------------------------------------------------------------------------


def known_tags(settings: Settings) -> list[str] | None:
    """The tags the configured local model predicts (None when it cannot be loaded)."""
    return model_check(settings)[0]


def model_check(settings: Settings) -> tuple[list[str] | None, list[Finding]]:
    """The local model's tags, or the finding that says why it cannot be loaded."""
    from bot.classifier.base import ModelFileError
    from bot.classifier.local import load_local_model

    try:
        return list(load_local_model(settings).tags), []
    except ModelFileError as exc:
        return None, [Finding("error", "MODEL_PATH", str(exc))]
    except Exception as exc:
        return None, [
            Finding("error", "MODEL_PATH", f"cannot load the model: {type(exc).__name__}")
        ]


def policy_findings(directory: Path, tags: list[str] | None) -> list[Finding]:
    """Invalid policies as errors; placeholder IDs as warnings with file and line."""
    findings = []
    _policy_set, problems = load_policies(directory, tags)
    for problem in problems:
        findings.append(Finding("error", problem.file, problem.message))
    for where, message in placeholders.by_file(placeholders.placeholder_refs(directory)):
        findings.append(Finding("warning", where, message))
    return findings


# --- database -------------------------------------------------------------------------------


def database_findings(settings: Settings) -> list[Finding]:
    """Can the store be reached; is its schema current; can the helpdesk source be reached."""
    findings = []
    problem = check_connection(settings.database_url)
    if problem:
        findings.append(Finding("error", "DATABASE_URL", problem))
    else:
        findings.extend(_schema_findings(settings.database_url))
        findings.extend(_audit_findings(settings.database_url))
    if settings.source_database_url:
        problem = check_connection(settings.source_database_url, name="SOURCE_DATABASE_URL")
        if problem:
            findings.append(Finding("error", "SOURCE_DATABASE_URL", problem))
    return findings


def _audit_findings(url: str) -> list[Finding]:
    """PostgreSQL: could the bot's role alter or rewrite the audit trail (docs/postgres-roles.md)?"""
    from sqlalchemy.engine import make_url

    if make_url(url).get_backend_name() != "postgresql":
        return []
    from bot.audit_guard import audit_guard
    from bot.db import make_engine

    engine = make_engine(url)
    try:
        report = audit_guard(engine)
    except Exception as exc:
        return [
            Finding("note", "DATABASE_URL", f"audit trail guard not checked ({type(exc).__name__})")
        ]
    finally:
        engine.dispose()
    return [
        Finding("warning", "DATABASE_URL", w) for w in report.warnings if "no audit_events" not in w
    ]


def _schema_findings(url: str) -> list[Finding]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not Path(database).exists():
            return []  # created with its schema by `serve` or `triage-bot db upgrade`
    from bot.db import make_engine, pending_revisions

    engine = make_engine(url)
    try:
        missing = pending_revisions(engine)
    except Exception as exc:
        return [
            Finding(
                "warning",
                "DATABASE_URL",
                f"could not read the schema version ({type(exc).__name__})",
            )
        ]
    finally:
        engine.dispose()
    if missing:
        return [
            Finding(
                "note",
                "DATABASE_URL",
                f"{len(missing)} schema migration(s) pending; serve applies them at start "
                "(or run: triage-bot db upgrade)",
            )
        ]
    return []


def offline_report(settings: Settings, validation: list[Finding] | None = None) -> Report:
    """Everything but Slack: settings, policies, placeholders, database."""
    report = Report(list(validation or []))
    report.extend(settings_findings(settings))
    tags, model_problems = model_check(settings)
    report.extend(model_problems)
    report.extend(policy_findings(settings.policies_dir, tags))
    report.extend(database_findings(settings))
    return report
