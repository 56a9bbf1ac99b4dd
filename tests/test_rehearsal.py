"""End-to-end rehearsal: the real Pulumi CLI runs the real program.

`pulumi stack init`, `config set`, `up`, `preview`, `destroy`, `stack output`
and `stack export` run for real against a file:// backend; the engine,
state and secrets are real. The plugins the CLI cannot get here are the
stand-ins in tests/standins (the language host, command, aws, docker), which
carry out each resource for real: over SSH and SFTP to a test-owned sshd,
with a real Docker engine, a registry answering under the ECR hostname and
moto for the AWS API. Every scenario is checked on the host itself. The
scenarios build on each other in order, like successive runs on one stack.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import docker_env, test_host
from tests.support.pulumi_cli import ROOT, PulumiProject, copy_program, require_cli

API_TOKEN = 'p@ss word # not a comment, $HOME stays, "quoted"'
GREETING = "it's here"
AWS_KEY_ID = "AKIAREHEARSAL"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREHEARSAL"


@dataclass
class Stack:
    """One stack of a program copy, run again and again through the CLI."""

    cli: PulumiProject
    name: str
    host_dir: Path
    project: str

    def up(self) -> dict:
        self.cli.up(self.name)
        return self.cli.outputs(self.name)

    def host_deploy(self, action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(self.host_dir / "host-deploy"), action, "--dir", str(self.host_dir),
             "--project", self.project], capture_output=True, text=True, check=False, timeout=300,
        )

    def status(self) -> dict:
        done = self.host_deploy("status")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    def audit_lines(self) -> int:
        audit = self.host_dir / ".deploy" / "audit.log"
        return len(audit.read_text().splitlines()) if audit.exists() else 0

    def containers(self) -> dict[str, str]:
        return project_containers(self.project)

    def edit_app(self, path: str, old: str, new: str) -> None:
        source = self.cli.workdir / path
        text = source.read_text()
        assert old in text
        source.write_text(text.replace(old, new))


def project_containers(project: str) -> dict[str, str]:
    listing = docker_env.run("docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                             "--format", '{{.Label "com.docker.compose.service"}} {{.ID}}')
    return dict(line.split() for line in listing.stdout.splitlines())


@pytest.fixture(scope="module")
def python_base(docker_engine, tmp_path_factory) -> str:
    return test_host.python_base_image(tmp_path_factory.mktemp("debootstrap"))


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory, moto):
    # The host's own environment: where AWS is (moto) and the AWS CLI for
    # host-deploy's ECR login.
    host = test_host.start_sshd(tmp_path_factory.mktemp("sshd"), session_env={
        "AWS_ENDPOINT_URL": moto,
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    })
    yield host
    host.stop()


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, ecr_registry, moto, python_base, ssh_host, run_id) -> Stack:
    require_cli()
    work = tmp_path_factory.mktemp("rehearsal")
    env_name = f"rh-{run_id}"
    host_dir = work / "host" / env_name
    cli = PulumiProject(copy_program(work / "program"), work / "state", environ={
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": f'"{AWS_KEY_ID}"',
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": f"'{AWS_SECRET}'",
        "AWS_EC2_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto,  # for the aws stand-in
        "SSH_PRIVATE_KEY": ssh_host.private_key,
        "WHATSAPP_API_TOKEN": API_TOKEN,
        "GREETING": GREETING,
    })
    shutil.copy(ROOT / "tests" / "rehearsal" / "Pulumi.rehearsal.yaml", cli.workdir / "Pulumi.rehearsal.yaml")
    cli.init("rehearsal", {
        "whatsapp-miner:environment": env_name,
        "whatsapp-miner:sshPort": str(ssh_host.port),
        "whatsapp-miner:sshUser": ssh_host.user,
        "whatsapp-miner:sshHostKey": ssh_host.host_key,
        "whatsapp-miner:baseImage": python_base,
        "whatsapp-miner:hostDir": str(host_dir),
    })
    stack = Stack(cli, "rehearsal", host_dir, f"whatsapp-miner-{env_name}")
    yield stack
    if stack.containers():
        cli.destroy("rehearsal")


@pytest.fixture(scope="module")
def first_run(rehearsal) -> dict:
    return rehearsal.up()


def secrets_of(stack: Stack) -> list[str]:
    private_key_line = stack.cli.environ["SSH_PRIVATE_KEY"].splitlines()[1]
    return [API_TOKEN, GREETING, AWS_SECRET, AWS_KEY_ID, private_key_line, "rotated # value"]


def assert_no_secret_shown(stack: Stack) -> None:
    """Nothing the CLI printed, and nothing in the state's plaintext, holds a secret."""
    shown = stack.cli.text() + json.dumps(stack.cli.export(stack.name))
    for secret in secrets_of(stack):
        assert secret not in shown


