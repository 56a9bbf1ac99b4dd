"""Upgrading: stacks deployed by an earlier version see what docs/upgrading.md says.

The earlier version is a commit of this repository, extracted with git
archive; the stacks are deployed with it through the real CLI, then the
working tree's program replaces it in the same directory and previews them,
as `git pull` then `pulumi preview` would. PREVIOUS is main before
components/ was laid out by concern: a module that moved must not change a
resource name, a type token or a command's text.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.support import docs
from tests.support.aws_rehearsal import EXCLUDE_SSH, EXCLUDE_VERIFY, HOST_CONFIG, network, start_world
from tests.support.pulumi_cli import ROOT, PulumiProject, copy_program, git
from tests.support.rehearsal_stacks import Stack, start_stacks

PREVIOUS = "a16dd8eb14ef4566cbc88def89bea46409f1b412"


def host_tool_changed() -> bool:
    """Whether host-deploy's content changed since PREVIOUS: its copy on the host is then
    replaced, as after any host-deploy change (docs/operations.md), whatever the layout."""
    return git("show", f"{PREVIOUS}:scripts/host-deploy").decode() != (ROOT / "host" / "host-deploy").read_text()


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory, pulumi_cli, ecr_registry, moto, python_base, ssh_host, run_id) -> Stack:
    work = tmp_path_factory.mktemp("upgrade")
    stack = start_stacks(copy_program(work / "program", PREVIOUS), work, f"up-{run_id}", moto, ssh_host, python_base)
    stack.up()
    copy_program(stack.cli.workdir)
    yield stack
    stack.cli.destroy("rehearsal")


def test_a_host_stack_deployed_by_the_previous_version_sees_no_change(upgraded):
    deployed = upgraded.status()
    assert upgraded.cli.preview_changes("registry") == {}
    expected = {"app-host-tool": "replace"} if host_tool_changed() else {}
    assert upgraded.cli.preview_changes("rehearsal") == expected
    assert upgraded.cli.up_changes("rehearsal") == expected
    assert upgraded.status()["digest"] == deployed["digest"]


def test_a_local_stack_deployed_by_the_previous_version_only_copies_its_files_again(tmp_path, pulumi_cli,
                                                                                   python_base):
    """docs/upgrading.md names the one change: the local target's file copy
    names host-deploy's new place in its command."""
    env_name = f"ul-{uuid.uuid4().hex[:8]}"
    cli = PulumiProject(copy_program(tmp_path / "program", PREVIOUS), tmp_path / "state", environ={})
    cli.init("local", {"whatsapp-miner:environment": env_name, "whatsapp-miner:baseImage": python_base,
                       "whatsapp-miner:hostDir": str(tmp_path / "host")})
    local = Stack(cli, "local", tmp_path / "host", f"whatsapp-miner-{env_name}", engine={})
    try:
        deployed = local.up()
        copy_program(cli.workdir)
        # Its triggers hold host-deploy's digest: a new host-deploy replaces it instead.
        expected = {"app-files": "replace" if host_tool_changed() else "update"}
        assert cli.preview_changes("local") == expected
        assert docs.mentions("upgrading.md", "`app-files`")
        assert cli.up_changes("local") == expected
        assert local.status()["image_id"] == deployed["deployedDigest"]
        assert (local.host_dir / "host-deploy").read_text() == (cli.workdir / "host" / "host-deploy").read_text()
    finally:
        cli.destroy("local")


def test_provisioned_host_and_ecs_stacks_deployed_by_the_previous_version_see_no_change(tmp_path, aws_api,
                                                                                         pulumi_cli, run_id):
    """On moto, without what runs over SSH or waits for ECS's rollout (as in
    tests/test_rehearsal_aws.py and tests/test_rehearsal_ecs.py)."""
    host_env, ecs_env = f"uh-{run_id}", f"ue-{run_id}"
    world = start_world(tmp_path, aws_api, f"whatsapp-miner-ua-{run_id}", [host_env, ecs_env], PREVIOUS)
    subnets, group = network(world.aws.client("ec2"), ecs_env)
    stacks = {
        world.stack("aws-host", host_env, {**HOST_CONFIG, "whatsapp-miner:imageDigest": world.push("upgrade host")}):
            EXCLUDE_SSH,
        world.stack("aws-ecs", ecs_env, {"whatsapp-miner:imageDigest": world.push("upgrade ecs"),
                                         "whatsapp-miner:ecsSubnets": json.dumps(subnets),
                                         "whatsapp-miner:ecsSecurityGroups": json.dumps([group])}): EXCLUDE_VERIFY,
    }
    try:
        for stack, excluded in stacks.items():
            world.cli.up(stack, *excluded)
        copy_program(world.cli.workdir)
        for stack, excluded in stacks.items():
            assert world.cli.preview_changes(stack, *excluded) == {}, stack
    finally:
        for stack in stacks:
            world.cli.run("destroy", "--stack", stack, "--yes", "--skip-preview", "--exclude-protected")
