"""The policies of docs/iam/, enforced: each stack operation runs with the keys
of the user whose policy is meant for it, on moto enforcing IAM, and passes;
an operation outside each policy is refused.

One user per policy file (tests/support/moto_iam.py: placeholders filled in
for moto's account; moto enforces a policy's actions, not its resources or
conditions, which tests/test_iam_policies.py checks). The stacks run through
the real CLI with those keys under the aliases Doppler and CI use. What does
not reach the ECR API here is not checked here: dev's image layers go to the
registry stand-in, not to moto (so dev pushes its manifest through the API
as the build's push ends, with its own keys), and the deploy over SSH is
left out (`deploy: false`, and its teardown marker on the host excluded):
the host's ECR login is the `host-pull` check.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from botocore.exceptions import ClientError

from components.digests import build_tag
from tests.support import moto_iam
from tests.support.pulumi_cli import ROOT, PulumiError, PulumiProject, copy_program
from tests.test_ecr_tags import MANIFEST_TYPE, manifest

NO_SSH = ("--exclude", "**::app-teardown", "--exclude-dependents")
POLICIES = ("registry-admin", "deploy-dev", "deploy-prd", "preview", "host-pull")


@pytest.fixture(scope="module")
def keys(aws_iam_api, run_id) -> dict[str, dict]:
    endpoint, admin = aws_iam_api
    return {name: moto_iam.user_with_policy(endpoint, admin, name, run_id) for name in POLICIES}


class Program:
    """The program with its registry, dev and prd stacks, run with one policy's keys at a time."""

    def __init__(self, cli: PulumiProject, keys: dict[str, dict], endpoint: str, repository: str):
        self.cli, self.keys, self.endpoint, self.repository = cli, keys, endpoint, repository

    def as_user(self, policy: str) -> PulumiProject:
        self.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID"] = self.keys[policy]["AccessKeyId"]
        self.cli.environ["AWS_IAM_WHATSAPP_MINER_ACCESS_KEY"] = self.keys[policy]["SecretAccessKey"]
        return self.cli

    def ecr(self, policy: str):
        return moto_iam.client(self.endpoint, "ecr", self.keys[policy])

    def push(self, layer: str) -> str:
        """The end of dev's build push, through the ECR API with dev's keys: the manifest; its digest."""
        text, digest = manifest(layer)
        self.ecr("deploy-dev").put_image(repositoryName=self.repository, imageManifest=text, imageDigest=digest,
                                         imageManifestMediaType=MANIFEST_TYPE, imageTag=build_tag(digest))
        return digest

    def tags(self, digest: str) -> set[str]:
        images = self.ecr("preview").describe_images(repositoryName=self.repository,
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
    repositories = program.ecr("registry-admin").describe_repositories(repositoryNames=[program.repository])
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
    ecr = program.ecr("host-pull")
    assert ecr.get_authorization_token()["authorizationData"]
    images = ecr.batch_get_image(repositoryName=program.repository, imageIds=[{"imageDigest": digest}])
    assert [image["imageId"]["imageDigest"] for image in images["images"]] == [digest]


def test_a_preview_key_cannot_apply(program, dev, prd):
    program.cli.run("config", "set", "--stack", dev, "whatsapp-miner:imageDigest", program.push("iam image 2"))
    with pytest.raises(PulumiError) as refused:
        program.as_user("preview").up(dev, *NO_SSH)
    assert "not authorized to perform: ecr:PutImage" in str(refused.value)
    program.as_user("deploy-dev").up(dev, *NO_SSH)  # with its own keys it goes through


REFUSED = {  # one call outside each policy
    "registry-admin": ("put_image", "ecr:PutImage"),
    "deploy-dev": ("delete_repository", "ecr:DeleteRepository"),
    "deploy-prd": ("create_repository", "ecr:CreateRepository"),
    "host-pull": ("put_image", "ecr:PutImage"),
}


@pytest.mark.parametrize("policy", sorted(REFUSED))
def test_a_call_outside_the_policy_is_refused(program, registry, digest, policy):
    call, action = REFUSED[policy]
    arguments = {
        "put_image": {"repositoryName": program.repository, "imageTag": "not-allowed",
                      "imageManifest": manifest("refused")[0], "imageManifestMediaType": MANIFEST_TYPE},
        "delete_repository": {"repositoryName": program.repository, "force": True},
        "create_repository": {"repositoryName": f"{program.repository}-other"},
    }[call]
    with pytest.raises(ClientError) as refused:
        getattr(program.ecr(policy), call)(**arguments)
    assert f"not authorized to perform: {action}" in str(refused.value)
    assert action not in actions(moto_iam.policy(policy))


def actions(document: dict) -> set[str]:
    return {action for statement in document["Statement"]
            for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])}
