"""The AWS half through the real engine: a stack that provisions its host, on moto.

The real CLI runs the real program as in tests/test_rehearsal.py; the aws
stand-in carries out every resource on moto, and each scenario is checked on
what moto then holds. Neither needs a Docker engine: the image is a manifest
put into moto's ECR and pinned by digest (`imageDigest`). What runs over SSH
on a provisioned host (the cloud-init wait, and the deploy, which depends on
it) is left out with `--exclude ... --exclude-dependents`; the deploy over
SSH is tests/test_rehearsal.py's, and on a provisioned host, through the address
its instance outputs, tests/test_rehearsal_provisioned.py's. tests/test_rehearsal_ecs.py
does the same for an ecs stack.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.aws_rehearsal import EXCLUDE_SSH, HOST_CONFIG, Aws, World, start_world

POLICY_PACK = Path(__file__).resolve().parent.parent / "policy"


@pytest.fixture(scope="module")
def env_name(run_id) -> str:
    return f"h-{run_id}"


@pytest.fixture(scope="module")
def world(tmp_path_factory, aws_api, env_name, pulumi_cli) -> World:
    # The registry stack stays, as in production: its repository holds images.
    return start_world(tmp_path_factory.mktemp("aws-host"), aws_api, f"whatsapp-miner-{env_name}", [env_name])


def changes(world: World, stack: str, *args: str) -> dict[str, str]:
    return world.cli.up_changes(stack, *args)


# -- a provisioned host --------------------------------------------------------------------------

@dataclass
class Host:
    stack: str
    env_name: str
    outputs: dict

    def instance(self, aws: Aws) -> dict:
        reservations = aws.client("ec2").describe_instances(InstanceIds=[self.outputs["instanceId"]])
        return reservations["Reservations"][0]["Instances"][0]

    def firewall(self, aws: Aws) -> dict:
        # From the network interface: moto leaves the instance's own list empty when the
        # groups came with a network interface spec (AWS fills both).
        group = self.instance(aws)["NetworkInterfaces"][0]["Groups"][0]["GroupId"]
        return aws.client("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0]


@pytest.fixture(scope="module")
def host(world, env_name) -> Host:
    stack = world.stack("aws-host", env_name, {**HOST_CONFIG, "whatsapp-miner:imageDigest": world.push("host image 1")})
    world.cli.up(stack, *EXCLUDE_SSH)
    yield Host(stack, env_name, world.cli.outputs(stack))
    world.cli.run("destroy", "--stack", stack, "--yes", "--skip-preview", "--exclude-protected")


def ssh_rule_cidrs(group: dict) -> list[str]:
    return [r["CidrIp"] for rule in group["IpPermissions"] for r in rule["IpRanges"]]


def test_the_provisioned_host_is_created_as_declared(world, host):
    instance = host.instance(world.aws)
    assert instance["State"]["Name"] == "running"
    assert instance["PublicIpAddress"] == host.outputs["publicIp"]
    assert instance["InstanceType"] == "t3.small"
    assert {tag["Key"]: tag["Value"] for tag in instance["Tags"]} == {"Name": f"whatsapp-miner-{host.env_name}"}
    metadata = instance["MetadataOptions"]
    assert (metadata["HttpTokens"], metadata["HttpPutResponseHopLimit"], metadata["HttpEndpoint"]) == \
        ("required", 1, "enabled")
    root = [d for d in instance["BlockDeviceMappings"] if d["DeviceName"] == instance["RootDeviceName"]]
    volume = world.aws.client("ec2").describe_volumes(VolumeIds=[root[0]["Ebs"]["VolumeId"]])["Volumes"][0]
    assert (volume["VolumeType"], volume["Encrypted"], volume["Size"]) == ("gp3", True, 20)


def test_the_host_takes_ssh_from_the_stack_cidrs_and_sends_only_https(world, host):
    group = host.firewall(world.aws)
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in group["IpPermissions"]] == [("tcp", 22, 22)]
    assert ssh_rule_cidrs(group) == ["203.0.113.0/24"]
    egress = group["IpPermissionsEgress"]
    assert [(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in egress] == [("tcp", 443, 443)]
    assert [r["CidrIp"] for r in egress[0]["IpRanges"]] == ["0.0.0.0/0"]
    assert [r["CidrIpv6"] for r in egress[0]["Ipv6Ranges"]] == ["::/0"]


def test_the_instance_role_may_only_pull_the_shared_repository(world, host):
    iam = world.aws.client("iam")
    profile_arn = host.instance(world.aws)["IamInstanceProfile"]["Arn"]
    profile = iam.get_instance_profile(InstanceProfileName=profile_arn.rsplit("/", 1)[1])["InstanceProfile"]
    (role,) = profile["Roles"]
    (policy_name,) = iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    assert iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"] == []
    document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=policy_name)["PolicyDocument"]
    repository_arn = world.cli.outputs("registry")["repositoryArn"]
    assert {(tuple(s["Action"]), s["Resource"]) for s in document["Statement"]} == {
        (("ecr:GetAuthorizationToken",), "*"),
        (("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"), repository_arn)}


def test_a_second_run_of_the_host_stack_changes_nothing(world, host):
    # The policy pack every CI preview runs (issue 22) passes on what the real engine plans.
    done = world.cli.preview(host.stack, "--expect-no-changes", "--policy-pack", str(POLICY_PACK), *EXCLUDE_SSH)
    assert "whatsapp-miner-guardrails" in done.stdout and "[mandatory]" not in done.stdout


def test_a_new_instance_type_updates_the_instance_in_place(world, host):
    world.cli.run("config", "set", "--stack", host.stack, "whatsapp-miner:hostInstanceType", "t3.medium")
    assert changes(world, host.stack, *EXCLUDE_SSH) == {"host-instance": "update"}
    instance = host.instance(world.aws)
    assert (instance["InstanceType"], instance["State"]["Name"]) == ("t3.medium", "running")


def test_new_ssh_cidrs_change_only_the_security_group_rules(world, host):
    group_id = host.firewall(world.aws)["GroupId"]
    world.cli.run("config", "set", "--stack", host.stack, "whatsapp-miner:hostSshCidrs", '["198.51.100.7/32"]')
    assert changes(world, host.stack, *EXCLUDE_SSH) == {"host-firewall": "update"}
    group = host.firewall(world.aws)
    assert group["GroupId"] == group_id
    assert ssh_rule_cidrs(group) == ["198.51.100.7/32"]


def test_a_new_image_moves_the_tags_and_leaves_the_host(world, host):
    digest = world.push("host image 2")
    world.cli.run("config", "set", "--stack", host.stack, "whatsapp-miner:imageDigest", digest)
    done = changes(world, host.stack, *EXCLUDE_SSH)
    assert done == {"app-tags": "replace"}
    image = world.aws.client("ecr").describe_images(repositoryName=world.repository,
                                                    imageIds=[{"imageTag": host.env_name}])
    assert image["imageDetails"][0]["imageDigest"] == digest


def user_data(world, host: Host) -> str:
    return world.user_data(host.outputs["instanceId"])


def test_a_rotated_deploy_key_reaches_a_replaced_host_only(world, host, tmp_path):
    """README, "What is applied once": user-data is ignored on the running host, and
    `--replace` of the instance applies it."""
    old_user_data = user_data(world, host)
    key = tmp_path / "rotated"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rotated", "-f", str(key)], check=True)
    world.cli.environ["SSH_PRIVATE_KEY"] = key.read_text()
    world.cli.preview(host.stack, "--expect-no-changes", *EXCLUDE_SSH)
    assert changes(world, host.stack, "--replace", world.cli.urn(host.stack, "host-instance"), *EXCLUDE_SSH) == \
        {"host-instance": "replace"}
    host.outputs = world.cli.outputs(host.stack)
    assert user_data(world, host) != old_user_data
    assert key.with_suffix(".pub").read_text().split()[1] in user_data(world, host)


def test_a_host_replaced_by_another_change_gets_the_current_user_data_too(world, host, tmp_path):
    """ignore_changes keeps the old user-data only while the instance stays: a replacement
    for another reason (here a new subnet, ForceNew) is created from the current inputs."""
    ec2 = world.aws.client("ec2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][-1]
    key = tmp_path / "rotated-again"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "again", "-f", str(key)], check=True)
    world.cli.environ["SSH_PRIVATE_KEY"] = key.read_text()
    world.cli.run("config", "set", "--stack", host.stack, "whatsapp-miner:hostSubnetId", subnet["SubnetId"])
    assert changes(world, host.stack, *EXCLUDE_SSH)["host-instance"] == "replace"
    host.outputs = world.cli.outputs(host.stack)
    assert host.instance(world.aws)["SubnetId"] == subnet["SubnetId"]
    assert key.with_suffix(".pub").read_text().split()[1] in user_data(world, host)


def test_an_address_changed_outside_pulumi_is_used_only_after_a_refresh(world, host):
    """README, "A provisioned host": the engine reads the instance only on refresh."""
    ec2 = world.aws.client("ec2")
    address = ec2.allocate_address(Domain="vpc")
    ec2.associate_address(AllocationId=address["AllocationId"], InstanceId=host.outputs["instanceId"])
    world.cli.preview(host.stack, "--expect-no-changes", *EXCLUDE_SSH)
    world.cli.up(host.stack, *EXCLUDE_SSH)
    assert world.cli.outputs(host.stack)["publicIp"] == host.outputs["publicIp"] != address["PublicIp"]
    world.cli.up(host.stack, "--refresh", *EXCLUDE_SSH)
    assert world.cli.outputs(host.stack)["publicIp"] == address["PublicIp"]


def test_firewall_rules_changed_outside_pulumi_are_put_back_by_a_refresh(world, host):
    """The security group is read on refresh (terraform-provider-aws resourceSecurityGroupRead):
    the SSH rule revoked and another source added outside Pulumi are seen and undone."""
    ec2, group = world.aws.client("ec2"), host.firewall(world.aws)
    (ssh,) = group["IpPermissions"]
    ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[ssh])
    ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "192.0.2.0/24"}]}])
    world.cli.preview(host.stack, "--expect-no-changes", *EXCLUDE_SSH)  # the state alone sees nothing
    assert world.cli.preview_changes(host.stack, "--refresh", *EXCLUDE_SSH) == {"host-firewall": "update"}
    world.cli.up(host.stack, "--refresh", *EXCLUDE_SSH)
    assert host.firewall(world.aws)["IpPermissions"] == [ssh]


def test_destroying_the_host_stack_terminates_the_instance_and_deletes_its_grants(world, host):
    instance, group = host.instance(world.aws), host.firewall(world.aws)
    iam = world.aws.client("iam")
    profile = instance["IamInstanceProfile"]["Arn"].rsplit("/", 1)[1]
    (role,) = iam.get_instance_profile(InstanceProfileName=profile)["InstanceProfile"]["Roles"]
    world.cli.destroy(host.stack)
    assert host.instance(world.aws)["State"]["Name"] == "terminated"
    assert world.aws.client("ec2").describe_security_groups(
        Filters=[{"Name": "group-id", "Values": [group["GroupId"]]}])["SecurityGroups"] == []
    assert profile not in [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]]
    assert role["RoleName"] not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
