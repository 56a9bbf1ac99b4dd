"""End-to-end rehearsal: the real program's own commands, carried out for real.

The real __main__.py runs under a provider stand-in (tests/support/
provider_standin.py) that executes each resource the way its provider
would: over SSH to a test-owned sshd, against a real Docker engine, a local
registry in place of ECR and moto for the AWS API. Every scenario is then
checked on the host itself. The scenarios build on each other in order,
like successive `pulumi up` runs on one stack.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import docker_env, test_host
from tests.support.provider_standin import ProviderError, ProviderStandIn
from tests.support.pulumi_program import ROOT, ProgramRun, run_stack

API_TOKEN = 'p@ss word # not a comment, $HOME stays, "quoted"'
GREETING = "it's here"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREHEARSAL"
PROJECT_FILES = ("__main__.py", "Pulumi.yaml", "Dockerfile", ".dockerignore", "docker-compose.yml", "app",
                 "components", "scripts")


@dataclass
class Stack:
    """One stack's program copy, config and environment, run again and again."""

    root: Path
    name: str
    config: dict[str, str]
    environ: dict[str, str]
    standin: ProviderStandIn
    host_dir: Path
    project: str

    def up(self) -> ProgramRun:
        self.standin.executed.clear()
        return run_stack(self.name, self.environ, self.config, mocks=self.standin, root=self.root)

    def host_deploy(self, action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(self.host_dir / "host-deploy"), action, "--dir", str(self.host_dir),
             "--project", self.project], capture_output=True, text=True, check=False, timeout=300,
        )

    def status(self) -> dict:
        done = self.host_deploy("status")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    def containers(self) -> dict[str, str]:
        listing = docker_env.run("docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={self.project}",
                                 "--format", '{{.Label "com.docker.compose.service"}} {{.ID}}')
        return dict(line.split() for line in listing.stdout.splitlines())

    def edit_app(self, path: str, old: str, new: str) -> None:
        source = self.root / path
        text = source.read_text()
        assert old in text
        source.write_text(text.replace(old, new))


def copy_program(destination: Path) -> Path:
    destination.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, destination / name)
    return destination


@pytest.fixture(scope="module")
def python_base(docker_engine, tmp_path_factory) -> str:
    return test_host.python_base_image(tmp_path_factory.mktemp("debootstrap"))


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory):
    host = test_host.start_sshd(tmp_path_factory.mktemp("sshd"))
    yield host
    host.stop()


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, registry, moto, python_base, ssh_host, run_id) -> Stack:
    work = tmp_path_factory.mktemp("rehearsal")
    env_name = f"rh-{run_id}"
    host_dir = work / "host" / env_name
    stack = Stack(
        root=copy_program(work / "program"),
        name="rehearsal",
        config={
            "whatsapp-miner:environment": env_name,
            "whatsapp-miner:sshPort": str(ssh_host.port),
            "whatsapp-miner:sshUser": ssh_host.user,
            "whatsapp-miner:sshHostKey": ssh_host.host_key,
            "whatsapp-miner:baseImage": python_base,
            "whatsapp-miner:hostDir": str(host_dir),
        },
        environ={
            "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": '"AKIAREHEARSAL"',
            "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": f"'{AWS_SECRET}'",
            "AWS_EC2_REGION": "us-east-1",
            "SSH_PRIVATE_KEY": ssh_host.private_key,
            "WHATSAPP_API_TOKEN": API_TOKEN,
            "GREETING": GREETING,
        },
        standin=ProviderStandIn(registry, moto, work),
        host_dir=host_dir,
        project=f"whatsapp-miner-{env_name}",
    )
    yield stack
    if stack.standin.state:
        stack.standin.teardown()


@pytest.fixture(scope="module")
def first_run(rehearsal) -> ProgramRun:
    return rehearsal.up()


def secrets_of(stack: Stack) -> list[str]:
    return [API_TOKEN, GREETING, AWS_SECRET, "AKIAREHEARSAL", stack.environ["SSH_PRIVATE_KEY"].splitlines()[1]]


def assert_no_secret_shown(stack: Stack, run: ProgramRun | None = None) -> None:
    shown = stack.standin.transcript.text() + json.dumps(run.outputs if run else {})
    for secret in secrets_of(stack):
        assert secret not in shown


def test_first_deploy_from_an_empty_host(rehearsal, first_run):
    host = rehearsal.host_dir
    assert (host / "docker-compose.yml").read_text() == (ROOT / "docker-compose.yml").read_text()
    assert (host / "host-deploy").read_text() == (ROOT / "scripts" / "host-deploy").read_text()
    env_file = host / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    status = rehearsal.status()
    assert status["verified"] is True
    assert status["digest"] == first_run.outputs["deployedDigest"]
    assert first_run.outputs["imageRef"].endswith("@" + status["digest"])
    for name in ("miner", "classifier"):
        service = status["services"][name]
        assert (service["state"], service["health"]) == ("running", "healthy"), name
    container_env = json.loads(docker_env.run("docker", "inspect", "--format", "{{json .Config.Env}}",
                                              rehearsal.containers()["miner"]).stdout)
    assert f"WHATSAPP_API_TOKEN={API_TOKEN}" in container_env
    assert f"GREETING={GREETING}" in container_env
    assert f"ENV_NAME={rehearsal.config['whatsapp-miner:environment']}" in container_env
    volume = docker_env.run("docker", "volume", "inspect", "--format", "{{.Mountpoint}}",
                            f"{rehearsal.project}_data").stdout.strip()
    with sqlite3.connect(Path(volume) / "whatsapp-miner.sqlite3") as database:
        assert database.execute("SELECT name FROM schema_migrations").fetchall() == [("001_messages.sql",)]
    assert_no_secret_shown(rehearsal, first_run)


