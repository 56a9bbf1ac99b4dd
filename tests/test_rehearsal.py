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
import time
import uuid
from pathlib import Path

import boto3
import pytest

from tests.support import docker_env, sshd_host
from tests.support.pulumi_cli import ROOT, PulumiProject, copy_program
from tests.support.rehearsal_stacks import (
    API_TOKEN,
    AWS_KEY_ID,
    AWS_SECRET,
    GREETING,
    Stack,
    project_containers,
    start_stacks,
)


def ecr_client(moto: str):
    return boto3.client("ecr", endpoint_url=moto, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory, pulumi_cli, ecr_registry, moto, python_base, ssh_host, run_id) -> Stack:
    work = tmp_path_factory.mktemp("rehearsal")
    stack = start_stacks(copy_program(work / "program"), work, f"rh-{run_id}", moto, ssh_host, python_base)
    yield stack
    if stack.containers():
        stack.cli.destroy("rehearsal")


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
    assert (host / "host-deploy").read_text() == (ROOT / "host" / "host-deploy").read_text()
    assert (host / ".env").stat().st_mode & 0o777 == 0o600
    status = rehearsal.status()
    assert status["verified"] is True
    assert status["digest"] == first_run["deployedDigest"]
    assert first_run["imageRef"].endswith("@" + status["digest"])
    assert first_run["imageRef"].startswith(first_run["repositoryUrl"] + "@")
    for name in ("miner", "classifier"):
        service = status["services"][name]
        assert (service["state"], service["health"]) == ("running", "healthy"), name
    container_env = json.loads(docker_env.host("inspect", "--format", "{{json .Config.Env}}",
                                              rehearsal.containers()["miner"]).stdout)
    assert f"WHATSAPP_API_TOKEN={API_TOKEN}" in container_env
    assert f"GREETING={GREETING}" in container_env
    assert f"ENV_NAME={rehearsal.cli.run('config', 'get', 'whatsapp-miner:environment').stdout.strip()}" \
        in container_env
    volume = docker_env.host("volume", "inspect", "--format", "{{.Mountpoint}}",
                            f"{rehearsal.project}_data").stdout.strip()
    with sqlite3.connect(Path(volume) / "whatsapp-miner.sqlite3") as database:
        assert database.execute("SELECT name FROM schema_migrations").fetchall() == [("001_messages.sql",)]
    assert_no_secret_shown(rehearsal)


def test_the_deployed_stacks_keep_the_policy_pack(rehearsal, first_run):
    """What preview.yml and deploy.yml run: the real program's previews with the pack (docs/ci.md: "Policy pack")."""
    for stack in ("registry", rehearsal.name):
        done = rehearsal.cli.preview(stack, "--expect-no-changes", "--policy-pack", str(ROOT / "policy"))
        assert "whatsapp-miner-guardrails" in done.stdout and "[mandatory]" not in done.stdout, stack


def test_secrets_are_encrypted_in_the_state(rehearsal, first_run):
    state = rehearsal.cli.export(rehearsal.name)
    ciphertexts = json.dumps(state).count('"ciphertext"')
    assert ciphertexts >= 3  # the .env content, the forwarded credentials, the SSH connection
    assert rehearsal.cli.secret_output(rehearsal.name, "deployedDigest") == first_run["deployedDigest"]


@pytest.fixture(scope="module")
def prd(rehearsal, first_run, ssh_host, python_base) -> Stack:
    """A second stack in its own directory on the host: prd, promoting what
    the rehearsal stack (dev) verified."""
    cli, env_name = rehearsal.cli, f"{rehearsal_tag(rehearsal)}-prd"
    shutil.copy(cli.workdir / "Pulumi.rehearsal.yaml", cli.workdir / "Pulumi.rehearsal-prd.yaml")
    stack = Stack(cli, "rehearsal-prd", rehearsal.host_dir.parent / env_name, f"whatsapp-miner-{env_name}")
    cli.init(stack.name, {**sshd_host.stack_config(ssh_host, python_base, env_name, stack.host_dir),
                          "whatsapp-miner:promoteFrom": rehearsal.name})
    yield stack
    cli.destroy(stack.name)
    assert stack.containers() == {}


