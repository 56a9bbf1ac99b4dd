"""Where an environment stack deploys: one value of one of four kinds.

The settings reader picks the kind from the stack's config (`target`,
`provisionHost`); `__main__.py` matches on it once. Each kind holds only what
its own deployment needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from components.targets.ecs.deployment import EcsSpec
from components.targets.host.connection import SshSettings
from components.targets.host.provisioned import HostSpec


@dataclass(frozen=True)
class SshHost:
    """`target: ec2`: an existing host, reached over SSH."""

    ssh: SshSettings
    forward_aws_credentials: bool
    """ECR login on the host with the mapped credentials (`hostAwsCredentials: forwarded`)."""
    creates_aws_resources: ClassVar[bool] = False


@dataclass(frozen=True)
class ProvisionedHost:
    """`target: ec2` with `provisionHost: true`: the EC2 host this stack creates."""

    ssh: SshSettings
    """How the deploy logs in; no host or host key until the host exists."""
    spec: HostSpec
    creates_aws_resources: ClassVar[bool] = True


@dataclass(frozen=True)
class LocalDocker:
    """`target: local`: this machine's Docker."""

    creates_aws_resources: ClassVar[bool] = False


@dataclass(frozen=True)
class Ecs:
    """`target: ecs`: Fargate; its services come from the compose file."""

    spec: EcsSpec
    creates_aws_resources: ClassVar[bool] = True


Target = SshHost | ProvisionedHost | LocalDocker | Ecs
