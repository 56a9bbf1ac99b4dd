"""A test-owned SSH host on loopback, and a Python base image from Debian.

sshd runs with a stock AcceptEnv (LANG, LC_*) and throwaway keys, so the
program's remote commands meet what an EC2 host would give them. A
provisioned host is made from its user-data instead: its deploy user, host
key and authorized key, sshd on the instance's address (added to `lo`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support import docker_env, tiers
from tests.support.pulumi_cli import PulumiProject

ROOT = Path(__file__).resolve().parents[2]
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
PYTHON_BASE = "whatsapp-miner-test-python:bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
HOST_PATH = f"{ROOT / '.venv' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
HOST_STANDINS = ROOT / "tests" / "standins" / "host-bin"  # what a provisioned host has and this machine lacks


@dataclass
class SshHost:
    port: int
    user: str
    private_key: str | None
    """The client key it accepts; None when it was given a host key."""
    host_key: str
    process: subprocess.Popen
    workdir: Path
    address: str

    def authorize_new_key(self) -> str:
        """Another client key the host accepts (a rotated SSH key); its private key."""
        path = self.workdir / f"client_key_{len(list(self.workdir.glob('client_key_*.pub'))) + 1}"
        _keygen(path)
        self.authorize(path.with_suffix(".pub"))
        return path.read_text()

    def authorize(self, public_key: Path) -> None:
        with (self.workdir / "authorized_keys").open("a") as authorized:
            authorized.write(public_key.read_text())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _free_port(address: str) -> int:
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]


def _keygen(path: Path) -> None:
    docker_env.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "whatsapp-miner-test", "-f", str(path))


def start_sshd(workdir: Path, session_env: dict[str, str] | None = None, *, address: str = "127.0.0.1",
               port: int | None = None, host_key: str | None = None) -> SshHost:
    """sshd on ADDRESS (a loopback address), PORT or a free one, accepting one
    throwaway client key; or with HOST_KEY (private, OpenSSH format), accepting
    what each user's own ~/.ssh/authorized_keys holds, as on an EC2 host.
    SESSION_ENV is the host's own environment for every session (SetEnv)."""
    tiers.refuse_in_fast_tier("sshd", tiers.SERVICES)
    if not SSHD.exists():
        raise RuntimeError(f"{SSHD} is missing: apt-get install openssh-server (scripts/setup does)")
    authorized_keys = ".ssh/authorized_keys"  # sshd's default, in the user's home
    if host_key is None:
        _keygen(workdir / "host_key")
        _keygen(workdir / "client_key")
        authorized_keys = str(workdir / "authorized_keys")
        Path(authorized_keys).write_text((workdir / "client_key.pub").read_text())
    else:
        (workdir / "host_key").touch(mode=0o600)
        (workdir / "host_key").write_text(host_key)
        public = docker_env.run("ssh-keygen", "-y", "-f", str(workdir / "host_key")).stdout
        (workdir / "host_key.pub").write_text(public)
    port = port or _free_port(address)
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {workdir / 'host_key'}\n"
        f"PidFile {workdir / 'sshd.pid'}\nAuthorizedKeysFile {authorized_keys}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\nAcceptEnv LANG LC_*\n"
        f"Subsystem sftp {SFTP_SERVER}\n"
        # One SetEnv line: sshd takes only the first (servconf.c, sSetEnv).
        + ("SetEnv " + " ".join(f'"{name}={value}"' for name, value in session_env.items()) + "\n"
           if session_env else "")
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    log = (workdir / "sshd.log").open("w")
    process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=log, stderr=log,
                               stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((address, port)) == 0:
                break
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(workdir / 'sshd.log').read_text()}")
        time.sleep(0.2)
    client_key = (workdir / "client_key").read_text() if host_key is None else None
    public_host_key = " ".join((workdir / "host_key.pub").read_text().split()[:2])
    return SshHost(port, getpass.getuser(), client_key, public_host_key, process, workdir, address)


def start_rehearsal_host(workdir: Path, moto: str) -> SshHost:
    """The host the rehearsal's stacks deploy to: sshd whose sessions have
    where AWS is (moto), the AWS CLI for host-deploy's ECR login, the test
    host's own Docker engine (which holds only what it pulled) and a Docker
    config of its own, with compose v2 and no login in it."""
    return start_sshd(workdir, session_env={
        **docker_env.host_env(workdir / "docker-config"),
        "AWS_ENDPOINT_URL": moto,
        "PATH": HOST_PATH,
    })


