"""No ownerless path through the bot: `check-policies` and `serve`, run as the real CLI
(`python -m bot`) in a subprocess, refuse broken policy files and name the file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    return target


def run(args: list[str], tmp_path: Path, policies: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        TRIAGE_CHANNEL="C0TRIAGE",
        DATABASE_URL=f"sqlite:///{tmp_path / 'triage.db'}",
        POLICIES_DIR=str(policies),
        PORT="0",
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,  # no .env from the developer's checkout
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def drop_key(path: Path, key: str) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(ln for ln in lines if not ln.startswith(f"{key}:")) + "\n")


def test_valid_policies_pass(tmp_path: Path, policies: Path):
    result = run(["check-policies"], tmp_path, policies)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every tag has an owner" in result.stdout


def test_policy_without_owner_stops_serve_with_a_message_naming_the_file(
    tmp_path: Path, policies: Path
):
    drop_key(policies / "billing.yml", "owner")
    billing = str(policies / "billing.yml")

    check = run(["check-policies"], tmp_path, policies)
    assert check.returncode == 1
    assert f"{billing}: owner: every policy must name an owner" in check.stdout.splitlines()

    serve = run(["serve"], tmp_path, policies)
    assert serve.returncode == 1
    output = serve.stdout + serve.stderr
    assert f"{billing}: owner: every policy must name an owner" in output
    assert "serve refuses to start with invalid policies" in serve.stderr
    assert "Traceback" not in output


def test_every_problem_is_reported_with_its_file(tmp_path: Path, policies: Path):
    (policies / "billing.yml").write_text("owner: [not, a, user\n")  # broken YAML
    (policies / "bug.yml").write_text(
        (policies / "bug.yml").read_text().replace("mode: auto", "mode: autopilot")
    )
    (policies / "how_to.yml").write_text(
        (policies / "how_to.yml").read_text().replace("owner: U0HOWTOOWN", "owner: alice")
    )
    (policies / "extra.yml").write_text(
        "owner: U0EXTRAOWN\ntags: [security]\nroute_channel: C0EXTRA\nonwer: typo\n"
    )
    (policies / "empty.yml").write_text("")
    check = run(["check-policies", str(policies)], tmp_path, policies)
    assert check.returncode == 1
    lines = check.stdout.splitlines()
    expected = {
        "billing.yml": "cannot read YAML",
        "bug.yml": "mode:",
        "how_to.yml": "owner:",
        "extra.yml": "onwer: Extra inputs are not permitted",
        "empty.yml": "must be a YAML mapping",
    }
    for name, fragment in expected.items():
        assert any(ln.startswith(str(policies / name)) and fragment in ln for ln in lines), (
            f"{name}: {fragment} not in {lines}"
        )
    # With billing.yml unreadable, the billing tag has no owner: that is reported too.
    assert f"{policies}: tag 'billing' is not covered by any policy" in lines

    serve = run(["serve"], tmp_path, policies)
    assert serve.returncode == 1
    for name in expected:
        assert str(policies / name) in serve.stdout


def test_a_tag_no_policy_covers_stops_serve(tmp_path: Path, policies: Path):
    (policies / "cancellation.yml").unlink()
    serve = run(["serve"], tmp_path, policies)
    assert serve.returncode == 1
    assert f"{policies}: tag 'cancellation' is not covered by any policy" in serve.stdout
    check = run(["check-policies"], tmp_path, policies)
    assert check.returncode == 1 and "'cancellation' is not covered" in check.stdout


def test_missing_global_owners_stop_serve(tmp_path: Path, policies: Path):
    drop_key(policies / "_global.yml", "owners")
    serve = run(["serve"], tmp_path, policies)
    assert serve.returncode == 1
    assert str(policies / "_global.yml") in serve.stdout and "owners" in serve.stdout


def test_bad_launch_gate_settings_are_reported(tmp_path: Path, policies: Path):
    global_file = policies / "_global.yml"
    global_file.write_text(
        global_file.read_text().replace("launch_min_decided: 50", "launch_min_decided: -3")
    )
    check = run(["check-policies"], tmp_path, policies)
    assert check.returncode == 1
    assert any(
        ln.startswith(str(global_file)) and "launch_min_decided" in ln
        for ln in check.stdout.splitlines()
    )
