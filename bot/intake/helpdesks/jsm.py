"""Jira Service Management: Jira's `jira:issue_created` webhook for a service project.

Admin webhooks registered with a secret are signed: `X-Hub-Signature: sha256=<hex
HMAC-SHA256(secret, body)>`. Automation rules ("Send web request") cannot sign: give them
the `X-Triage-Token` header instead. The issue key (`SUP-123`) is the ticket id; the link
back is the site's `/browse/<key>`. Descriptions in Atlassian Document Format are read as
their text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from bot.intake.helpdesks.base import (
    PayloadError,
    equal,
    field,
    first,
    hmac_hex,
    requester,
    require_object,
    shared_token,
)

SIGNATURE = "X-Hub-Signature"
MAX_ADF_NODES = 100_000


def adf_text(node: Any) -> str:
    """The text of an Atlassian Document Format tree, paragraphs on their own lines.

    Iterative and bounded: a hostile, deeply nested document cannot exhaust the stack.
    """
    if isinstance(node, str):
        return node
    parts: list[str] = []
    stack: list[Any] = [node]
    seen = 0
    while stack and seen < MAX_ADF_NODES:
        current = stack.pop()
        seen += 1
        if isinstance(current, str):
            parts.append(current)
            continue
        if not isinstance(current, Mapping):
            continue
        if current.get("type") == "text" and isinstance(current.get("text"), str):
            parts.append(current["text"])
        elif current.get("type") == "hardBreak":
            parts.append("\n")
        content = current.get("content")
        if isinstance(content, list):
            if current.get("type") in {"paragraph", "heading", "listItem", "codeBlock"}:
                stack.append("\n")
            stack.extend(reversed(content))
    return "".join(parts).strip()


class JiraServiceManagement:
    name: ClassVar[str] = "jsm"
    title: ClassVar[str] = "Jira Service Management"
    setting: ClassVar[str] = "JSM_WEBHOOK_SECRET"

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool:
        signature = headers.get(SIGNATURE, "")
        if signature:
            return signature.startswith("sha256=") and equal(
                signature, "sha256=" + hmac_hex(secret, body)
            )
        return shared_token(headers, secret)

    def tickets(self, payload: Any) -> list[dict[str, Any]]:
        data = require_object(payload, self.title)
        event = data.get("webhookEvent")
        if event is not None and event != "jira:issue_created":
            return []
        issue = data.get("issue")
        if not isinstance(issue, Mapping):
            raise PayloadError("a Jira webhook body carries the request as `issue`")
        fields = issue.get("fields") if isinstance(issue.get("fields"), Mapping) else {}
        key = first(issue.get("key"), issue.get("id"))
        reporter = fields.get("reporter") if isinstance(fields.get("reporter"), Mapping) else {}
        url = issue.get("url") if isinstance(issue.get("url"), str) else None
        site = urlsplit(str(issue.get("self") or ""))
        if url is None and site.scheme in {"http", "https"} and site.netloc and issue.get("key"):
            url = f"{site.scheme}://{site.netloc}/browse/{issue['key']}"
        return [
            {
                "id": key,
                "subject": fields.get("summary"),
                "body": adf_text(fields.get("description")) if fields.get("description") else "",
                "created_at": _jira_time(fields.get("created")),
                "requester": requester(
                    first(reporter.get("displayName"), field(data, "user", "displayName")),
                    reporter.get("emailAddress"),
                ),
                "url": url,
            }
        ]


def _jira_time(value: Any) -> Any:
    """Jira writes `2024-05-01T10:15:30.000+0000`; ISO parsing wants `+00:00`."""
    if isinstance(value, str) and len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        return f"{value[:-2]}:{value[-2:]}"
    return value
