"""`doctor --slack`: ask Slack whether the token works and every user and channel the
policies name exists, and whether the bot can post in each channel.

Checking users needs the optional scope `users:read`; checking channels needs
`channels:read` (and `groups:read` for private channels). Without them the check says
which scope to add and skips that part; the bot itself never needs them.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doctor import Finding
from bot.placeholders import SlackIdRef, slack_id_refs
from bot.settings import Settings

NEEDED_SCOPES = {
    "chat:write": "error",  # every post
    "commands": "warning",  # the slash commands
    "files:write": "warning",  # the digest's chart
}
SCOPE_HEADER = "x-oauth-scopes"


def _error(exc: SlackApiError) -> str:
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        return str(data.get("error", "unknown"))
    return f"HTTP {getattr(exc.response, 'status_code', '?')}"


def _scopes(response: Any) -> set[str] | None:
    headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
    raw = headers.get(SCOPE_HEADER)
    if raw is None:
        return None
    return {s.strip() for s in str(raw).split(",") if s.strip()}


def _channel_refs(settings: Settings, refs: list[SlackIdRef]) -> dict[str, str]:
    """channel id -> where it is named (first place)."""
    named: dict[str, str] = {}
    for name in ("TRIAGE_CHANNEL", "DIGEST_CHANNEL"):
        value = getattr(settings, name.lower())
        if value:
            named.setdefault(value, name)
    for ref in refs:
        if ref.kind == "channel":
            named.setdefault(ref.value, ref.where)
    return named


async def slack_findings(settings: Settings, client: AsyncWebClient | None = None) -> list[Finding]:
    """Token, scopes, users and channels, as findings; never raises for Slack's answers."""
    if not settings.slack_bot_token:
        return [Finding("error", "slack", "SLACK_BOT_TOKEN is not set; cannot ask Slack")]
    client = client or AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=int(max(1, settings.slack_timeout_seconds)),
    )
    findings: list[Finding] = []
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return [
            Finding(
                "error",
                "SLACK_BOT_TOKEN",
                f"auth.test failed: {_error(exc)}; copy the Bot User OAuth Token again",
            )
        ]
    except Exception as exc:  # unreachable API, TLS, timeouts
        return [
            Finding(
                "error",
                "SLACK_API_URL",
                f"cannot reach Slack at {settings.slack_api_url}: {type(exc).__name__}",
            )
        ]
    findings.append(
        Finding(
            "ok", "slack", f"token works: bot user {auth.get('user_id')} in team {auth.get('team')}"
        )
    )
    scopes = _scopes(auth)
    if scopes is not None:
        for scope, level in NEEDED_SCOPES.items():
            if scope not in scopes:
                findings.append(
                    Finding(
                        level,
                        "slack",
                        f"the token lacks the scope {scope}; add it (manifest.yml) and reinstall the app",
                    )  # type: ignore[arg-type]
                )
    refs = slack_id_refs(settings.policies_dir)
    findings.extend(await _check_users(client, refs))
    findings.extend(await _check_channels(client, _channel_refs(settings, refs), scopes))
    return findings


async def _check_users(client: AsyncWebClient, refs: list[SlackIdRef]) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for ref in refs:
        if ref.kind != "user" or ref.value in seen:
            continue
        seen.add(ref.value)
        try:
            answer = await client.users_info(user=ref.value)
        except SlackApiError as exc:
            error = _error(exc)
            if error == "missing_scope":
                return [
                    *findings,
                    Finding(
                        "note",
                        "slack",
                        "users not checked: add the optional scope users:read to check them",
                    ),
                ]
            if error in {"user_not_found", "user_not_visible"}:
                findings.append(
                    Finding(
                        "error", ref.where, f"{ref.key} {ref.value}: no such user in this workspace"
                    )
                )
            else:
                findings.append(
                    Finding("warning", ref.where, f"{ref.key} {ref.value}: users.info said {error}")
                )
            continue
        user = answer.get("user") or {}
        if user.get("deleted"):
            findings.append(
                Finding("error", ref.where, f"{ref.key} {ref.value} is a deactivated user")
            )
        elif user.get("is_bot"):
            findings.append(
                Finding("warning", ref.where, f"{ref.key} {ref.value} is a bot, not a person")
            )
    return findings


async def _check_channels(
    client: AsyncWebClient, channels: dict[str, str], scopes: set[str] | None
) -> list[Finding]:
    findings: list[Finding] = []
    public_ok = scopes is not None and "chat:write.public" in scopes
    for channel, where in channels.items():
        try:
            answer = await client.conversations_info(channel=channel)
        except SlackApiError as exc:
            error = _error(exc)
            if error == "missing_scope":
                return [
                    *findings,
                    Finding(
                        "note",
                        "slack",
                        "channels not checked: add the optional scopes channels:read "
                        "(and groups:read for private channels) to check them",
                    ),
                ]
            if error == "channel_not_found":
                findings.append(
                    Finding(
                        "error",
                        where,
                        f"channel {channel} not found, or private and the bot is not in it; "
                        "check the ID and /invite the bot",
                    )
                )
            else:
                findings.append(
                    Finding("warning", where, f"channel {channel}: conversations.info said {error}")
                )
            continue
        info = answer.get("channel") or {}
        label = f"#{info['name']}" if info.get("name") else channel
        if info.get("is_archived"):
            findings.append(
                Finding(
                    "error",
                    where,
                    f"channel {channel} ({label}) is archived; the bot cannot post there",
                )
            )
        elif not info.get("is_member", True) and (info.get("is_private") or not public_ok):
            findings.append(
                Finding(
                    "error",
                    where,
                    f"the bot is not a member of {label} ({channel}), so posts fail with "
                    f"not_in_channel; in Slack: /invite @triage-bot in {label}",
                )
            )
    return findings
