"""Policy files: every problem reported with its file; no ownerless path."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.classifier import DEFAULT_TAGS
from bot.policies import load_policies

ROOT = Path(__file__).resolve().parent.parent


def copy_policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def test_bundled_policies_cover_every_tag_with_an_owner():
    policies, problems = load_policies(ROOT / "policies", list(DEFAULT_TAGS))
    assert problems == []
    assert set(policies.tags) == set(DEFAULT_TAGS)
    assert all(p.owner.startswith("U") for p in policies.policies.values())


def test_missing_owner_is_reported_with_the_file(tmp_path: Path):
    directory = copy_policies(tmp_path)
    path = directory / "billing.yml"
    path.write_text(
        "\n".join(x for x in path.read_text().splitlines() if not x.startswith("owner:"))
    )
    _, problems = load_policies(directory, list(DEFAULT_TAGS))
    assert str(problems[0]) == f"{path}: owner: every policy must name an owner"
    # The tag it covered now has no owner either; that is reported too.
    assert any("tag 'billing' is not covered" in str(p) for p in problems[1:])


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path):
    directory = copy_policies(tmp_path)
    (directory / "bug.yml").write_text(
        "owner: nobody\ntags: [bug]\nroute_channel: C0BUGS\nmode: yolo\n"
    )
    (directory / "how_to.yml").write_text("owner: [unclosed\n")
    (directory / "feature_request.yml").unlink()
    _, problems = load_policies(directory, list(DEFAULT_TAGS))
    text = "\n".join(str(p) for p in problems)
    assert f"{directory / 'bug.yml'}: owner:" in text
    assert f"{directory / 'bug.yml'}: mode:" in text
    assert f"{directory / 'how_to.yml'}: cannot read YAML" in text
    assert "tag 'feature_request' is not covered by any policy" in text


def test_tag_covered_twice_and_missing_global(tmp_path: Path):
    directory = copy_policies(tmp_path)
    (directory / "_global.yml").unlink()
    (directory / "extra.yml").write_text("owner: U0X1\ntags: [billing]\nroute_channel: C0X\n")
    _, problems = load_policies(directory, list(DEFAULT_TAGS))
    text = "\n".join(str(p) for p in problems)
    assert "'billing' is already covered by policy" in text
    assert "_global.yml: missing" in text


def test_only_owner_backup_or_global_owner_may_control(tmp_path: Path):
    policies, _ = load_policies(ROOT / "policies", list(DEFAULT_TAGS))
    billing = policies.policies["billing"]
    assert policies.may_control(billing.owner, "billing")
    assert policies.may_control(billing.backup, "billing")
    assert not policies.may_control("U0STRANGER", "billing")
    assert policies.may_control("U0SUPPLEAD", "billing")
    assert policies.controllers("billing") == [billing.owner, billing.backup]
    assert policies.controllers("all") == ["U0SUPPLEAD"]
