"""Every name, description and tag that a stack of each shape sends to AWS is one
AWS accepts (tests/support/aws_input_rules.py), as the resource would get it:
a name the program leaves to Pulumi is the logical name plus Pulumi's suffix."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.support import aws_input_rules as rules
from tests.support.pulumi_program import ACCOUNT, ProgramRun, Registration
from tests.support.stack_shapes import SHAPES

Values = Callable[[Registration], list[str]]


def autonamed(key: str) -> Values:
    """The value the program gives, or the one Pulumi generates from the logical name."""
    return lambda registration: [registration.inputs.get(key) or registration.name + rules.AUTONAME_SUFFIX]


name = autonamed("name")


def field(key: str) -> Values:
    return lambda registration: [registration.inputs[key]] if key in registration.inputs else []


def rule_descriptions(registration: Registration) -> list[str]:
    return [rule["description"] for direction in ("ingress", "egress")
            for rule in registration.inputs.get(direction, []) if "description" in rule]


def container_names(registration: Registration) -> list[str]:
    return [container["name"] for container in json.loads(registration.inputs["containerDefinitions"])]


def checks(region: str) -> dict[str, list[tuple[str, Values, rules.Rule]]]:
    """What AWS checks, by resource type; tags are checked for every type."""
    return {
        "aws:ec2/securityGroup:SecurityGroup": [
            ("name", name, rules.SECURITY_GROUP_NAME),
            ("description", field("description"), rules.SECURITY_GROUP_DESCRIPTION),
            ("rule description", rule_descriptions, rules.SECURITY_GROUP_RULE_DESCRIPTION),
        ],
        "aws:iam/role:Role": [("name", name, rules.ROLE_NAME)],
        "aws:iam/rolePolicy:RolePolicy": [("name", name, rules.ROLE_POLICY_NAME)],
        "aws:iam/instanceProfile:InstanceProfile": [("name", name, rules.INSTANCE_PROFILE_NAME)],
        "aws:ecs/cluster:Cluster": [("name", name, rules.CLUSTER_NAME)],
        "aws:ecs/service:Service": [("name", name, rules.SERVICE_NAME)],
        "aws:ecs/taskDefinition:TaskDefinition": [
            ("family", field("family"), rules.TASK_FAMILY),
            ("container name", container_names, rules.CONTAINER_NAME),
        ],
        "aws:cloudwatch/logGroup:LogGroup": [("name", name, rules.LOG_GROUP_NAME)],
        "aws:ssm/parameter:Parameter": [("name", name, rules.ssm_parameter_name(region, ACCOUNT))],
        "aws:ecr/repository:Repository": [("name", name, rules.ECR_REPOSITORY_NAME)],
        "aws:kms/key:Key": [("description", field("description"), rules.KMS_KEY_DESCRIPTION)],
        # pulumi-aws autonames the token (provider/resources.go, aws_efs_file_system).
        "aws:efs/fileSystem:FileSystem": [("creation token", autonamed("creationToken"), rules.EFS_CREATION_TOKEN)],
        # No name or description of their own.
        "aws:ec2/instance:Instance": [],
        "aws:ec2/eip:Eip": [],
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": [],
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": [],
        "aws:efs/mountTarget:MountTarget": [],
        "aws:efs/accessPoint:AccessPoint": [],
    }


def tag_checks(registration: Registration) -> list[tuple[str, str, rules.Rule]]:
    key_rule = rules.EC2_TAG_KEY if registration.type.startswith("aws:ec2/") else rules.TAG_KEY
    tags = registration.inputs.get("tags", {})
    return [*((f"tag key {key!r}", key, key_rule) for key in tags),
            *((f"tag {key!r}", value, rules.TAG_VALUE) for key, value in tags.items())]


def refusals(run: ProgramRun) -> list[str]:
    """`resource: what: value: why AWS refuses it` for each value AWS would refuse."""
    regions = {provider.urn: provider.inputs["region"] for provider in run.of_type("pulumi:providers:aws")}
    found = []
    for registration in run.registrations:
        if not registration.type.startswith("aws:"):
            continue
        # A provider reference is `urn::id`.
        by_type = checks(regions[registration.provider.rpartition("::")[0]])
        checked = [(what, value, rule) for what, values, rule in by_type.get(registration.type, [])
                   for value in values(registration)]
        for what, value, rule in [*checked, *tag_checks(registration)]:
            found += [f"{registration.name}: {what}: {value!r}: {problem}" for problem in rule(value)]
    return found


@pytest.mark.parametrize("shape", SHAPES)
def test_aws_accepts_every_name_description_and_tag_of_the_stack(every_shape, shape):
    assert refusals(every_shape[shape]) == []


def test_the_rules_cover_exactly_the_aws_resource_types_the_stacks_declare(every_shape):
    # A new resource type fails here until someone looks up what AWS checks of it.
    declared = {r.type for run in every_shape.values() for r in run.registrations if r.type.startswith("aws:")}
    assert declared == set(checks("eu-west-1"))


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        # The host's security group description until AWS's rule was checked here.
        (rules.SECURITY_GROUP_DESCRIPTION, "whatsapp-miner-dev: SSH from the stack's CIDRs, HTTPS out"),
        (rules.SECURITY_GROUP_NAME, "sg-firewall"),
        (rules.ROLE_NAME, "a" * 57 + rules.AUTONAME_SUFFIX),
        (rules.CLUSTER_NAME, "whatsapp.miner"),
        (rules.LOG_GROUP_NAME, "/ecs/whatsapp miner"),
        (rules.ssm_parameter_name("eu-west-1", ACCOUNT), "/aws/whatsapp-miner/TOKEN"),
        (rules.ssm_parameter_name("eu-west-1", ACCOUNT), "SSM-token"),
        (rules.ssm_parameter_name("eu-west-1", ACCOUNT), "/" + "a" * 1000),
        (rules.ECR_REPOSITORY_NAME, "WhatsApp-Miner"),
        (rules.EC2_TAG_KEY, "k" * 128),
        (rules.TAG_KEY, "aws:owner"),
        (rules.TAG_VALUE, "dev's host"),
    ],
)
def test_each_rule_refuses_what_aws_refuses(rule, value):
    assert rule(value)
