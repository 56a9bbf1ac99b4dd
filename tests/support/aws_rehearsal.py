"""What the AWS rehearsals share: one program copy, its registry stack on moto,
and images pushed to moto's ECR as manifests (no Docker engine needed)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import boto3

from components.digests import build_tag
from tests.support.pulumi_cli import ROOT, PulumiProject, copy_program
from tests.test_ecr_tags import MANIFEST_TYPE, manifest

TOKEN = "aws-rehearsal token"
EXCLUDE_SSH = ("--exclude", "**::host-cloud-init", "--exclude-dependents")
# An ecs stack without the wait for its rollout (moto's tasks never start).
EXCLUDE_VERIFY = ("--exclude", "**::app-verify")
# A stack that provisions its host (no stack file: one would have to load with any deploy key).
HOST_CONFIG = {
    "whatsapp-miner:target": "ec2",
    "whatsapp-miner:provisionHost": "true",
    "whatsapp-miner:hostSshCidrs": '["203.0.113.0/24"]',
    "whatsapp-miner:containerEnv": '["WHATSAPP_API_TOKEN"]',
}


@dataclass
class Aws:
    endpoint: str

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass
class World:
    aws: Aws
    cli: PulumiProject
    repository: str

    def push(self, layer: str) -> str:
        """What a build's `docker push` leaves in the shared repository: its digest."""
        text, digest = manifest(layer)
        self.aws.client("ecr").put_image(repositoryName=self.repository, imageManifest=text, imageDigest=digest,
                                         imageManifestMediaType=MANIFEST_TYPE, imageTag=build_tag(digest))
        return digest

    def user_data(self, instance_id: str) -> str:
        """The instance's user-data as moto holds it."""
        attribute = self.aws.client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
        return base64.b64decode(base64.b64decode(attribute["UserData"]["Value"])).decode()

    def stack(self, name: str, env_name: str, config: dict[str, str]) -> str:
        """Stack NAME with CONFIG on top of tests/rehearsal/Pulumi.NAME.yaml, when there is one."""
        stack_file = ROOT / "tests" / "rehearsal" / f"Pulumi.{name}.yaml"
        if stack_file.exists():
            shutil.copy(stack_file, self.cli.workdir / stack_file.name)
        self.cli.init(name, {"whatsapp-miner:environment": env_name, **config})
        return name


def network(ec2, name: str) -> tuple[list[str], str]:
    """Two subnets of moto's default VPC and a security group NAME-tasks for ecs tasks."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    # moto names a task's network interface only in a VPC with DNS hostnames (AWS's default VPCs have them).
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    group = ec2.create_security_group(GroupName=f"{name}-tasks", Description="tasks", VpcId=vpc)
    return [subnet["SubnetId"] for subnet in subnets[:2]], group["GroupId"]


def start_world(work: Path, endpoint: str, repository: str, env_names: list[str],
                revision: str | None = None) -> World:
    """A program copy in WORK (the working tree's, or REVISION's) whose registry stack on moto
    at ENDPOINT holds REPOSITORY, whose tags ENV_NAMES may move. The caller requests the
    `pulumi_cli` fixture."""
    key = work / "deploy_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cli = PulumiProject(copy_program(work / "program", revision), work / "state", environ={
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": "AKIAAWSREHEARSAL",
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": "aws-rehearsal-secret",
        "AWS_EC2_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "SSH_PRIVATE_KEY": key.read_text(),
        "WHATSAPP_API_TOKEN": TOKEN,
    })
    shutil.copy(ROOT / "Pulumi.registry.yaml", cli.workdir / "Pulumi.registry.yaml")
    cli.init("registry", {"whatsapp-miner:repositoryName": repository,
                          "whatsapp-miner:environmentTags": json.dumps(env_names)})
    cli.up("registry")
    return World(Aws(endpoint), cli, repository)
