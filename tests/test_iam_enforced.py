"""The policies of docs/iam/, enforced: each stack operation runs with the keys
of a user holding exactly the policies docs/iam.md says that stack attaches,
on moto enforcing IAM, and passes; an operation outside each policy is refused.

One user per policy file, and one per set of policies a stack attaches
(tests/support/moto_iam.py: placeholders filled in for moto's account; moto
enforces a policy's actions, not its resources or conditions, which
tests/test_iam_policies.py checks). The stacks run through the real CLI with
those keys under the aliases Doppler and CI use. A provisioned host and an
ecs stack run as tests/test_rehearsal_aws.py and tests/test_rehearsal_ecs.py
run them (without what needs SSH, and without ecs `verify`, which
test_ecs_verify_reads_the_services_with_the_ecs_stacks_keys runs on its own);
the aws stand-in makes a subset of the real provider's calls, so this shows
the policies hold what the stand-in calls, and docs/iam.md cites the rest. What does
not reach the ECR API here is not checked here: dev's image layers go to the
registry stand-in, not to moto (so dev pushes its manifest through the API
as the build's push ends, with its own keys), and the deploy over SSH is
left out (`deploy: false`, and its teardown marker on the host excluded):
the host's ECR login is the `host-pull` check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError

from components.digests import build_tag
from tests.support import docs, moto_iam
from tests.support.aws_rehearsal import EXCLUDE_SSH, EXCLUDE_VERIFY, HOST_CONFIG, network
from tests.support.pulumi_cli import ROOT, PulumiError, PulumiProject, copy_program
from tests.test_ecr_tags import MANIFEST_TYPE, manifest

NO_SSH = ("--exclude", "**::app-teardown", "--exclude-dependents")
POLICIES = tuple(sorted(path.stem for path in moto_iam.POLICIES.glob("*.json")))
ATTACHED = {stack: tuple(names.split(", ")) for stack, names in docs.table_rows("iam.md", "Who attaches what")}
"""docs/iam.md, "Who attaches what": {stack: the policies it attaches}."""
HOST = "`dev` with `provisionHost: true`"
ECS = "`dev` with `target: ecs`"
# moto fails the signature of every EFS request without a body (GET, DELETE: it signs the
# parameters it parsed as if they were the body), so an ecs destroy leaves the access point and
# mount targets; their deletes are docs/iam.md's rows only.
ECS_VOLUMES = ("--exclude", "**::app-volume-*", "--exclude", "**::app-efs-*")


@pytest.fixture(scope="module")
def keys(aws_iam_api, run_id) -> dict[tuple[str, ...], dict]:
    endpoint, admin = aws_iam_api
    users = {(name,) for name in POLICIES} | set(ATTACHED.values())
    return {names: moto_iam.user_with_policies(endpoint, admin, names, run_id) for names in sorted(users)}


class Program:
    """The program with its registry, dev and prd stacks, run with one user's keys at a time."""

    def __init__(self, cli: PulumiProject, keys: dict[tuple[str, ...], dict], endpoint: str, repository: str):
        self.cli, self.keys, self.endpoint, self.repository = cli, keys, endpoint, repository

    def as_user(self, *policies: str) -> PulumiProject:
        """The CLI with the keys of the user holding exactly POLICIES."""
        self.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID"] = self.keys[policies]["AccessKeyId"]
        self.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY"] = self.keys[policies]["SecretAccessKey"]
        return self.cli

    def client(self, service: str, *policies: str):
        return moto_iam.client(self.endpoint, service, self.keys[policies])

    def push(self, layer: str) -> str:
        """The end of dev's build push, through the ECR API with dev's keys: the manifest; its digest."""
        text, digest = manifest(layer)
        self.client("ecr", "deploy-dev").put_image(
            repositoryName=self.repository, imageManifest=text, imageDigest=digest,
            imageManifestMediaType=MANIFEST_TYPE, imageTag=build_tag(digest))
        return digest

    def tags(self, digest: str) -> set[str]:
        images = self.client("ecr", "preview").describe_images(repositoryName=self.repository,
                                                               imageIds=[{"imageDigest": digest}])
        return set(images["imageDetails"][0]["imageTags"])


@pytest.fixture(scope="module")
def program(tmp_path_factory, aws_iam_api, keys, run_id, pulumi_cli) -> Program:
    work = tmp_path_factory.mktemp("iam")
    key = work / "deploy_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cli = PulumiProject(copy_program(work / "program"), work / "state", environ={
        "AWS_EC2_REGION": moto_iam.REGION,
        "AWS_ENDPOINT_URL": aws_iam_api[0],
        "SSH_PRIVATE_KEY": key.read_text(),
        "WHATSAPP_MINER_EC2_HOST": "127.0.0.1",
        "WHATSAPP_API_TOKEN": "iam token",
    })
    for stack in ("registry", "dev", "prd"):
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", cli.workdir / f"Pulumi.{stack}.yaml")
    repository = f"whatsapp-miner-{run_id}"
    cli.init("registry", {"whatsapp-miner:repositoryName": repository})
    return Program(cli, keys, aws_iam_api[0], repository)


