"""The cloud-config a provisioned host boots with: a pure function.

cloud-init installs Docker and the ECR credential helper from the Amazon
Linux 2023 repositories, creates the deploy user with its authorized key,
installs the stack's ed25519 host key (so the program can pin it before the
first connection), and runs host/host-provision for the rest. It runs
once per instance: the program ignores later changes to it (docs/target-host.md,
"A provisioned host").
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

HOST_PROVISION = Path(__file__).resolve().parents[3] / "host" / "host-provision"
HOST_PROVISION_PATH = "/usr/local/sbin/whatsapp-miner-host-provision"
PACKAGES = ("docker", "amazon-ecr-credential-helper", "jq")  # jq: host-deploy reads compose's JSON

# The compose v2 plugin, pinned. The digests were not downloaded here (GitHub
# is out of reach); they are the ones two independent records of the v2.39.2
# release agree on: periareon/rules_docker_compose
# docker_compose/private/versions.bzl (generated from the release assets,
# commit 63f1b825) and docker-library's `docker` image Dockerfile.
COMPOSE_VERSION = "v2.39.2"
COMPOSE_SHA256 = {
    "x86_64": "a55a8cd4ef103aac282812554e531aac8df7e914a287ee81e14d695556a22902",
    "aarch64": "54488fffb60782f3c8787a48b95ed15f49f5a3a85f4105304bd46db5edd9db61",
}


def compose_url(architecture: str) -> str:
    return f"https://github.com/docker/compose/releases/download/{COMPOSE_VERSION}/docker-compose-linux-{architecture}"


@dataclass(frozen=True)
class HostConfig:
    user: str
    """The deploy user (sshUser): SSH login, docker group, credential helper."""
    authorized_key: str
    """Its public key, from the deploy's SSH private key."""
    host_key_private: str
    """The stack's ed25519 host key (OpenSSH format)."""
    host_key_public: str
    """Its public half, which the program pins (`ssh-ed25519 AAAA...`)."""
    registry: str
    """ECR registry host the credential helper answers for."""
    architecture: str
    """`x86_64` or `aarch64`: which compose binary."""


def render(host: HostConfig) -> str:
    """The user-data document (`#cloud-config`)."""
    config = {
        "users": [{
            "name": host.user,
            "lock_passwd": True,
            "shell": "/bin/bash",
            "ssh_authorized_keys": [host.authorized_key],
        }],
        "disable_root": True,
        "ssh_pwauth": False,
        # Only the stack's host key (cloud-init generates none when given
        # ssh_keys): the program pins it in every connection.
        "ssh_deletekeys": True,
        "ssh_keys": {"ed25519_private": host.host_key_private, "ed25519_public": host.host_key_public},
        "packages": list(PACKAGES),
        "write_files": [{
            "path": HOST_PROVISION_PATH,
            "permissions": "0700",
            "content": HOST_PROVISION.read_text(),
        }],
        # Exec form: no shell parses these arguments.
        "runcmd": [[
            HOST_PROVISION_PATH,
            "--user", host.user,
            "--registry", host.registry,
            "--compose-url", compose_url(host.architecture),
            "--compose-sha256", COMPOSE_SHA256[host.architecture],
        ]],
    }
    return "#cloud-config\n" + yaml.dump(config, Dumper=_Dumper, sort_keys=False, width=1000)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the script, the host key) as readable literal blocks."""


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))
