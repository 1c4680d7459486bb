"""JSON for the hot paths (store columns, intake bodies and answers): orjson, with the
standard library for what orjson refuses, so nothing the bot used to accept is refused."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """orjson is several times faster than the standard library; what it refuses (a
    non-string key, a lone surrogate from junk input) goes through json as before."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    """orjson first; what it refuses but the standard library reads (an escaped lone
    surrogate from junk input, which json.dumps writes) goes through json."""
    try:
        return orjson.loads(text)
    except ValueError:
        return json.loads(text)