def tags_of(moto: str, stack: Stack, digest: str) -> set[str]:
    """The tags the shared repository gives DIGEST."""
    repository = stack.cli.outputs("registry")["repositoryName"]
    images = ecr_client(moto).describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])
    return set(images["imageDetails"][0]["imageTags"])


def test_prd_promotes_the_digest_dev_verified_without_a_build(rehearsal, first_run, prd, moto):
    promoted = prd.up()
    digest = first_run["deployedDigest"]
    assert promoted["deployedDigest"] == digest == promoted["imageRef"].rpartition("@")[2]
    assert prd.status()["digest"] == rehearsal.status()["digest"] == digest  # both hosts, one digest
    assert prd.status()["verified"] is True
    types = {resource["type"] for resource in prd.cli.export(prd.name)["deployment"]["resources"]}
    assert "docker:index/image:Image" not in types and "pulumi:providers:aws" not in types  # no build, no push
    assert tags_of(moto, prd, digest) == {digest.replace(":", "-"), rehearsal_tag(rehearsal), rehearsal_tag(prd)}
    assert prd.cli.up_changes(prd.name) == {}  # promoting the same digest again changes nothing
    assert rehearsal.status()["digest"] == digest  # dev is untouched


def test_prd_with_nothing_to_promote_fails_and_writes_nothing_on_the_host(rehearsal, ssh_host, python_base):
    """The stack it promotes from has verified nothing: the promotion's error stops the update before
    any file, .env, credentials or teardown claim reaches the host (every host resource waits for it)."""
    cli, unverified, stack = rehearsal.cli, "rehearsal-unverified", "rehearsal-nothing-to-promote"
    host_dir = rehearsal.host_dir.parent / f"{rehearsal_tag(rehearsal)}-nothing-to-promote"
    cli.init(unverified, {})  # never deployed: no deployedDigest
    shutil.copy(cli.workdir / "Pulumi.rehearsal.yaml", cli.workdir / f"Pulumi.{stack}.yaml")
    cli.init(stack, {**sshd_host.stack_config(ssh_host, python_base, f"{rehearsal_tag(rehearsal)}-prd", host_dir),
                     "whatsapp-miner:composeProject": f"{rehearsal.project}-nothing-to-promote",
                     "whatsapp-miner:promoteFrom": unverified})
    try:
        failed = cli.up(stack, check=False)
        assert failed.returncode != 0
        assert f"stack organization/whatsapp-miner/{unverified} has no output deployedDigest" in \
            failed.stdout + failed.stderr
        assert not host_dir.exists() or not any(host_dir.rglob("*"))
        resources = cli.export(stack)["deployment"].get("resources") or []
        assert not [r["urn"] for r in resources if r["type"].startswith("command:")]
    finally:
        for name in (stack, unverified):
            cli.run("stack", "rm", "--yes", "--force", "--stack", name)


def rehearsal_tag(stack: Stack) -> str:
    """The stack's environment tag: its environment's name."""
    return stack.cli.run("config", "get", "--stack", stack.name, "whatsapp-miner:environment").stdout.strip()


def host_status(stack: Stack, ssh_host) -> subprocess.CompletedProcess:
    return sshd_host.host_status(stack.cli, stack.name, f"[127.0.0.1]:{ssh_host.port} {ssh_host.host_key}")


def test_host_status_reaches_the_host_from_the_stack_outputs(rehearsal, first_run, ssh_host):
    done = host_status(rehearsal, ssh_host)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["digest"] == first_run["deployedDigest"]


def test_the_drift_check_writes_no_state(rehearsal, first_run):
    state = rehearsal.cli.backend / ".pulumi" / "stacks" / "whatsapp-miner" / f"{rehearsal.name}.json"
    before = state.read_bytes()
    rehearsal.cli.preview(rehearsal.name, "--refresh", "--expect-no-changes")  # what drift.yml runs
    assert state.read_bytes() == before