@contextlib.contextmanager
def provisioned_host(workdir: Path, ecr_api: str, address: str, user_data: str) -> Iterator[SshHost]:
    """The host an instance's USER_DATA (its cloud-config, as moto holds it) makes, while the block
    runs: sshd on the instance's ADDRESS, port 22, with the host key the user-data carries; what
    cloud-init's users module makes (the deploy user, its shell and authorized key, on this machine);
    and what host-provision leaves (the user in the docker group, its Docker config sending the
    stack's registry to the ECR credential helper, compose v2). Its sessions run on the test host's
    Docker engine. Standing in: for cloud-init, HOST_STANDINS; for the instance role, its
    credentials in the environment (the helper reads both through the AWS SDK's default chain);
    for ECR's API, moto over TLS (ECR_API, its CA bundle).
    The user's password is `*`, not cloud-init's locked `!`: sshd without PAM refuses a locked
    account even its keys; password logins are off either way."""
    config = yaml.safe_load(user_data)
    (user,) = config["users"]
    provision = config["runcmd"][0]
    registry = provision[provision.index("--registry") + 1]
    docker_env.run("useradd", "--create-home", "--shell", user["shell"], "--groups", "docker", "--password", "*",
                   user["name"])
    try:
        home = Path(pwd.getpwnam(user["name"]).pw_dir)
        _user_file(home / ".ssh" / "authorized_keys", "\n".join(user["ssh_authorized_keys"]) + "\n", user["name"])
        docker_config = home / ".docker"
        _user_file(docker_config / "config.json", json.dumps({"credHelpers": {registry: "ecr-login"}}), user["name"])
        # host-provision installs it for every user; here only this one gets it (the run's is in root's home).
        (docker_config / "cli-plugins").mkdir()
        shutil.copy(docker_env.compose_plugins() / "docker-compose", docker_config / "cli-plugins")
        with loopback_address(address):
            host = start_sshd(workdir, session_env={
                **docker_env.host_env(),
                "PATH": f"{HOST_STANDINS}:{HOST_PATH}",
                "AWS_CA_BUNDLE": ecr_api,
                **docker_env.INSTANCE_ROLE,
            }, address=address, port=22, host_key=config["ssh_keys"]["ed25519_private"])
            try:
                yield dataclasses.replace(host, user=user["name"])
            finally:
                host.stop()
    finally:
        docker_env.run("userdel", "--force", "--remove", user["name"])


def _user_file(path: Path, text: str, user: str) -> None:
    """PATH with TEXT, private to USER, as is its directory (one in the user's home)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    for owned in (path, path.parent):
        shutil.chown(owned, user, user)


@contextlib.contextmanager
def loopback_address(address: str) -> Iterator[None]:
    """ADDRESS answers on this machine (on `lo`) while the block runs: needs root and iproute2."""
    docker_env.run("ip", "address", "add", f"{address}/32", "dev", "lo")
    try:
        yield
    finally:
        docker_env.run("ip", "address", "del", f"{address}/32", "dev", "lo")


def host_status(cli: PulumiProject, stack: str, known_hosts: str) -> subprocess.CompletedProcess:
    """scripts/host-status on STACK, as the drift job runs it, pinning the host key with KNOWN_HOSTS."""
    env = {**cli.env(), "SSH_PRIVATE_KEY": cli.environ["SSH_PRIVATE_KEY"], "SSH_KNOWN_HOSTS": known_hosts}
    return subprocess.run(["bash", str(ROOT / "scripts" / "host-status"), stack], env=env,
                          cwd=cli.workdir, capture_output=True, text=True, check=False, timeout=120)


def stack_config(host: SshHost, python_base: str, env_name: str, host_dir: Path) -> dict[str, str]:
    """What a stack deploying to HOST needs that exists only at test time."""
    return {
        "whatsapp-miner:environment": env_name,
        "whatsapp-miner:sshPort": str(host.port),
        "whatsapp-miner:sshUser": host.user,
        "whatsapp-miner:sshHostKey": host.host_key,
        "whatsapp-miner:baseImage": python_base,
        "whatsapp-miner:hostDir": str(host_dir),
    }


def python_base_image(workdir: Path) -> str:
    """A Debian bookworm image with python3, made with debootstrap (once)."""
    if docker_env.run("docker", "image", "inspect", PYTHON_BASE, check=False).returncode == 0:
        return PYTHON_BASE
    rootfs = workdir / "rootfs"
    docker_env.run("debootstrap", "--variant=minbase", "--include=python3", "bookworm", str(rootfs), DEBIAN_MIRROR)
    archive = workdir / "rootfs.tar"
    docker_env.run("tar", "-C", str(rootfs), "-cf", str(archive), ".")
    docker_env.run("docker", "import", str(archive), PYTHON_BASE)
    return PYTHON_BASE
