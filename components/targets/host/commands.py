"""The exact shell text the program hands to a host: pure functions.

The components only place these into resources; the host tool does the
work. Every argument is shell-quoted, and no secret is ever an argument:
secrets travel on stdin.
"""

from __future__ import annotations

import shlex

# Their names beside the program and in the project directory on the host.
COMPOSE_FILE = "docker-compose.yml"
HOST_TOOL = "host-deploy"
ENV_FILE = ".env"
CREDENTIALS_FILE = ".deploy/aws-credentials"


def host_deploy(action: str, host_dir: str, project: str, **options: str | int) -> str:
    """`bash DIR/host-deploy ACTION --dir DIR --project NAME [--option value]...`."""
    argv = ["bash", f"{host_dir}/{HOST_TOOL}", action, "--dir", host_dir, "--project", project]
    for name, value in options.items():
        argv += [f"--{name}", str(value)]
    return shlex.join(argv)


def write_secret_file(path: str) -> str:
    """Write stdin to PATH whole (write, then rename), mode 0600 from the moment it exists."""
    target, partial = shlex.quote(path), shlex.quote(f"{path}.partial")
    parent = shlex.quote(path.rpartition("/")[0])
    return f"umask 077 && mkdir -p {parent} && cat > {partial} && mv -f {partial} {target}"


def write_env_file(host_dir: str) -> str:
    """The container .env, from stdin."""
    return write_secret_file(f"{host_dir}/{ENV_FILE}")


def write_credentials_file(host_dir: str) -> str:
    """The `export` lines of the forwarded AWS credentials, from stdin."""
    return write_secret_file(f"{host_dir}/{CREDENTIALS_FILE}")


def with_credentials_file(host_dir: str, command: str) -> str:
    """Run COMMAND with the forwarded AWS credentials exported."""
    return f". {shlex.quote(f'{host_dir}/{CREDENTIALS_FILE}')} && {command}"


def remove_credentials_file(host_dir: str) -> str:
    return f"rm -f {shlex.quote(f'{host_dir}/{CREDENTIALS_FILE}')}"


def claim_project(host_dir: str, project: str, owner: str) -> str:
    """Mark PROJECT in DIR as the teardown resource's, owned by the stack OWNER:
    host-deploy `down` then refuses a teardown from an older program version,
    and `deploy` refuses a project another stack runs (see host/host-deploy)."""
    state = shlex.quote(f"{host_dir}/.deploy")
    return f"mkdir -p {state} && printf '%s\\n' {shlex.quote(owner)} > {state}/{shlex.quote(f'teardown.{project}')}"


def teardown(host_dir: str, project: str, remove_data: bool) -> str:
    """Take the project down and remove the files the program put on the host;
    nothing to do when they were never put there."""
    tool = shlex.quote(f"{host_dir}/{HOST_TOOL}")
    flags = ("purge", "volumes", "from-stack") if remove_data else ("purge", "from-stack")
    down = host_deploy("down", host_dir, project) + "".join(f" --{flag}" for flag in flags)
    return f"if [ -f {tool} ]; then {down}; fi && {remove_credentials_file(host_dir)}"


def install_files(host_dir: str, *sources: str) -> str:
    """Copy SOURCES into DIR on this machine (the local target's CopyToRemote)."""
    quoted = " ".join(shlex.quote(source) for source in sources)
    return f"mkdir -p {shlex.quote(host_dir)} && cp {quoted} {shlex.quote(host_dir)}/"


def wait_for_cloud_init(timeout: int) -> str:
    """Wait at most TIMEOUT seconds for a provisioned host's first boot to
    finish; on failure say which step failed and what cloud-init reports."""
    log = "/var/log/cloud-init-output.log"
    return (
        f"timeout {timeout} cloud-init status --wait >/dev/null; status=$?; "
        'if [ "$status" -eq 0 ]; then exit 0; fi; '
        'if [ "$status" -eq 124 ]; then '
        f'echo "provisioned host: cloud-init did not finish within {timeout}s (step: wait for cloud-init)" >&2; '
        'else echo "provisioned host: cloud-init failed with exit $status (step: cloud-init)" >&2; fi; '
        f"cloud-init status --long >&2; tail -n 20 {log} >&2 2>/dev/null; exit 1"
    )