def test_first_deploy_from_an_empty_host(rehearsal, first_run):
    host = rehearsal.host_dir
    assert (host / "docker-compose.yml").read_text() == (ROOT / "docker-compose.yml").read_text()
    assert (host / "host-deploy").read_text() == (ROOT / "scripts" / "host-deploy").read_text()
    assert (host / ".env").stat().st_mode & 0o777 == 0o600
    status = rehearsal.status()
    assert status["verified"] is True
    assert status["digest"] == first_run["deployedDigest"]
    assert first_run["imageRef"].endswith("@" + status["digest"])
    assert first_run["imageRef"].startswith(first_run["repositoryUrl"] + "@")
    for name in ("miner", "classifier"):
        service = status["services"][name]
        assert (service["state"], service["health"]) == ("running", "healthy"), name
    container_env = json.loads(docker_env.run("docker", "inspect", "--format", "{{json .Config.Env}}",
                                              rehearsal.containers()["miner"]).stdout)
    assert f"WHATSAPP_API_TOKEN={API_TOKEN}" in container_env
    assert f"GREETING={GREETING}" in container_env
    assert f"ENV_NAME={rehearsal.cli.run('config', 'get', 'whatsapp-miner:environment').stdout.strip()}" \
        in container_env
    volume = docker_env.run("docker", "volume", "inspect", "--format", "{{.Mountpoint}}",
                            f"{rehearsal.project}_data").stdout.strip()
    with sqlite3.connect(Path(volume) / "whatsapp-miner.sqlite3") as database:
        assert database.execute("SELECT name FROM schema_migrations").fetchall() == [("001_messages.sql",)]
    assert_no_secret_shown(rehearsal)


def test_secrets_are_encrypted_in_the_state(rehearsal, first_run):
    state = rehearsal.cli.export(rehearsal.name)
    ciphertexts = json.dumps(state).count('"ciphertext"')
    assert ciphertexts >= 3  # the .env content, the forwarded credentials, the SSH connection
    assert rehearsal.cli.secret_output(rehearsal.name, "deployedDigest") == first_run["deployedDigest"]


def test_host_status_reaches_the_host_from_the_stack_outputs(rehearsal, first_run, ssh_host):
    env = {**rehearsal.cli.env(), "SSH_PRIVATE_KEY": ssh_host.private_key,
           "SSH_KNOWN_HOSTS": f"[127.0.0.1]:{ssh_host.port} {ssh_host.host_key}"}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "host-status"), rehearsal.name], env=env,
                          cwd=rehearsal.cli.workdir, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["digest"] == first_run["deployedDigest"]


def test_same_program_again_changes_nothing_and_runs_nothing_on_the_host(rehearsal, first_run):
    before, audits = rehearsal.containers(), rehearsal.audit_lines()
    rehearsal.cli.preview(rehearsal.name, "--expect-no-changes")
    again = rehearsal.cli.up(rehearsal.name)
    assert "unchanged" in again.stdout and "updated" not in again.stdout and "created" not in again.stdout
    assert rehearsal.containers() == before
    assert rehearsal.audit_lines() == audits
    assert rehearsal.cli.outputs(rehearsal.name)["deployedDigest"] == first_run["deployedDigest"]


