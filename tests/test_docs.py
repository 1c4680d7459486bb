"""The README and docs/ are the front door: every relative link in them leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)\s]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path):
    broken = []
    for target, _anchor in LINK.findall(page.read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        if not (page.parent / target).exists():
            broken.append(target)
    assert broken == [], f"{page.name} links to missing files: {broken}"


def test_readme_stays_a_front_door():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250
    text = "\n".join(lines)
    for needed in (
        "pip install -e . && triage-bot classify examples/tickets.csv",
        "pip install -e '.[test]' && pytest",
    ):
        assert needed in text


def test_user_facing_text_names_no_work_items():
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"\b[Ii]ssue [0-9]+\b|owned by issue", text), page.name


def test_slash_command_syntax_agrees_between_manifest_and_docs():
    import yaml

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))
    docs = (ROOT / "docs" / "slack-setup.md").read_text(encoding="utf-8").replace("\\|", "|")
    commands = manifest["features"]["slash_commands"]
    assert commands
    for command in commands:
        hint = command.get("usage_hint")
        if hint:
            assert f"{command['command']} {hint}" in docs, command["command"]
