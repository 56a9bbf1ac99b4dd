"""The target host: an existing EC2 instance reached over SSH."""

from __future__ import annotations

from pulumi_command import remote

from components.settings import SshSettings


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