def test_an_app_change_deploys_and_verifies_a_new_digest(rehearsal, first_run):
    rehearsal.edit_app("app/classifier.py", '"greeting": ("hello",', '"greeting": ("hello", "hey",')
    changed = rehearsal.up()
    assert changed["deployedDigest"] != first_run["deployedDigest"]
    status = rehearsal.status()
    assert status["digest"] == changed["deployedDigest"]
    assert status["previous_image"] == first_run["imageRef"]
    assert_no_secret_shown(rehearsal)


def test_a_changed_secret_is_rewritten_and_the_services_pick_it_up(rehearsal):
    before = rehearsal.containers()
    rehearsal.cli.environ["GREETING"] = "rotated # value"
    try:
        rehearsal.up()
        assert "GREETING='rotated # value'" in (rehearsal.host_dir / ".env").read_text()
        after = rehearsal.containers()
        assert all(after[name] != before[name] for name in ("miner", "classifier"))
        container_env = json.loads(docker_env.run("docker", "inspect", "--format", "{{json .Config.Env}}",
                                                  after["classifier"]).stdout)
        assert "GREETING=rotated # value" in container_env
        assert_no_secret_shown(rehearsal)
    finally:
        rehearsal.cli.environ["GREETING"] = GREETING


def test_a_broken_image_fails_the_deploy_and_the_previous_version_keeps_running(rehearsal):
    running = rehearsal.status()["digest"]
    rehearsal.edit_app("app/miner.py", 'if __name__ == "__main__":\n',
                       'if __name__ == "__main__":\n    raise SystemExit("broken on purpose")\n')
    failed = rehearsal.cli.run("up", "--stack", rehearsal.name, "--yes", "--skip-preview", check=False)
    assert failed.returncode != 0
    assert "Process exited with status 5" in failed.stdout + failed.stderr
    assert "health gate: miner" in failed.stdout + failed.stderr
    assert rehearsal.status()["digest"] == running
    assert rehearsal.cli.outputs(rehearsal.name)["deployedDigest"] == running
    assert_no_secret_shown(rehearsal)


def test_destroy_leaves_nothing_of_the_project_running(rehearsal):
    assert rehearsal.containers()
    rehearsal.cli.destroy(rehearsal.name)
    assert rehearsal.containers() == {}
    networks = docker_env.run("docker", "network", "ls", "--filter", f"label=com.docker.compose.project="
                              f"{rehearsal.project}", "--format", "{{.Name}}").stdout.split()
    assert networks == []
    assert rehearsal.cli.outputs(rehearsal.name) == {}
    assert_no_secret_shown(rehearsal)


def test_the_local_stack_is_the_readme_main_job(tmp_path, python_base):
    require_cli()
    env_name = f"lc-{uuid.uuid4().hex[:8]}"
    cli = PulumiProject(copy_program(tmp_path / "program"), tmp_path / "state", environ={})
    cli.init("local", {"whatsapp-miner:environment": env_name, "whatsapp-miner:baseImage": python_base,
                       "whatsapp-miner:hostDir": str(tmp_path / "host")})
    local = Stack(cli, "local", tmp_path / "host", f"whatsapp-miner-{env_name}")
    try:
        outputs = local.up()
        status = local.status()
        assert status["verified"] is True
        assert status["image_id"] == outputs["deployedDigest"] == outputs["imageRef"]
        assert set(status["services"]) == {"miner", "classifier"}
        assert (local.host_dir / ".env").stat().st_mode & 0o777 == 0o600
        cli.preview("local", "--expect-no-changes")
    finally:
        cli.destroy("local")
    assert local.containers() == {}