@pytest.fixture(scope="module")
def registry(program) -> None:
    program.as_user("registry-admin").up("registry")


@pytest.fixture(scope="module")
def digest(program, registry) -> str:
    return program.push("iam image 1")


def environment_stack(program: Program, stack: str, digest: str) -> None:
    """dev or prd on DIGEST, without the deploy over SSH (see the module's doc)."""
    program.cli.init(stack, {"whatsapp-miner:imageDigest": digest, "whatsapp-miner:deploy": "false"})
    if stack == "prd":  # the digest is pinned: dev, not deploying here, has verified none
        program.cli.run("config", "rm", "--stack", stack, "whatsapp-miner:promoteFrom")


@pytest.fixture(scope="module")
def dev(program, digest) -> str:
    environment_stack(program, "dev", digest)
    program.as_user("deploy-dev").up("dev", *NO_SSH)
    return "dev"


@pytest.fixture(scope="module")
def prd(program, digest, dev) -> str:
    environment_stack(program, "prd", digest)
    program.as_user("deploy-prd").up("prd", *NO_SSH)
    return "prd"


def test_registry_up_runs_with_registry_admin_keys(program, registry):
    repositories = program.client("ecr", "registry-admin").describe_repositories(repositoryNames=[program.repository])
    assert repositories["repositories"][0]["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"


def test_dev_up_moves_the_dev_tag_with_deploy_dev_keys(program, digest, dev):
    assert program.tags(digest) >= {"dev", build_tag(digest)}


def test_prd_up_moves_the_prd_tag_with_deploy_prd_keys(program, digest, prd):
    assert program.tags(digest) == {"dev", "prd", build_tag(digest)}


@pytest.mark.parametrize("stack", ["dev", "prd"])
def test_a_pull_request_preview_runs_with_preview_keys(program, dev, prd, stack):
    program.as_user("preview").preview(stack, "--expect-no-changes", *NO_SSH)


def test_the_drift_check_runs_with_the_environment_keys(program, dev):
    program.as_user("deploy-dev").preview(dev, "--refresh", "--expect-no-changes", *NO_SSH)  # what drift.yml runs


def test_a_host_pulls_with_host_pull_keys(program, digest):
    ecr = program.client("ecr", "host-pull")
    assert ecr.get_authorization_token()["authorizationData"]
    images = ecr.batch_get_image(repositoryName=program.repository, imageIds=[{"imageDigest": digest}])
    assert [image["imageId"]["imageDigest"] for image in images["images"]] == [digest]


def test_a_preview_key_cannot_apply(program, dev, prd):
    program.cli.run("config", "set", "--stack", dev, "whatsapp-miner:imageDigest", program.push("iam image 2"))
    with pytest.raises(PulumiError) as refused:
        program.as_user("preview").up(dev, *NO_SSH)
    assert "not authorized to perform: ecr:PutImage" in str(refused.value)
    program.as_user("deploy-dev").up(dev, *NO_SSH)  # with its own keys it goes through


@dataclass
class TargetStack:
    """A dev stack that creates AWS resources besides the tags, run as docs/iam.md's ROW attaches."""
    name: str
    row: str
    exclude: tuple[str, ...]
    """What needs SSH, or moto's missing ECS fields (see the module's doc)."""
    removed: Callable[[Program, TargetStack], bool]
    """Whether what the stack created is gone, as moto tells its own keys."""
    outputs: dict = field(default_factory=dict)
    """After its `up`: they are gone with the stack."""
    kept_on_destroy: tuple[str, ...] = ()
    """What `destroy` leaves out (see ECS_VOLUMES)."""

    @property
    def policies(self) -> tuple[str, ...]:
        return ATTACHED[self.row]


def up_target(program: Program, digest: str, run_id: str, target: TargetStack, config: dict[str, str]) -> TargetStack:
    program.cli.init(target.name, {"whatsapp-miner:environment": "dev", "whatsapp-miner:imageDigest": digest,
                                   "whatsapp-miner:composeProject": f"whatsapp-miner-{target.name}-{run_id}",
                                   **config})
    program.as_user(*target.policies).up(target.name, *target.exclude)
    target.outputs = program.cli.outputs(target.name)
    return target


@pytest.fixture(scope="module")
def host(program, digest, run_id) -> TargetStack:
    return up_target(program, digest, run_id, TargetStack("dev-host", HOST, EXCLUDE_SSH, terminated), HOST_CONFIG)


@pytest.fixture(scope="module")
def ecs(program, digest, run_id, aws_iam_api) -> TargetStack:
    endpoint, admin = aws_iam_api
    subnets, group = network(moto_iam.client(endpoint, "ec2", admin), f"iam-{run_id}")
    return up_target(program, digest, run_id, TargetStack("dev-ecs", ECS, EXCLUDE_VERIFY, inactive,
                                                          kept_on_destroy=ECS_VOLUMES), {
        "whatsapp-miner:target": "ecs", "whatsapp-miner:containerEnv": '["WHATSAPP_API_TOKEN"]',
        "whatsapp-miner:ecsSubnets": json.dumps(subnets), "whatsapp-miner:ecsSecurityGroups": json.dumps([group])})


@pytest.fixture(scope="module", params=["host", "ecs"])
def target(request) -> TargetStack:
    return request.getfixturevalue(request.param)


def instance_state(program: Program, host: TargetStack) -> str:
    reservations = program.client("ec2", *host.policies).describe_instances(InstanceIds=[host.outputs["instanceId"]])
    return reservations["Reservations"][0]["Instances"][0]["State"]["Name"]


def cluster(program: Program, ecs: TargetStack) -> dict:
    name = program.cli.run("config", "get", "--stack", ecs.name, "whatsapp-miner:composeProject").stdout.strip()
    described = program.client("ecs", *ecs.policies).describe_clusters(clusters=[name])["clusters"]
    return described[0] if described else {"status": "gone"}


def terminated(program: Program, host: TargetStack) -> bool:
    return instance_state(program, host) == "terminated"


def inactive(program: Program, ecs: TargetStack) -> bool:
    return cluster(program, ecs)["status"] in ("INACTIVE", "gone")


def test_a_provisioned_host_stack_creates_its_host_with_the_keys_it_attaches(program, host):
    assert host.policies == ("deploy-dev", "provision-host")
    assert instance_state(program, host) == "running"


def test_an_ecs_stack_creates_its_services_and_migrates_with_the_keys_it_attaches(program, ecs):
    assert ecs.policies == ("deploy-dev", "deploy-ecs")
    services = program.client("ecs", *ecs.policies).describe_services(cluster=cluster(program, ecs)["clusterArn"],
                                                                      services=["miner", "classifier"])
    assert [service["status"] for service in services["services"]] == ["ACTIVE", "ACTIVE"]
    assert program.cli.urn(ecs.name, "app-migrate")  # the migration task ran with these keys


def test_a_target_stacks_pull_request_preview_runs_with_preview_keys(program, target):
    assert ATTACHED["every `*-preview` environment, whatever its target"] == ("preview",)
    # Other keys than the stack's are new provider credentials: an update of the provider alone.
    assert program.as_user("preview").preview_changes(target.name, *target.exclude) == {"aws": "update"}


def test_a_target_stacks_drift_check_runs_with_its_own_keys(program, target):
    program.as_user(*target.policies).preview(target.name, "--refresh", "--expect-no-changes", *target.exclude)


def test_ecs_verify_reads_the_services_with_the_ecs_stacks_keys(program, ecs):
    """verify's calls pass the policy and it fails on what moto leaves out (no rolloutState)."""
    keys = program.keys[ecs.policies]
    environ = {**os.environ, "AWS_ENDPOINT_URL": program.endpoint, "AWS_DEFAULT_REGION": moto_iam.REGION,
               "AWS_ACCESS_KEY_ID": keys["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"]}
    name = cluster(program, ecs)["clusterName"]
    services = program.client("ecs", *ecs.policies).describe_services(cluster=name, services=["miner", "classifier"])
    done = subprocess.run(
        [".venv/bin/python", "-m", "components.ecs_rollout", "verify", "--cluster", name, "--digest", "sha256:0",
         "--timeout", "1", *(f"--service={s['serviceName']}={s['taskDefinition']}" for s in services["services"])],
        cwd=ROOT, env=environ, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "verification failed" in done.stderr and "not authorized" not in done.stderr, done.stderr


def test_a_target_stacks_destroy_runs_with_its_own_keys(program, target):
    assert not target.removed(program, target)
    program.as_user(*target.policies).destroy(target.name, *target.kept_on_destroy)
    assert target.removed(program, target)


REFUSED = {  # one call outside each policy, by a user holding only that policy
    "registry-admin": ("ecr", "put_image", "ecr:PutImage"),
    "deploy-dev": ("ecr", "delete_repository", "ecr:DeleteRepository"),
    "deploy-prd": ("ecr", "create_repository", "ecr:CreateRepository"),
    "host-pull": ("ecr", "put_image", "ecr:PutImage"),
    "provision-host": ("ecs", "create_cluster", "ecs:CreateCluster"),
    "deploy-ecs": ("ec2", "run_instances", "ec2:RunInstances"),
}


@pytest.mark.parametrize("policy", sorted(REFUSED))
def test_a_call_outside_the_policy_is_refused(program, registry, digest, policy):
    service, call, action = REFUSED[policy]
    arguments = {
        "put_image": {"repositoryName": program.repository, "imageTag": "not-allowed",
                      "imageManifest": manifest("refused")[0], "imageManifestMediaType": MANIFEST_TYPE},
        "delete_repository": {"repositoryName": program.repository, "force": True},
        "create_repository": {"repositoryName": f"{program.repository}-other"},
        "create_cluster": {"clusterName": f"{program.repository}-refused"},
        "run_instances": {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1},
    }[call]
    with pytest.raises(ClientError) as refused:
        getattr(program.client(service, policy), call)(**arguments)
    assert f"not authorized to perform: {action}" in str(refused.value)
    assert action not in actions(moto_iam.policy(policy))


def actions(document: dict) -> set[str]:
    return {action for statement in document["Statement"]
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
