"""Slack IDs named in policy files, with their file and line, and which look like placeholders.

The bundled example policies name made-up IDs (`U0BILLOWNR`, `C0BILLING`) so the offline
quick start works; a deployment that keeps them posts to channels that do not exist. They
are warned about, not refused, so the examples keep working offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

EXAMPLE_POLICIES = Path(__file__).parent / "example_policies"
USER_KEYS = ("owner", "backup", "escalation")
CHANNEL_KEYS = ("route_channel",)
LIST_USER_KEYS = ("owners",)
_MARKERS = re.compile(r"X{3,}|0{5,}|EXAMPLE|PLACEHOLDER|CHANGEME|REPLACE|TODO|FIXME|YOUR")


@dataclass(frozen=True)
class SlackIdRef:
    """One Slack ID in a policy file: where it is, under which key, user or channel."""

    file: str
    line: int
    key: str
    value: str
    kind: Literal["user", "channel"]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _refs_in(path: Path) -> list[SlackIdRef]:
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []  # unreadable files are reported by the policy loader
    if not isinstance(root, yaml.MappingNode):
        return []
    refs: list[SlackIdRef] = []
    for key_node, value_node in root.value:
        key = str(key_node.value)
        if key in USER_KEYS + CHANNEL_KEYS and isinstance(value_node, yaml.ScalarNode):
            kind: Literal["user", "channel"] = "channel" if key in CHANNEL_KEYS else "user"
            line = value_node.start_mark.line + 1
            refs.append(SlackIdRef(str(path), line, key, str(value_node.value), kind))
        elif key in LIST_USER_KEYS and isinstance(value_node, yaml.SequenceNode):
            for item in value_node.value:
                if isinstance(item, yaml.ScalarNode):
                    line = item.start_mark.line + 1
                    refs.append(SlackIdRef(str(path), line, key, str(item.value), "user"))
    return refs


def slack_id_refs(directory: Path) -> list[SlackIdRef]:
    """Every user and channel ID in a policies directory, in file order."""
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("*.yml")) + sorted(directory.glob("*.yaml"))
    return [ref for path in files for ref in _refs_in(path) if ref.value]


@lru_cache(maxsize=1)
def example_ids() -> frozenset[str]:
    """The made-up IDs of the bundled example policies."""
    return frozenset(ref.value for ref in slack_id_refs(EXAMPLE_POLICIES))


def is_placeholder(value: str) -> bool:
    """A bundled example ID, or one that says it is a placeholder (XXXX, EXAMPLE, …)."""
    value = value.strip().upper()
    return value in example_ids() or bool(_MARKERS.search(value[1:]))


def placeholder_refs(directory: Path) -> list[SlackIdRef]:
    return [ref for ref in slack_id_refs(directory) if is_placeholder(ref.value)]


def by_file(refs: list[SlackIdRef]) -> list[tuple[str, str]]:
    """(file:lines, message) per file, so a copied example file is one warning, not five."""
    grouped: dict[str, list[SlackIdRef]] = {}
    for ref in refs:
        grouped.setdefault(ref.file, []).append(ref)
    lines = []
    for file, group in grouped.items():
        where = f"{file}:{','.join(str(r.line) for r in group)}"
        ids = ", ".join(f"{r.key} {r.value}" for r in group)
        lines.append((where, f"placeholder IDs from the bundled examples: {ids}"))
    return lines


FIX = (
    "replace placeholder IDs with your workspace's: a user's ID is in their profile "
    "(⋮ → Copy member ID), a channel's under its name → About; then invite the bot to each "
    "channel. `triage-bot doctor --slack` checks them against Slack."
)
