"""The exact shell text the program hands to a host: pure functions.

The components only place these into resources; the host tool does the
work. Every argument is shell-quoted, and no secret is ever an argument:
secrets travel on stdin.
"""

from __future__ import annotations

import shlex

COMPOSE_FILE = "docker-compose.yml"
HOST_TOOL = "host-deploy"
ENV_FILE = ".env"


def host_deploy(action: str, host_dir: str, project: str, **options: str | int) -> str:
    """`bash DIR/host-deploy ACTION --dir DIR --project NAME [--option value]...`."""
    argv = ["bash", f"{host_dir}/{HOST_TOOL}", action, "--dir", host_dir, "--project", project]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    return shlex.join(argv)


def write_env_file(host_dir: str) -> str:
    """Write stdin to DIR/.env, mode 0600 from the moment it exists."""
    target = shlex.quote(f"{host_dir}/{ENV_FILE}")
    partial = shlex.quote(f"{host_dir}/{ENV_FILE}.partial")
    return f"umask 077 && mkdir -p {shlex.quote(host_dir)} && cat > {partial} && mv -f {partial} {target}"


def with_exports_from_stdin(command: str) -> str:
    """Run COMMAND with the `export` lines read from stdin (credentials)."""
    return f'eval "$(cat)" && {command}'


def install_files(host_dir: str, *sources: str) -> str:
    """Copy SOURCES into DIR on this machine (the local target's CopyToRemote)."""
    quoted = " ".join(shlex.quote(source) for source in sources)
    return f"mkdir -p {shlex.quote(host_dir)} && cp {quoted} {shlex.quote(host_dir)}/"
