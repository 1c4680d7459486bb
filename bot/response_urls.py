"""A signed payload's `response_url` is POSTed to only when it points at Slack.

Bolt's `respond()` POSTs to whatever `response_url` the payload carries. Slack's are
`https://hooks.slack.com/...`; anything else (a leaked signing secret, a misconfigured
proxy) must not make the bot send its answers, which can name tickets, elsewhere.
Allowed hosts: SLACK_RESPONSE_URL_HOSTS, by default Slack's hosts plus SLACK_API_URL's host.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit


def response_urls(body: dict[str, Any]) -> list[str]:
    """Every response URL a Slack payload carries (commands, clicks, view submissions)."""
    urls: list[str] = []
    if isinstance(body.get("response_url"), str):
        urls.append(body["response_url"])
    for item in body.get("response_urls") or []:
        if isinstance(item, dict) and isinstance(item.get("response_url"), str):
            urls.append(item["response_url"])
    return urls


def allowed(url: str, hosts: Iterable[str], api_url: str) -> bool:
    """https to an allowed host; plain http only to SLACK_API_URL's own host when it is http."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if not host or host not in set(hosts) or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    api = urlsplit(api_url)
    return parts.scheme == "http" and api.scheme == "http" and host == (api.hostname or "").lower()


def first_refused(body: dict[str, Any], hosts: Iterable[str], api_url: str) -> str | None:
    """The host of the first response URL that is not allowed (None when all are)."""
    hosts = frozenset(hosts)
    for url in response_urls(body):
        if not allowed(url, hosts, api_url):
            try:
                return urlsplit(url).hostname or "?"
            except ValueError:
                return "?"
    return None