def test_the_drift_check_notices_a_service_stopped_on_the_host(rehearsal, first_run, ssh_host):
    classifier = rehearsal.containers()["classifier"]
    docker_env.host("stop", classifier)
    try:
        done = host_status(rehearsal, ssh_host)
        assert done.returncode == 1
        assert json.loads(done.stdout.splitlines()[-1])["services"]["classifier"]["state"] == "exited"
    finally:
        docker_env.host("start", classifier)
    deadline = time.monotonic() + 60
    while host_status(rehearsal, ssh_host).returncode != 0:
        assert time.monotonic() < deadline, "the classifier did not come back healthy"
        time.sleep(1)


def deploy_stderr(stack: Stack) -> str:
    """What host-deploy said in the last deploy the stack recorded."""
    resources = stack.cli.export(stack.name)["deployment"]["resources"]
    return next(r["outputs"]["stderr"] for r in resources if r["urn"].endswith("::app-deploy"))


def volume_exists(name: str) -> bool:
    return docker_env.host("volume", "inspect", name, check=False).returncode == 0


# ---------------------------------------------------------------- What a change does (docs/operations.md)

def test_nothing_changed_runs_nothing_on_the_host(rehearsal, first_run):
    before, audits = rehearsal.containers(), rehearsal.audit_lines()
    rehearsal.cli.preview(rehearsal.name, "--expect-no-changes")
    assert rehearsal.cli.up_changes(rehearsal.name) == {}
    assert rehearsal.containers() == before
    assert rehearsal.audit_lines() == audits
    assert rehearsal.cli.outputs(rehearsal.name)["deployedDigest"] == first_run["deployedDigest"]


def test_app_code_deploys_migrates_and_verifies_a_new_digest(rehearsal, first_run):
    before = rehearsal.containers()
    rehearsal.edit_app("app/classifier.py", '"greeting": ("hello",', '"greeting": ("hello", "hey",')
    changes = rehearsal.cli.up_changes(rehearsal.name)
    assert changes == {"app-image": "update", "app-base-name-tag": "update", "app-tags": "replace",
                       "app-deploy": "replace"}
    changed = rehearsal.cli.outputs(rehearsal.name)
    assert changed["deployedDigest"] != first_run["deployedDigest"]
    status = rehearsal.status()
    assert status["digest"] == changed["deployedDigest"]
    assert status["previous_image"] == first_run["imageRef"]
    assert f"running migrations with {changed['imageRef']}" in deploy_stderr(rehearsal)
    # The deploy carries no secret, so its progress shows in `pulumi up`.
    assert any("running migrations with" in message for message in rehearsal.cli.messages("app-deploy"))
    after = rehearsal.containers()
    assert all(after[name] != before[name] for name in ("miner", "classifier"))
    assert_no_secret_shown(rehearsal)


def test_prd_promotes_the_new_digest_once_dev_verified_it(rehearsal, prd, moto):
    verified, running = rehearsal.cli.outputs(rehearsal.name)["deployedDigest"], prd.status()["digest"]
    assert verified != running  # dev deployed new code since prd's promotion
    assert prd.cli.up_changes(prd.name) == {"app-tags": "replace", "app-deploy": "replace"}
    status = prd.status()
    assert (status["digest"], status["verified"]) == (verified, True)
    assert status["previous_image"].endswith("@" + running)
    assert rehearsal_tag(prd) in tags_of(moto, prd, verified)
    assert rehearsal_tag(prd) not in tags_of(moto, prd, running)  # the tag moved


def test_a_compose_change_recreates_only_the_affected_services(rehearsal):
    before, image = rehearsal.containers(), rehearsal.cli.outputs(rehearsal.name)["imageRef"]
    rehearsal.edit_app("docker-compose.yml", "  classifier:\n    <<: *app\n",
                       "  classifier:\n    <<: *app\n    labels: [whatsapp-miner.rehearsal=compose-change]\n")
    changes = rehearsal.cli.up_changes(rehearsal.name)
    assert changes == {"app-compose-file": "replace", "app-deploy": "replace"}  # no image rebuild
    assert (rehearsal.host_dir / "docker-compose.yml").read_text() == \
        (rehearsal.cli.workdir / "docker-compose.yml").read_text()
    after = rehearsal.containers()
    assert after["miner"] == before["miner"]
    assert after["classifier"] != before["classifier"]
    assert rehearsal.cli.outputs(rehearsal.name)["imageRef"] == image
    assert rehearsal.status()["verified"] is True


