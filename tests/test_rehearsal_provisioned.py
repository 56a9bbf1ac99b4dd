"""A provisioned host deployed end to end, through the address its instance outputs.

tests/test_rehearsal_aws.py leaves out what runs over SSH on a provisioned host. Here
a `provisionHost` stack's `pulumi up` runs it all: the cloud-init wait and the deploy,
over SSH to the instance's `publicIp` with the host key the stack made pinned. The real
CLI runs the real program with the plugin stand-ins of tests/test_rehearsal.py (the
image is built from the real Dockerfile and pushed to the ECR stand-in registry). What
stands in for what:

- the instance: moto's, made by the aws stand-in. Its address, which routes nowhere
  here, is added to the loopback interface for the module's duration;
- the host: a test-owned sshd listening only on that address, port 22, with the host
  key taken from the instance's user-data as moto holds it (so the program's pin is
  checked against the key cloud-init would install), its sessions running on the test
  host's own Docker engine;
- cloud-init, which no instance here boots: what its users module and host-provision
  would make is made from the user-data (the deploy user with its authorized key, in the
  docker group, its Docker config sending the registry to the ECR credential helper), and
  tests/standins/host-bin/cloud-init, first on the host's PATH, reports the boot done
  (this machine's own cloud-init never ran) (tests/support/sshd_host.py `provisioned_host`);
- the instance role and ECR: the role's credentials in the sessions' environment, ECR's
  API by moto over TLS, the registry by the ECR stand-in (scripts/services.sh).

sshd needs the address moto assigns and the user-data, so a first `up` creates the host
without what runs over SSH (as tests/test_rehearsal_aws.py does) and a second, full `up`
then creates only that.
"""

from __future__ import annotations

import json
import pwd
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import docker_env, sshd_host
from tests.support.aws_rehearsal import EXCLUDE_SSH, HOST_CONFIG, World, start_world
from tests.support.sshd_host import SshHost

# What runs over SSH on the host: all that the full `up` creates.
OVER_SSH = ("host-cloud-init", "app-teardown", "app-compose-file", "app-host-tool", "app-env-file", "app-deploy")


@dataclass
class Provisioned:
    world: World
    stack: str
    env_name: str
    host: SshHost


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory, moto, ecr_registry, ecr_api, python_base, pulumi_cli, run_id):
    work = tmp_path_factory.mktemp("provisioned")
    env_name = f"pv-{run_id}"
    world = start_world(work, moto, f"whatsapp-miner-{env_name}", [env_name])
    stack = world.stack("provisioned", env_name, {
        **HOST_CONFIG,
        "whatsapp-miner:sshUser": f"deploy-{run_id}",  # made on this machine: one of its own
        "whatsapp-miner:baseImage": python_base,
        "whatsapp-miner:sshDialErrorLimit": "5",
    })
    world.cli.up(stack, *EXCLUDE_SSH)
    outputs = world.cli.outputs(stack)
    with sshd_host.provisioned_host(tmp_path_factory.mktemp("sshd"), ecr_api, outputs["publicIp"],
                                    world.user_data(outputs["instanceId"])) as host:
        try:
            yield Provisioned(world, stack, env_name, host)
        finally:
            world.cli.destroy(stack)  # the teardown goes over SSH too
            docker_env.host("volume", "rm", f"whatsapp-miner-{env_name}_data", check=False)


@pytest.fixture(scope="module")
def full_up(provisioned) -> dict[str, str]:
    return provisioned.world.cli.up_changes(provisioned.stack)


def test_a_full_up_waits_for_cloud_init_and_deploys_through_the_instance_address(provisioned, full_up):
    cli, host = provisioned.world.cli, provisioned.host
    assert full_up == dict.fromkeys(OVER_SSH, "create")
    outputs = cli.outputs(provisioned.stack)
    assert outputs["host"] == outputs["publicIp"] == host.address  # the connection, and where sshd listens
    assert outputs["hostKey"] == host.host_key  # the key from the user-data is the one pinned
    home = pwd.getpwnam(host.user).pw_dir
    assert outputs["hostDir"] == f"{home}/whatsapp-miner/{provisioned.env_name}"  # the default, in its home
    pushed = outputs["imageRef"].rpartition("@")[2]
    world = provisioned.world
    tagged = world.aws.client("ecr").describe_images(repositoryName=world.repository,
                                                     imageIds=[{"imageTag": provisioned.env_name}])
    assert outputs["deployedDigest"] == pushed == tagged["imageDetails"][0]["imageDigest"]
    status = json.loads(outputs["status"])
    assert (status["digest"], status["verified"]) == (pushed, True)
    assert {name: service["health"] for name, service in status["services"].items()} == \
        {"miner": "healthy", "classifier": "healthy"}
    # Every connection was to that address and accepted with the user-data's key; the
    # host pulled through the ECR credential helper with the instance role's stand-in.
    log = (host.workdir / "sshd.log").read_text()
    assert f"Accepted publickey for {host.user} from {host.address}" in log
    helper_log = (Path(home) / ".ecr" / "log" / "ecr-login.log").read_text()
    assert "Calling ECR.GetAuthorizationToken" in helper_log and "level=error" not in helper_log


def test_host_status_reaches_the_instance_address_from_the_stack_outputs(provisioned, full_up):
    """scripts/host-status, as the drift job runs it, pinning the host key the stack outputs."""
    outputs = provisioned.world.cli.outputs(provisioned.stack)
    done = sshd_host.host_status(provisioned.world.cli, provisioned.stack,
                                 f"{outputs['publicIp']} {outputs['hostKey']}")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert (report["digest"], report["verified"]) == (outputs["deployedDigest"], True)
