"""The deployment files: Dockerfile, docker-compose.yml, .env.example, the systemd unit and
the Socket Mode manifest. Where a Docker daemon runs, the image is built and `docker compose
up` must answer /healthz; elsewhere the files are still validated: `docker-compose config`,
and the Dockerfile's build commands run as a script in a fresh virtualenv."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from bot import healthcheck
from bot.manifest import socket_mode, with_url
from bot.settings import Settings
from tests.conftest import ROOT, BotUnderTest

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"


# --- Dockerfile ------------------------------------------------------------------------------


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            found.append([])
        if found:
            found[-1].append((keyword, rest))
    return found


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            for match in re.finditer(r'(\w+)=("[^"]*"|\S+)', rest):
                values[match.group(1)] = match.group(2).strip('"')
    return values


def test_dockerfile_is_small_non_root_pinned_and_health_checked():
    args = dict(rest.split("=", 1) for kw, rest in instructions() if kw == "ARG" and "=" in rest)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base), base  # exact release, slim
    build, runtime = stages()
    assert build[0] == ("FROM", "${PYTHON_IMAGE} AS build")
    assert runtime[0] == ("FROM", "${PYTHON_IMAGE}")
    user = next(rest for kw, rest in runtime if kw == "USER")
    assert user.split(":")[0].isdigit() and int(user.split(":")[0]) >= 1000
    assert not [kw for kw, _ in runtime if kw == "RUN"]  # nothing runs as root at the end
    health = next(rest for kw, rest in runtime if kw == "HEALTHCHECK")
    assert '"-m", "bot.healthcheck"' in health and "--interval" in health
    assert next(rest for kw, rest in runtime if kw == "CMD") == '["triage-bot", "serve"]'
    for keyword, rest in build + runtime:
        if keyword == "COPY" and "--from" not in rest:
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for needed in ("pyproject.toml", "README.md", "bot", "handlers", "policies"):
        assert needed not in ignored
    for secret in (".env", "*.db", "tests"):
        assert secret in ignored


def test_dockerfile_build_commands_run_as_a_script_in_a_fresh_venv(tmp_path: Path):
    """The build stage's COPY and RUN lines, replayed in a temporary directory.

    Fast by default: pip is told not to resolve dependencies (PIP_NO_DEPS) and the fresh
    venv finds them, after its own packages, in this interpreter's site-packages; the
    project itself is built from the copied files and installed into the fresh venv, so a
    file missing from a COPY line or from the package data fails here. Set
    DOCKERFILE_FULL_INSTALL=1 to resolve every dependency from the registry as well.
    """
    build, _runtime = stages()
    base_version = re.search(r"python:(\d+\.\d+)", DOCKERFILE.read_text()).group(1)
    if base_version != f"{sys.version_info.major}.{sys.version_info.minor}":
        pytest.skip(f"the image uses Python {base_version}; this interpreter differs")
    root = tmp_path / "image"
    workdir = root / next(rest for kw, rest in build if kw == "WORKDIR").lstrip("/")
    workdir.mkdir(parents=True)
    env = os.environ.copy()
    for name, value in env_of(build).items():
        env[name] = str(root / value.lstrip("/")) if value.startswith("/") else value
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    if os.environ.get("DOCKERFILE_FULL_INSTALL") != "1":
        shim = tmp_path / "shim"
        shim.mkdir()
        site_packages = sysconfig.get_paths()["purelib"]
        (shim / "sitecustomize.py").write_text(f"import sys\nsys.path.append({site_packages!r})\n")
        env.update(PIP_NO_DEPS="1", PYTHONPATH=str(shim))
    ran = 0
    for keyword, rest in build:
        if keyword == "COPY":
            *sources, target = rest.split()
            destination = workdir / target if not target.startswith("/") else root / target[1:]
            for source in sources:
                src = ROOT / source
                dest = (
                    destination / src.name
                    if target.endswith("/") or len(sources) > 1
                    else destination
                )
                if src.is_dir():
                    shutil.copytree(
                        src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                    )
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, dest)
        elif keyword == "RUN":
            assert not re.search(r"(?<![\w$])/(opt|data|src)\b", rest), (
                f"RUN uses an absolute path; use the ENV names so it can be replayed: {rest}"
            )
            result = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", rest],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert result.returncode == 0, f"RUN {rest}\n{result.stdout}\n{result.stderr}"
            ran += 1
    assert ran >= 2
    venv = Path(env["VENV"])
    assert (venv / "bin" / "triage-bot").exists()
    assert Path(env["DATA"]).is_dir()
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import bot, sys; print(bot.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert installed.stdout.startswith(str(venv)), installed  # the built copy, not the repo


# --- docker-compose.yml -------------------------------------------------------------------------


def compose_project(tmp_path: Path, **env: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(COMPOSE, project / "docker-compose.yml")
    # .env.example with the given values filled in, as an operator would.
    lines = [
        line
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line.split("=", 1)[0].removeprefix("# ") not in env
    ]
    lines += [f"{k}={v}" for k, v in env.items()]
    (project / ".env").write_text("\n".join(lines) + "\n")
    return project


def compose_binary() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.skip("docker-compose is not installed (Debian package: docker-compose)")
    return found


def test_compose_file_is_valid_with_postgres_and_a_healthy_dependency(tmp_path: Path):
    binary = compose_binary()
    project = compose_project(tmp_path, POSTGRES_PASSWORD="pw-for-the-test")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTGRES_", "TRIAGE_"))}
    result = subprocess.run(
        [binary, "config"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    bot, db = config["services"]["bot"], config["services"]["db"]
    assert db["image"].startswith("postgres:") and not db["image"].endswith(":latest")
    assert re.search(r":\d+\.\d+", db["image"])  # pinned to a release
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    url = bot["environment"]["DATABASE_URL"]
    assert url == "postgresql+psycopg://triage:pw-for-the-test@db:5432/triage"
    assert Settings(_env_file=None, database_url=url).database_url == url
    assert bot["ports"][0].startswith("127.0.0.1:3000:3000")  # not public by default
    assert any(v.endswith(":/data:rw") or ":/data" in v for v in bot["volumes"])

    # Without the password the file refuses, naming it.
    (project / ".env").write_text(ENV_EXAMPLE.read_text())
    refused = subprocess.run(
        [binary, "config"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


def docker_daemon_problem() -> str | None:
    if shutil.which("docker") is None:
        return "no docker client installed"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        return "no Docker daemon reachable (the docker client is here, `docker info` fails)"
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
    if compose.returncode != 0:
        return "the docker compose plugin is missing"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_image_builds_and_compose_up_answers_healthz(tmp_path: Path):
    problem = docker_daemon_problem()
    if problem:
        pytest.skip(problem)
    port = free_port()
    project = compose_project(
        tmp_path,
        POSTGRES_PASSWORD="pw-for-the-test",
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_SIGNING_SECRET="secret",
        TRIAGE_CHANNEL="C0TRIAGE",
        INTAKE_SECRET="a-long-enough-intake-secret",
        TRIAGE_HTTP_PORT=str(port),
    )
    for name in ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, project / name)
    for name in ("bot", "handlers", "policies"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    name = f"triage-test-{port}"
    compose = ["docker", "compose", "-p", name]
    try:
        up = subprocess.run(
            [*compose, "up", "-d", "--build"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        assert up.returncode == 0, up.stderr
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, "the bot never answered /healthz"
                time.sleep(2)
    finally:
        subprocess.run([*compose, "down", "-v"], cwd=project, capture_output=True, timeout=300)


# --- .env.example --------------------------------------------------------------------------------


def env_example_entries() -> dict[str, tuple[str, bool]]:
    """NAME -> (value, commented) for every `NAME=value` or `# NAME=value` line."""
    entries: dict[str, tuple[str, bool]] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            assert match.group(2) not in entries, f"{match.group(2)} is listed twice"
            entries[match.group(2)] = (match.group(3), bool(match.group(1)))
    return entries


def test_env_example_lists_every_setting_with_its_default():
    entries = env_example_entries()
    fields = {name.upper(): info for name, info in Settings.model_fields.items()}
    compose_only = {"POSTGRES_PASSWORD"}
    missing = {
        name: info.get_default(call_default_factory=True)
        for name, info in fields.items()
        if name not in entries
    }
    assert not missing, f"add to .env.example (name=default): {missing}"
    unknown = set(entries) - set(fields) - compose_only
    assert not unknown, f"not settings of the bot: {unknown}"
    for name, (value, commented) in entries.items():
        if name in compose_only or not commented:
            continue  # lines to fill in
        default = fields[name].get_default(call_default_factory=True)
        if value == "":
            assert default in (None, ""), f"{name}: the default is {default!r}"
            continue
        parsed = getattr(Settings(_env_file=None, **{name.lower(): value}), name.lower())
        assert parsed == default, f"{name}: .env.example says {value!r}, the default is {default!r}"


# --- systemd ---------------------------------------------------------------------------------------


def test_systemd_unit_runs_serve_unprivileged_with_the_env_file():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "deploy" / "triage-bot.service")
    service = parser["Service"]
    assert service["User"] not in ("root", "") and service["ExecStart"].endswith("triage-bot serve")
    assert service["EnvironmentFile"].startswith("/etc/")
    assert service["Restart"] == "on-failure"
    assert service["RestartPreventExitStatus"] == "2"  # settings errors: fix, do not loop
    assert service["NoNewPrivileges"] == "true" and service["ProtectSystem"] == "strict"
    assert parser["Install"]["WantedBy"] == "multi-user.target"


# --- Socket Mode manifest ----------------------------------------------------------------------------


def test_socket_mode_manifest_is_the_generated_one():
    http = yaml.safe_load((ROOT / "manifest.yml").read_text())
    committed = yaml.safe_load((ROOT / "manifest-socket.yml").read_text())
    assert committed == socket_mode(http), (
        "manifest-socket.yml is stale; run: triage-bot manifest --socket-mode > manifest-socket.yml"
    )
    text = (ROOT / "manifest-socket.yml").read_text()
    assert "url:" not in text and "https://" not in text
    assert committed["settings"]["socket_mode_enabled"] is True
    # The same commands, scopes and events as the HTTP manifest.
    assert committed["oauth_config"] == http["oauth_config"]
    commands = [c["command"] for c in committed["features"]["slash_commands"]]
    assert commands == [c["command"] for c in http["features"]["slash_commands"]]


def test_manifest_command_puts_a_public_url_everywhere(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "manifest", "--url", "https://triage.acme.test/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    url = "https://triage.acme.test/slack/events"
    assert {c["url"] for c in manifest["features"]["slash_commands"]} == {url}
    assert manifest["settings"]["interactivity"]["request_url"] == url
    assert manifest == with_url(yaml.safe_load((ROOT / "manifest.yml").read_text()), url[:-13])


# --- the container's health check ------------------------------------------------------------------


async def test_health_check_command_against_a_running_bot(bot: BotUnderTest):
    import asyncio

    assert await asyncio.to_thread(healthcheck.main, [f"{bot.base_url}/healthz"]) == 0
    closed = f"http://127.0.0.1:{free_port()}/healthz"
    assert await asyncio.to_thread(healthcheck.main, [closed]) == 1