def test_a_host_tool_change_replaces_the_file_and_restarts_nothing(rehearsal):
    before, audits = rehearsal.containers(), rehearsal.audit_lines()
    with (rehearsal.cli.workdir / "host" / "host-deploy").open("a") as tool:
        tool.write("# a change to the host tool\n")
    assert rehearsal.cli.up_changes(rehearsal.name) == {"app-host-tool": "replace"}
    assert (rehearsal.host_dir / "host-deploy").read_text().endswith("# a change to the host tool\n")
    assert rehearsal.containers() == before
    assert rehearsal.audit_lines() == audits


def test_a_container_env_value_rewrites_env_and_recreates_the_services_without_a_rebuild(rehearsal):
    before, image = rehearsal.containers(), rehearsal.cli.outputs(rehearsal.name)["imageRef"]
    rehearsal.cli.environ["GREETING"] = "rotated # value"
    try:
        assert rehearsal.cli.up_changes(rehearsal.name) == {"app-env-file": "replace", "app-deploy": "replace"}
        assert "GREETING='rotated # value'" in (rehearsal.host_dir / ".env").read_text()
        after = rehearsal.containers()
        assert all(after[name] != before[name] for name in ("miner", "classifier"))
        container_env = json.loads(docker_env.host("inspect", "--format", "{{json .Config.Env}}",
                                                  after["classifier"]).stdout)
        assert "GREETING=rotated # value" in container_env
        assert rehearsal.cli.outputs(rehearsal.name)["imageRef"] == image
        assert_no_secret_shown(rehearsal)
    finally:
        rehearsal.cli.environ["GREETING"] = GREETING
        rehearsal.cli.up(rehearsal.name)


def test_rotated_aws_keys_rewrite_only_the_host_credentials(rehearsal):
    before, audits = rehearsal.containers(), rehearsal.audit_lines()
    rotated = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYROTATED"
    rehearsal.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY"] = rotated
    assert rehearsal.cli.up_changes(rehearsal.name) == {"aws": "update", "app-host-credentials": "update"}
    assert rotated in (rehearsal.host_dir / ".deploy" / "aws-credentials").read_text()
    assert (rehearsal.host_dir / ".deploy" / "aws-credentials").stat().st_mode & 0o777 == 0o600
    assert rehearsal.containers() == before
    assert rehearsal.audit_lines() == audits
    assert rotated not in rehearsal.cli.text()
    # A preview under other (read-only) credentials: with forwarded credentials
    # the file that holds them shows as changed, and no other host command.
    rehearsal.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY"] = "read-only-preview-key"
    try:
        planned = rehearsal.cli.preview_changes(rehearsal.name)
    finally:
        rehearsal.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY"] = rotated
    assert planned == {"aws": "update", "app-host-credentials": "update"}


def test_a_rotated_ssh_key_only_checks_the_host_with_it(rehearsal, ssh_host):
    before, audits = rehearsal.containers(), rehearsal.audit_lines()
    rehearsal.cli.environ["SSH_PRIVATE_KEY"] = ssh_host.authorize_new_key()
    changes = rehearsal.cli.up_changes(rehearsal.name)
    assert changes == {name: "update" for name in (
        "app-compose-file", "app-host-tool", "app-env-file", "app-host-credentials", "app-deploy", "app-teardown")}
    assert rehearsal.containers() == before
    assert rehearsal.audit_lines() == audits  # the deploy's update is host-deploy status
    assert json.loads(rehearsal.cli.outputs(rehearsal.name)["status"])["verified"] is True
    rehearsal.cli.preview(rehearsal.name, "--expect-no-changes")


def test_deploy_false_builds_and_pushes_and_leaves_the_app_running(rehearsal):
    before, running = rehearsal.containers(), rehearsal.status()["digest"]
    image_before = rehearsal.cli.outputs(rehearsal.name)["imageRef"]
    rehearsal.cli.run("config", "set", "--stack", rehearsal.name, "whatsapp-miner:deploy", "false")
    rehearsal.edit_app("app/classifier.py", '"greeting": ("hello", "hey",', '"greeting": ("hello", "hey", "hi",')
    changes = rehearsal.cli.up_changes(rehearsal.name)
    assert changes["app-image"] == "update"
    assert "app-teardown" not in changes
    pushed = rehearsal.cli.outputs(rehearsal.name)
    assert pushed["imageRef"] != image_before and "deployedDigest" not in pushed
    assert rehearsal.containers() == before
    assert rehearsal.status()["digest"] == running
    rehearsal.cli.run("config", "rm", "--stack", rehearsal.name, "whatsapp-miner:deploy")
    deployed = rehearsal.up()
    assert deployed["deployedDigest"] == pushed["imageRef"].rpartition("@")[2] == rehearsal.status()["digest"]


