"""Where an environment stack deploys: one value of one of four kinds.

The settings reader picks the kind from the stack's config (`target`,
`provisionHost`); `__main__.py` matches on it once. Each kind holds only what
its own deployment needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pulumi

from components.targets.ecs import compose_to_ecs


@dataclass(frozen=True)
class SshSettings:
    """How to reach the EC2 host."""

    host: pulumi.Input[str] | None
    """None for a provisioned host until the program creates it."""
    port: int
    user: str
    private_key: pulumi.Output[str]
    host_key: pulumi.Input[str] | None
    dial_error_limit: int
    per_dial_timeout: int


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
    instance_type: str
    architecture: str
    """`x86_64` or `aarch64`, from `platform`."""
    subnet_id: str | None
    """None: the default VPC's default subnet."""
    ssh_cidrs: tuple[str, ...]
    """Where SSH may come from; never the world unless the stack says so."""
    elastic_ip: bool
    ssm: bool
    """Whether the instance role may be used by SSM Session Manager."""
    volume_gb: int
    cloud_init_timeout: int
    """Seconds the first deploy waits for the host's cloud-init."""
    authorized_key: str
    """The deploy user's public key, derived from the SSH private key."""
    creates_aws_resources: ClassVar[bool] = True


@dataclass(frozen=True)
class LocalDocker:
    """`target: local`: this machine's Docker."""

    creates_aws_resources: ClassVar[bool] = False


@dataclass(frozen=True)
class Ecs:
    """`target: ecs`: Fargate; its services come from the compose file."""

    app: compose_to_ecs.ComposeApp
    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: bool
    desired_counts: dict[str, int]
    """Tasks per compose service."""
    cpu: int
    memory: int
    log_retention_days: int
    migrate_timeout: int
    rollout_timeout: int
    creates_aws_resources: ClassVar[bool] = True


Target = SshHost | ProvisionedHost | LocalDocker | Ecs
