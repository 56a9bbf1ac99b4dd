"""The IAM policies in docs/iam: one per purpose, each limited to the one
repository in its region (and the provisioned host's and the ecs target's to
this account's resources in the region), holding only the actions docs/iam.md's
table says someone calls (and the table holds no action the files do not);
the preview policy holds every read of the data sources a preview of any
stack invokes."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pytest

from components.targets.host.provisioned import AMI_ARCHITECTURES, AMI_PARAMETER, SSM_POLICY
from tests.support import docs
from tests.support.stack_shapes import run_every_shape

ROOT = Path(__file__).resolve().parent.parent
POLICIES = {path.stem: json.loads(path.read_text()) for path in sorted((ROOT / "docs" / "iam").glob("*.json"))}
REPOSITORY = "arn:aws:ecr:REGION:ACCOUNT_ID:repository/whatsapp-miner"
LAYER_UPLOAD = {"ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"}
# AWS accepts only `*` as the resource of these; all but GetAuthorizationToken are held to the
# region by a condition. (Service Authorization Reference: these actions list no resource type;
# DescribeVpcAttribute and DescribeInstanceAttribute have one, so they are not among them. ECS
# ListTasks is scoped by its `ecs:cluster` condition.)
STAR_ONLY = {"ecr:GetAuthorizationToken", "kms:CreateKey", "ec2:DescribeVpcs", "ec2:DescribeRouteTables",
             "ec2:DescribeSubnets", "ec2:DescribeImages", "ec2:DescribeInstances", "ec2:DescribeInstanceTypes",
             "ec2:DescribeInstanceCreditSpecifications", "ec2:DescribeVolumes", "ec2:DescribeTags",
             "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces", "ec2:DescribeAddresses",
             "ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:DeregisterTaskDefinition",
             "ecs:ListTasks", "ssm:DescribeParameters"}
TARGET_POLICIES = ("provision-host", "deploy-ecs")
# What the target policies' ARNs may name: this account's resources in REGION (IAM's have no
# region; public AMIs and parameters no account).
OWN_ARN = re.compile(r"arn:aws:(iam::ACCOUNT_ID|[a-z0-9]+:REGION:ACCOUNT_ID|ec2:REGION:|ssm:REGION:):\S+")
# The AWS calls of each data source's read in terraform-provider-aws (which pulumi-aws wraps),
# as IAM actions (Service Authorization Reference: each API call is the action of its name).
DATA_SOURCE_READS = {
    # internal/service/ecr/authorization_token_data_source.go: GetAuthorizationToken
    "aws:ecr/getAuthorizationToken:getAuthorizationToken": {"ecr:GetAuthorizationToken"},
    # internal/service/ec2/vpc_data_source.go: DescribeVpcs, DescribeVpcAttribute (three attributes),
    # DescribeRouteTables (the main route table; a refusal is only logged)
    "aws:ec2/getVpc:getVpc": {"ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeRouteTables"},
    # internal/service/ec2/vpc_subnet_data_source.go: DescribeSubnets
    "aws:ec2/getSubnet:getSubnet": {"ec2:DescribeSubnets"},
    # internal/service/ssm/parameter_data_source.go: GetParameter
    "aws:ssm/getParameter:getParameter": {"ssm:GetParameter"},
}
# docs/iam.md "Actions" rows: | `service:Action` | policy, policy | who calls it, and why |
ACTION = re.compile(r"`(\w+:\w+)`")


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def statements(name: str):
    return POLICIES[name]["Statement"]


def actions(name: str) -> set[str]:
    return {action for statement in statements(name) for action in listed(statement["Action"])}


def is_read_only(action: str) -> bool:
    return action.split(":")[1].startswith(("Get", "Describe", "List", "BatchGet", "BatchCheck"))


def test_the_purposes_have_a_policy_each():
    assert set(POLICIES) == {"registry-admin", "deploy-dev", "deploy-prd", "preview", "host-pull",
                             "provision-host", "deploy-ecs"}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_no_action_is_a_wildcard(name):
    for action in actions(name):
        assert "*" not in action, f"{name}: {action}"


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_ecr_and_kms_statements_name_exactly_the_repository_or_the_key(name):
    for statement in statements(name):
        granted = listed(statement["Action"])
        if statement["Resource"] == "*":
            assert set(granted) <= STAR_ONLY, f"{name}/{statement['Sid']}: `*` for {granted}"
            if granted != ["ecr:GetAuthorizationToken"]:
                assert statement["Condition"]["StringEquals"] == {"aws:RequestedRegion": "REGION"}
        elif any(action.startswith("ecr:") for action in granted):
            assert statement["Resource"] == REPOSITORY, f"{name}/{statement['Sid']}"
        elif any(action.startswith("kms:") for action in granted):
            assert statement["Resource"] == "KMS_KEY_ARN", f"{name}/{statement['Sid']}"


@pytest.mark.parametrize("name", TARGET_POLICIES)
def test_the_target_policies_name_only_this_accounts_resources_in_the_region(name):
    for statement in statements(name):
        for resource in listed(statement["Resource"]):
            assert resource == "*" or OWN_ARN.fullmatch(resource), f"{name}/{statement['Sid']}: {resource}"


def passes(name: str) -> list[dict]:
    return [s for s in statements(name) if "iam:PassRole" in listed(s["Action"])]


def test_the_host_passes_only_its_role_and_ecs_only_its_roles_to_ecs_tasks():
    assert [s["Resource"] for s in passes("provision-host")] == ["arn:aws:iam::ACCOUNT_ID:role/host-role-*"]
    [ecs] = passes("deploy-ecs")
    assert ecs["Resource"] == [f"arn:aws:iam::ACCOUNT_ID:role/app-{role}-*" for role in ("execution", "task")]
    assert ecs["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_a_provisioned_host_may_attach_only_the_ssm_policy():
    [statement] = [s for s in statements("provision-host") if "iam:AttachRolePolicy" in listed(s["Action"])]
    assert statement["Condition"] == {"ArnEquals": {"iam:PolicyARN": SSM_POLICY}}


def test_the_docs_say_which_policies_each_kind_of_stack_attaches():
    attached = {stack: names.split(", ") for stack, names in docs.table_rows("iam.md", "Who attaches what")}
    assert set().union(*attached.values()) == set(POLICIES)
    for target in TARGET_POLICIES:  # always beside its environment's deploy policy
        assert sorted(names for names in attached.values() if target in names) == \
            [["deploy-dev", target], ["deploy-prd", target]]


def test_prd_moves_a_tag_and_can_upload_no_layer():
    assert not actions("deploy-prd") & LAYER_UPLOAD
    assert {"ecr:BatchGetImage", "ecr:PutImage", "ecr:DescribeImages"} <= actions("deploy-prd")


@pytest.mark.parametrize("name", ["preview", "host-pull"])
def test_previews_and_hosts_only_read(name):
    assert all(is_read_only(action) for action in actions(name)), sorted(actions(name))


@pytest.mark.parametrize(
    ("name", "stack"), [("deploy-dev", "dev"), ("deploy-prd", "prd"), ("registry-admin", "registry")]
)
def test_each_apply_writes_only_its_own_stacks_state(name, stack):
    writes = [s for s in statements(name) if {"s3:PutObject", "s3:DeleteObject"} & set(listed(s["Action"]))]
    assert writes
    for statement in writes:
        assert listed(statement["Resource"]) == [f"arn:aws:s3:::STATE_BUCKET/.pulumi/*/whatsapp-miner/{stack}*"]


def test_every_action_of_every_policy_is_a_docs_row_saying_who_calls_it():
    rows = {}
    for action, names, why in docs.table_rows("iam.md", "Actions"):
        assert ACTION.fullmatch(action) and why, (action, names, why)
        rows[ACTION.fullmatch(action)[1]] = {name.strip() for name in names.split(",")}
    assert rows, "docs/iam.md has no IAM action table"
    assert set().union(*rows.values()) == set(POLICIES)
    for name in POLICIES:
        assert actions(name) == {action for action, names in rows.items() if name in names}, name


def test_the_docs_point_at_the_policy_files_and_at_no_other():
    assert set(re.findall(r"docs/iam/([\w-]+)\.json", docs.text("iam.md"))) == set(POLICIES)
    for page in docs.pages():
        assert set(re.findall(r"docs/iam/([\w-]+)\.json", docs.text(page))) <= set(POLICIES), page
        assert not docs.mentions(page, "iam-deploy-policy.json"), page


@pytest.fixture(scope="module")
def previews(tmp_path_factory):
    return run_every_shape(tmp_path_factory.mktemp("deploy-key"), preview=True)


def test_the_preview_policy_holds_every_read_of_the_data_sources_a_preview_invokes(previews):
    invoked = {token for run in previews.values() for token, _ in run.invokes}
    assert "aws:ssm/getParameter:getParameter" in invoked  # the shapes include a provisioned host
    unmapped = invoked - set(DATA_SOURCE_READS)
    assert not unmapped, f"look up the AWS calls of these data sources' reads: {sorted(unmapped)}"
    for token in invoked:
        missing = DATA_SOURCE_READS[token] - actions("preview")
        assert not missing, f"docs/iam/preview.json: {token} needs {sorted(missing)}"


def test_the_preview_may_read_the_ami_parameters_and_no_other_parameter():
    [statement] = [s for s in statements("preview") if "ssm:GetParameter" in listed(s["Action"])]
    # Public parameters have no account in their ARN.
    for architecture in AMI_ARCHITECTURES.values():
        parameter = "arn:aws:ssm:REGION::parameter" + AMI_PARAMETER.format(architecture)
        assert fnmatch.fnmatchcase(parameter, statement["Resource"]), parameter
    assert statement["Resource"].startswith("arn:aws:ssm:REGION::parameter/aws/service/")