def test_a_pinned_digest_deploys_that_digest_without_a_build(rehearsal, first_run):
    rehearsal.cli.run("config", "set", "--stack", rehearsal.name, "whatsapp-miner:imageDigest",
                      first_run["deployedDigest"])
    try:
        changes = rehearsal.cli.up_changes(rehearsal.name)
        # No build: the image, its ECR login (the provider) and its local tag go; the tags move to the pin.
        assert changes == {"app": "delete", "app-image": "delete", "app-base-name-tag": "delete", "aws": "delete",
                           "app-tags": "replace", "app-deploy": "replace"}
        status = rehearsal.status()
        assert status["digest"] == first_run["deployedDigest"] and status["verified"] is True
    finally:
        rehearsal.cli.run("config", "rm", "--stack", rehearsal.name, "whatsapp-miner:imageDigest")
    latest = rehearsal.up()
    assert latest["deployedDigest"] != first_run["deployedDigest"]


def test_a_broken_image_fails_the_deploy_and_the_previous_version_keeps_running(rehearsal):
    running = rehearsal.status()["digest"]
    miner = rehearsal.cli.workdir / "app" / "miner.py"
    source = miner.read_text()
    rehearsal.edit_app("app/miner.py", 'if __name__ == "__main__":\n',
                       'if __name__ == "__main__":\n    raise SystemExit("broken on purpose")\n')
    try:
        failed = rehearsal.cli.up(rehearsal.name, check=False)
    finally:
        miner.write_text(source)
    assert failed.returncode != 0
    assert "Process exited with status 5" in failed.stdout + failed.stderr
    assert "health gate: miner" in failed.stdout + failed.stderr
    assert rehearsal.status()["digest"] == running
    assert rehearsal.cli.outputs(rehearsal.name)["deployedDigest"] == running
    assert_no_secret_shown(rehearsal)


def test_a_new_compose_project_takes_the_old_one_down(rehearsal):
    old_project = rehearsal.project
    rehearsal.project = f"{old_project}-renamed"
    rehearsal.cli.run("config", "set", "--stack", rehearsal.name, "whatsapp-miner:composeProject", rehearsal.project)
    changes = rehearsal.cli.up_changes(rehearsal.name)
    assert changes["app-teardown"] == "replace" and changes["app-deploy"] == "replace"
    assert rehearsal.status()["verified"] is True
    assert set(rehearsal.containers()) == {"miner", "classifier"}
    assert project_containers(old_project, rehearsal.engine) == {}
    assert (rehearsal.host_dir / ".env").exists()  # the files now belong to the new project


def test_a_new_host_dir_moves_the_project_and_cleans_the_old_dir(rehearsal):
    old_dir = rehearsal.host_dir
    rehearsal.host_dir = old_dir.parent / f"{old_dir.name}-moved"
    rehearsal.cli.run("config", "set", "--stack", rehearsal.name, "whatsapp-miner:hostDir", str(rehearsal.host_dir))
    changes = rehearsal.cli.up_changes(rehearsal.name)
    assert changes["app-teardown"] == "replace"
    assert rehearsal.status()["verified"] is True
    labels = docker_env.host("inspect", "--format",
                            '{{index .Config.Labels "com.docker.compose.project.working_dir"}}',
                            rehearsal.containers()["miner"]).stdout.strip()
    assert labels == str(rehearsal.host_dir)
    assert not (old_dir / ".env").exists() and not (old_dir / "docker-compose.yml").exists()


