"""What every helpdesk adapter is, and the checks they share.

An adapter answers two questions about a request: is it really from the helpdesk
(`verify`, on the raw bytes, before anything is parsed), and which tickets does the
payload carry (`tickets`, as raw dicts with the generic intake fields). An event the
bot does not triage (a ping, an agent's reply) yields no tickets rather than an error,
so the helpdesk does not retry it forever.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from bot.source.clean import html_to_text, looks_like_html

TOKEN_HEADER = "X-Triage-Token"


class PayloadError(ValueError):
    """The payload is JSON but not a shape this helpdesk sends; the message says why."""


class HelpdeskAdapter(Protocol):
    name: ClassVar[str]
    title: ClassVar[str]
    setting: ClassVar[str]

    def verify(self, headers: Mapping[str, str], body: bytes, secret: str) -> bool: ...

    def tickets(self, payload: Any) -> list[dict[str, Any]]: ...


def equal(given: str, expected: str) -> bool:
    """Constant-time comparison of two header values."""
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def hmac_hex(secret: str, message: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(secret.encode(), message, getattr(hashlib, algorithm)).hexdigest()


def hmac_base64(secret: str, message: bytes) -> str:
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def shared_token(headers: Mapping[str, str], secret: str) -> bool:
    """For senders that cannot sign: `X-Triage-Token: <secret>` or Basic auth, password = secret.

    Freshdesk automations, Jira automation rules and older Chatwoot releases send fixed
    headers or Basic auth only; over HTTPS that is as strong as the secret.
    """
    token = headers.get(TOKEN_HEADER)
    if token and equal(token, secret):
        return True
    auth = headers.get("Authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        _, _, password = decoded.partition(":")
        return bool(password) and equal(password, secret)
    return False


def field(data: Any, *path: str) -> Any:
    """`data[path[0]][path[1]]…`, or None where any step is missing or not an object."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def first(*values: Any) -> Any:
    """The first value that is neither None nor an empty string."""
    for value in values:
        if value is not None and value != "":
            return value
    return None


def readable(value: Any) -> str:
    """Helpdesks send HTML bodies (Intercom, Freshdesk, Chatwoot); the bot reads text."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return html_to_text(text) if looks_like_html(text) else text


def requester(name: Any, email: Any) -> str:
    """`Name <email>`, or whichever of the two is known."""
    name = str(name).strip() if name else ""
    email = str(email).strip() if email else ""
    if name and email:
        return f"{name} <{email}>"
    return name or email


def require_object(payload: Any, helpdesk: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"a {helpdesk} webhook body is a JSON object")
    return payload
