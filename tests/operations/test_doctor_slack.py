"""`doctor --slack` against the local Slack Web API server: the token, the scopes, and
whether every user and channel the policies name exists and can be posted to."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.doctor_slack import slack_findings
from bot.placeholders import slack_id_refs
from tests.conftest import make_settings
from tests.fakes.slack_api import FakeSlack
from tests.operations.helpers import clean_env, copy_policies, real_looking_ids

TRIAGE = "C0TRIAGE"


def workspace(slack: FakeSlack, policies: Path) -> None:
    """Every user and channel of the policies exists and the bot is in every channel."""
    refs = slack_id_refs(policies)
    slack.users = {r.value: {"name": r.value.lower()} for r in refs if r.kind == "user"}
    slack.channels = {
        r.value: {"name": f"chan-{r.value.lower()}", "is_member": True}
        for r in refs
        if r.kind == "channel"
    }
    slack.channels[TRIAGE] = {"name": "triage", "is_member": True}
    slack.scopes = ["chat:write", "commands", "files:write", "users:read", "channels:read"]


async def test_everything_present_is_clean(fake_slack: FakeSlack, tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    real_looking_ids(policies)
    workspace(fake_slack, policies)
    settings = make_settings(slack_api_url=fake_slack.api_url, policies_dir=policies)
    findings = await slack_findings(settings)
    assert [f.level for f in findings] == ["ok"], findings
    assert "U0BOT" in findings[0].message
    assert fake_slack.of("auth.test")
    checked = {c.params["user"] for c in fake_slack.of("users.info")}
    assert checked == {r.value for r in slack_id_refs(policies) if r.kind == "user"}


async def test_unknown_user_missing_channel_and_no_membership_are_named_with_file_and_line(
    fake_slack: FakeSlack, tmp_path: Path
):
    policies = copy_policies(tmp_path / "policies")
    new_to_old = real_looking_ids(policies)
    old_to_new = {old: new for new, old in new_to_old.items()}
    workspace(fake_slack, policies)
    billing_owner = old_to_new["U0BILLOWNR"]
    bugs_channel = old_to_new["C0BUGS"]
    kudos_channel = old_to_new["C0KUDOS"]
    security_channel = old_to_new["C0SECURITY"]
    del fake_slack.users[billing_owner]
    del fake_slack.channels[bugs_channel]
    fake_slack.channels[kudos_channel]["is_member"] = False
    fake_slack.channels[security_channel].update(is_member=False, is_private=True)
    fake_slack.scopes.remove("files:write")
    settings = make_settings(slack_api_url=fake_slack.api_url, policies_dir=policies)
    findings = await slack_findings(settings)
    by_where = {(f.where, f.level): f.message for f in findings}
    assert by_where[(f"{policies / 'billing.yml'}:4", "error")].startswith(
        f"owner {billing_owner}: no such user"
    )
    assert "not found" in by_where[(f"{policies / 'bug.yml'}:7", "error")]
    kudos = by_where[(f"{policies / 'positive_feedback.yml'}:7", "error")]
    assert "not a member" in kudos and "/invite" in kudos
    assert "not a member" in by_where[(f"{policies / 'security.yml'}:7", "error")]
    assert any(f.level == "warning" and "files:write" in f.message for f in findings)


async def test_chat_write_public_lets_the_bot_post_in_public_channels_it_is_not_in(
    fake_slack: FakeSlack, tmp_path: Path
):
    policies = copy_policies(tmp_path / "policies")
    real_looking_ids(policies)
    workspace(fake_slack, policies)
    for channel in fake_slack.channels.values():
        channel["is_member"] = False
    fake_slack.scopes.append("chat:write.public")
    settings = make_settings(slack_api_url=fake_slack.api_url, policies_dir=policies)
    findings = await slack_findings(settings)
    assert [f.level for f in findings] == ["ok"], findings


async def test_optional_scopes_missing_are_named_not_failed(fake_slack: FakeSlack, tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    real_looking_ids(policies)
    fake_slack.fail_next("users.info", body={"ok": False, "error": "missing_scope"})
    fake_slack.fail_next("conversations.info", body={"ok": False, "error": "missing_scope"})
    settings = make_settings(slack_api_url=fake_slack.api_url, policies_dir=policies)
    findings = await slack_findings(settings)
    assert [f.level for f in findings] == ["ok", "note", "note"], findings
    assert "users:read" in findings[1].message and "channels:read" in findings[2].message
    assert len(fake_slack.of("users.info")) == 1  # stopped asking after missing_scope


async def test_a_bad_token_is_one_error(fake_slack: FakeSlack, tmp_path: Path):
    fake_slack.fail_next("auth.test", body={"ok": False, "error": "invalid_auth"})
    settings = make_settings(slack_api_url=fake_slack.api_url, policies_dir=tmp_path)
    findings = await slack_findings(settings)
    assert len(findings) == 1 and findings[0].level == "error"
    assert "invalid_auth" in findings[0].message and findings[0].where == "SLACK_BOT_TOKEN"


async def test_doctor_slack_command_end_to_end(fake_slack: FakeSlack, tmp_path: Path):
    policies = copy_policies(tmp_path / "policies")
    real_looking_ids(policies)
    workspace(fake_slack, policies)
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        SLACK_API_URL=fake_slack.api_url,
        TRIAGE_CHANNEL=TRIAGE,
        INTAKE_SECRET="a-long-enough-intake-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'triage.db'}",
        POLICIES_DIR=str(policies),
    )
    del fake_slack.channels[TRIAGE]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", "--slack",
        cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    out = stdout.decode()
    assert process.returncode == 1, out + stderr.decode()
    assert "ok: slack: token works" in out
    assert f"error: TRIAGE_CHANNEL: channel {TRIAGE} not found" in out
    assert out.strip().splitlines()[-1] == "doctor: 1 error(s), 0 warning(s)"