def test_a_new_host_gets_the_project_and_the_old_host_is_cleaned(rehearsal, ssh_host, tmp_path_factory, moto):
    # A second sshd with its own host key stands for a second host; both reach
    # the test host's dockerd, so the new host also gets its own directory.
    second = sshd_host.start_rehearsal_host(tmp_path_factory.mktemp("sshd-2"), moto)
    try:
        for key in ssh_host.workdir.glob("client_key*.pub"):
            second.authorize(key)
        old_dir = rehearsal.host_dir
        rehearsal.host_dir = old_dir.parent / f"{old_dir.name}-second-host"
        for key, value in (("sshPort", str(second.port)), ("sshHostKey", second.host_key),
                           ("hostDir", str(rehearsal.host_dir))):
            rehearsal.cli.run("config", "set", "--stack", rehearsal.name, f"whatsapp-miner:{key}", value)
        changes = rehearsal.cli.up_changes(rehearsal.name)
        for name in ("app-compose-file", "app-host-tool", "app-env-file", "app-deploy", "app-teardown"):
            assert changes[name] == "replace", name
        assert rehearsal.status()["verified"] is True
        assert not (old_dir / ".env").exists()
        assert rehearsal.cli.outputs(rehearsal.name)["sshPort"] == second.port
    finally:  # back to the first host and its directory
        rehearsal.host_dir = old_dir
        for key, value in (("sshPort", str(ssh_host.port)), ("sshHostKey", ssh_host.host_key),
                           ("hostDir", str(old_dir))):
            rehearsal.cli.run("config", "set", "--stack", rehearsal.name, f"whatsapp-miner:{key}", value)
        rehearsal.cli.up(rehearsal.name)
        second.stop()
    assert rehearsal.status()["verified"] is True


def test_destroy_takes_the_project_down_removes_its_files_and_keeps_its_data(rehearsal, moto):
    assert rehearsal.containers()
    rehearsal.cli.destroy(rehearsal.name)
    repository = rehearsal.cli.outputs("registry")["repositoryName"]  # the shared repository stays, images and all
    tag = rehearsal_tag(rehearsal)
    tagged = ecr_client(moto).describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    assert tagged["imageDetails"]
    assert rehearsal.containers() == {}
    networks = docker_env.host("network", "ls", "--filter", f"label=com.docker.compose.project="
                              f"{rehearsal.project}", "--format", "{{.Name}}").stdout.split()
    assert networks == []
    for name in (".env", "docker-compose.yml", "host-deploy", ".deploy/aws-credentials"):
        assert not (rehearsal.host_dir / name).exists(), name
    assert volume_exists(f"{rehearsal.project}_data")
    docker_env.host("volume", "rm", f"{rehearsal.project}_data")
    assert rehearsal.cli.outputs(rehearsal.name) == {}
    assert_no_secret_shown(rehearsal)


def test_the_local_stack_is_the_readme_main_job(tmp_path, pulumi_cli, python_base):
    env_name = f"lc-{uuid.uuid4().hex[:8]}"
    cli = PulumiProject(copy_program(tmp_path / "program"), tmp_path / "state", environ={})
    cli.init("local", {"whatsapp-miner:environment": env_name, "whatsapp-miner:baseImage": python_base,
                       "whatsapp-miner:hostDir": str(tmp_path / "host")})
    local = Stack(cli, "local", tmp_path / "host", f"whatsapp-miner-{env_name}", engine={})
    try:
        outputs = local.up()
        status = local.status()
        assert status["verified"] is True
        assert status["image_id"] == outputs["deployedDigest"] == outputs["imageRef"]
        assert set(status["services"]) == {"miner", "classifier"}
        assert (local.host_dir / ".env").stat().st_mode & 0o777 == 0o600
        cli.preview("local", "--expect-no-changes")
        # A deleted local image goes unnoticed (pulumi-docker's Read changes
        # nothing); docs/operations.md's way back is to replace the image resource.
        image_name = f"whatsapp-miner:{env_name}"
        docker_env.run("docker", "image", "rm", "--force", image_name)
        assert cli.up_changes("local") == {}
        assert cli.up_changes("local", "--replace", cli.urn("local", "app-image"))["app-image"] == "replace"
        assert docker_env.run("docker", "image", "inspect", image_name, check=False).returncode == 0
        assert local.status()["verified"] is True
    finally:
        cli.destroy("local")
    assert local.containers() == {}
