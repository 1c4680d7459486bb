"""`str.translate` with a one-character table, several times faster.

`str.translate` looks every character up in a dict; `bytes.translate` indexes a 256-byte
table. Tokenisers on the classify path (TF-IDF, tone, language) translate every ticket, so
the ASCII characters are translated as bytes: ASCII text directly, other text as UTF-8
(where a byte below 128 is always that ASCII character), and the few non-ASCII characters
the table maps are then replaced where they occur. The result is the same string.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping


def ascii_fast(table: Mapping[int, str]) -> Callable[[str], str]:
    """A function equal to `text.translate(table)`, for a table of one-character values
    (an ASCII character for every ASCII key)."""
    raw = bytearray(range(256))
    for code, to in table.items():
        if code < 128:
            if len(to) != 1 or not to.isascii():
                raise ValueError(f"{chr(code)!r} must map to one ASCII character")
            raw[code] = ord(to)
    fast = bytes(raw)
    wide = {chr(code): to for code, to in table.items() if code >= 128}
    wide_chars = (
        re.compile("[" + "".join(re.escape(ch) for ch in sorted(wide)) + "]") if wide else None
    )

    def replace(match: re.Match[str]) -> str:
        return wide[match.group()]

    def translate(text: str) -> str:
        if text.isascii():
            return text.encode("ascii").translate(fast).decode("ascii")
        out = text.encode("utf-8", "surrogatepass").translate(fast)
        found = out.decode("utf-8", "surrogatepass")
        if wide_chars is not None and wide_chars.search(found) is not None:
            found = wide_chars.sub(replace, found)
        return found

    return translate