def test_host_status_reaches_the_host_from_the_stack_outputs(rehearsal, first_run, ssh_host, tmp_path):
    # The Pulumi CLI is not installable here: a stand-in prints this run's outputs.
    (tmp_path / "outputs.json").write_text(json.dumps(first_run.outputs))
    pulumi_cli = tmp_path / "bin" / "pulumi"
    pulumi_cli.parent.mkdir()
    pulumi_cli.write_text(f"#!/bin/sh\ncat {tmp_path / 'outputs.json'}\n")
    pulumi_cli.chmod(0o755)
    env = {**os.environ, "PATH": f"{pulumi_cli.parent}:{os.environ['PATH']}",
           "SSH_PRIVATE_KEY": ssh_host.private_key,
           "SSH_KNOWN_HOSTS": f"[127.0.0.1]:{ssh_host.port} {ssh_host.host_key}"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "host-status"), "rehearsal"], env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["digest"] == first_run.outputs["deployedDigest"]


def test_same_program_again_runs_nothing_on_the_host(rehearsal, first_run):
    before = rehearsal.containers()
    again = rehearsal.up()
    assert [name for name in rehearsal.standin.executed if name != "app-image"] == []
    assert rehearsal.containers() == before
    assert again.outputs["deployedDigest"] == first_run.outputs["deployedDigest"]


def test_an_app_change_deploys_and_verifies_a_new_digest(rehearsal, first_run):
    rehearsal.edit_app("app/classifier.py", '"greeting": ("hello",', '"greeting": ("hello", "hey",')
    changed = rehearsal.up()
    assert changed.outputs["deployedDigest"] != first_run.outputs["deployedDigest"]
    assert "app-deploy" in rehearsal.standin.executed
    status = rehearsal.status()
    assert status["digest"] == changed.outputs["deployedDigest"]
    assert status["previous_image"] == first_run.outputs["imageRef"]
    assert_no_secret_shown(rehearsal, changed)


def test_a_changed_secret_is_rewritten_and_the_services_pick_it_up(rehearsal):
    before = rehearsal.containers()
    rehearsal.environ["GREETING"] = "rotated # value"
    try:
        rehearsal.up()
        assert {"app-env-file", "app-deploy"} <= set(rehearsal.standin.executed)
        assert "GREETING='rotated # value'" in (rehearsal.host_dir / ".env").read_text()
        after = rehearsal.containers()
        assert all(after[name] != before[name] for name in ("miner", "classifier"))
        container_env = json.loads(docker_env.run("docker", "inspect", "--format", "{{json .Config.Env}}",
                                                  after["classifier"]).stdout)
        assert "GREETING=rotated # value" in container_env
        assert "rotated # value" not in rehearsal.standin.transcript.text()
    finally:
        rehearsal.environ["GREETING"] = GREETING


def test_a_broken_image_fails_the_deploy_and_the_previous_version_keeps_running(rehearsal):
    running = rehearsal.status()["digest"]
    rehearsal.edit_app("app/miner.py", 'if __name__ == "__main__":\n',
                       'if __name__ == "__main__":\n    raise SystemExit("broken on purpose")\n')
    with pytest.raises(Exception, match=r"Process exited with status 5") as failure:
        rehearsal.up()
    assert "health gate: miner" in str(failure.value)
    assert rehearsal.status()["digest"] == running
    assert_no_secret_shown(rehearsal)


def test_teardown_removes_the_compose_project(rehearsal):
    assert rehearsal.containers()
    rehearsal.standin.teardown()
    assert rehearsal.containers() == {}
    networks = docker_env.run("docker", "network", "ls", "--filter", f"label=com.docker.compose.project="
                              f"{rehearsal.project}", "--format", "{{.Name}}").stdout.split()
    assert networks == []


def test_the_local_stack_deploys_on_this_machines_docker_the_same_way(tmp_path, registry, moto, python_base):
    env_name = f"lc-{uuid.uuid4().hex[:8]}"
    local = Stack(
        root=copy_program(tmp_path / "program"), name="local",
        config={"whatsapp-miner:environment": env_name, "whatsapp-miner:baseImage": python_base,
                "whatsapp-miner:hostDir": str(tmp_path / "host")},
        environ={}, standin=ProviderStandIn(registry, moto, tmp_path),
        host_dir=tmp_path / "host", project=f"whatsapp-miner-{env_name}",
    )
    try:
        run = local.up()
        status = local.status()
        assert status["verified"] is True
        assert status["image_id"] == run.outputs["deployedDigest"] == run.outputs["imageRef"]
        assert set(status["services"]) == {"miner", "classifier"}
        assert (local.host_dir / ".env").stat().st_mode & 0o777 == 0o600
    finally:
        local.standin.teardown()
    assert local.containers() == {}


def test_remote_commands_with_environment_fail_as_stock_sshd_makes_them(rehearsal, ssh_host):
    connection = {"host": "127.0.0.1", "port": ssh_host.port, "user": ssh_host.user,
                  "privateKey": ssh_host.private_key}
    with pytest.raises(ProviderError, match="setenv IMAGE refused"):
        rehearsal.standin._run_command("command:remote:Command", {"connection": connection,
                                                                  "environment": {"IMAGE": "x"}}, "true")
