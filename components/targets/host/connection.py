"""The target host: an EC2 instance reached over SSH."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pulumi
from pulumi_command import remote


@dataclass(frozen=True)
class SshSettings:
    """How to reach the host."""

    host: pulumi.Input[str] | None
    """None for a provisioned host until the program creates it."""
    port: int
    user: str
    private_key: pulumi.Output[str]
    host_key: pulumi.Input[str] | None
    dial_error_limit: int
    per_dial_timeout: int


def ssh_connection(ssh: SshSettings) -> remote.ConnectionArgs:
    """Connection with a bounded retry budget (a fresh host may still be
    booting) and the host key pinned when the stack config gives one."""
    return remote.ConnectionArgs(
        host=ssh.host,
        port=ssh.port,
        user=ssh.user,
        private_key=ssh.private_key,
        host_key=ssh.host_key,
        dial_error_limit=ssh.dial_error_limit,
        per_dial_timeout=ssh.per_dial_timeout,
    )


def connection_to(host: pulumi.Input[str], host_key: pulumi.Input[str],
                  login: remote.ConnectionArgs) -> remote.ConnectionArgs:
    """LOGIN's user, key and retries, to HOST with its HOST_KEY pinned."""
    connection = copy.copy(login)
    connection.host = host
    connection.host_key = host_key
    return connection
