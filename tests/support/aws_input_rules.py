"""AWS's own rules for names, descriptions and tags that the providers do not check.

Terraform (and so pulumi-aws) validates some of these only by length, or not
at all: a value that breaks one passes preview and fails at `up`, when AWS
answers. Each rule names the AWS API reference page and parameter it copies.
A rule returns what is wrong with a value, or nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

Rule = Callable[[str], list[str]]

AUTONAME_SUFFIX = "-" + "0" * 7
"""What Pulumi appends to the logical name of a resource the program does not name:
`-` and 7 random hex characters (pulumi-terraform-bridge, AutoName and FromName:
Separator "-", Randlen 7, hex when no charset is given)."""


@dataclass(frozen=True)
class Pattern:
    source: str
    """The AWS API reference page and parameter the rule comes from."""
    max_length: int
    allowed: str
    """A regular expression the whole value must match."""
    min_length: int = 1

    def __call__(self, value: str) -> list[str]:
        problems = []
        if not self.min_length <= len(value) <= self.max_length:
            problems.append(f"{len(value)} characters, not {self.min_length} to {self.max_length}")
        if not re.fullmatch(self.allowed, value):
            problems.append(f"does not match {self.allowed}")
        return [f"{problem} ({self.source})" for problem in problems]


def all_of(*rules: Rule) -> Rule:
    return lambda value: [problem for rule in rules for problem in rule(value)]


def refused_prefix(prefixes: tuple[str, ...], source: str, *, ignore_case: bool = False) -> Rule:
    def check(value: str) -> list[str]:
        start = value.lower() if ignore_case else value
        return [f"starts with {prefix!r} ({source})" for prefix in prefixes if start.startswith(prefix)]
    return check


# EC2's character set for security group names, descriptions and rule descriptions.
EC2_GROUP_TEXT = r"[a-zA-Z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*"
SECURITY_GROUP_DESCRIPTION = Pattern("EC2 API Reference, CreateSecurityGroup, GroupDescription", 255, EC2_GROUP_TEXT)
SECURITY_GROUP_NAME = all_of(
    Pattern("EC2 API Reference, CreateSecurityGroup, GroupName", 255, EC2_GROUP_TEXT),
    refused_prefix(("sg-",), "EC2 API Reference, CreateSecurityGroup, GroupName"),
)
# Inline rules reach EC2 as AuthorizeSecurityGroupIngress/Egress IpPermissions.
SECURITY_GROUP_RULE_DESCRIPTION = Pattern(
    "EC2 API Reference, IpRange / Ipv6Range / UserIdGroupPair, Description", 255, EC2_GROUP_TEXT, min_length=0)

IAM_NAME = r"[A-Za-z0-9_+=,.@-]+"  # AWS's `[\w+=,.@-]+`, where \w is ASCII only
ROLE_NAME = Pattern("IAM API Reference, CreateRole, RoleName", 64, IAM_NAME)
ROLE_POLICY_NAME = Pattern("IAM API Reference, PutRolePolicy, PolicyName", 128, IAM_NAME)
INSTANCE_PROFILE_NAME = Pattern("IAM API Reference, CreateInstanceProfile, InstanceProfileName", 128, IAM_NAME)

ECS_NAME = r"[A-Za-z0-9_-]+"
CLUSTER_NAME = Pattern("ECS API Reference, CreateCluster, clusterName", 255, ECS_NAME)
SERVICE_NAME = Pattern("ECS API Reference, CreateService, serviceName", 255, ECS_NAME)
TASK_FAMILY = Pattern("ECS API Reference, RegisterTaskDefinition, family", 255, ECS_NAME)
CONTAINER_NAME = Pattern("ECS API Reference, ContainerDefinition, name", 255, ECS_NAME)

LOG_GROUP_NAME = Pattern("CloudWatch Logs API Reference, CreateLogGroup, logGroupName", 512, r"[.\-_/#A-Za-z0-9]+")

ECR_REPOSITORY_NAME = Pattern("ECR API Reference, CreateRepository, repositoryName", 256,
                              r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*", min_length=2)

KMS_KEY_DESCRIPTION = Pattern("KMS API Reference, CreateKey, Description", 8192, r"[\s\S]*", min_length=0)

EFS_CREATION_TOKEN = Pattern("EFS API Reference, CreateFileSystem, CreationToken", 64, r".+")

SSM_SOURCE = "Systems Manager API Reference, PutParameter, Name"


def ssm_parameter_name(region: str, account: str) -> Rule:
    """AWS counts 1011 characters including the ARN before the name, so the region matters."""
    arn_prefix = f"arn:aws:ssm:{region}:{account}:parameter"

    def check(name: str) -> list[str]:
        problems = Pattern(SSM_SOURCE, 1011 - len(arn_prefix), r"[a-zA-Z0-9_.\-/]+")(name)
        problems += refused_prefix(("aws", "ssm"), SSM_SOURCE, ignore_case=True)(name.lstrip("/"))
        if name.count("/") > 15:
            problems.append(f"deeper than fifteen levels ({SSM_SOURCE})")
        return problems
    return check


TAG_SOURCE = "IAM API Reference, Tag, Key and Value; Tagging AWS Resources, tag naming limits and requirements"


def _tag_characters(value: str) -> list[str]:
    r"""AWS's [\p{L}\p{Z}\p{N}_.:/=+\-@]*: letters, separators, numbers and these symbols."""
    refused = "".join(sorted({c for c in value if unicodedata.category(c)[0] not in "LZN" and c not in "_.:/=+-@"}))
    return [f"characters {refused!r} outside letters, spaces, numbers and _.:/=+-@ ({TAG_SOURCE})"] if refused else []


TAG_KEY = all_of(Pattern(TAG_SOURCE, 128, r"[\s\S]+"), _tag_characters,
                 refused_prefix(("aws:",), TAG_SOURCE, ignore_case=True))
TAG_VALUE = all_of(Pattern(TAG_SOURCE, 256, r"[\s\S]*", min_length=0), _tag_characters)
# EC2 allows one character less in a key than the other services.
EC2_TAG_KEY = all_of(TAG_KEY, Pattern("EC2 API Reference, Tag, Key", 127, r"[\s\S]+"))
