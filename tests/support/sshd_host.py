"""A test-owned SSH host on loopback, and a Python base image from Debian.

sshd runs with a stock AcceptEnv (LANG, LC_*) and throwaway keys, so the
program's remote commands meet what an EC2 host would give them.
"""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import docker_env, tiers

ROOT = Path(__file__).resolve().parents[2]
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
PYTHON_BASE = "whatsapp-miner-test-python:bookworm"
DEBIAN_MIRROR = os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")


@dataclass
class SshHost:
    port: int
    user: str
    private_key: str
    host_key: str
    process: subprocess.Popen
    workdir: Path

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _keygen(path: Path) -> None:
    docker_env.run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "whatsapp-miner-test", "-f", str(path))


def start_sshd(workdir: Path, session_env: dict[str, str] | None = None) -> SshHost:
    """sshd on a free loopback port, accepting one throwaway client key.
    SESSION_ENV is the host's own environment for every session (SetEnv)."""
    tiers.refuse_in_fast_tier("sshd", tiers.SERVICES)
    if not SSHD.exists():
        raise RuntimeError(f"{SSHD} is missing: apt-get install openssh-server (scripts/setup does)")
    _keygen(workdir / "host_key")
    _keygen(workdir / "client_key")
    (workdir / "authorized_keys").write_text((workdir / "client_key.pub").read_text())
    port = _free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {workdir / 'host_key'}\n"
        f"PidFile {workdir / 'sshd.pid'}\nAuthorizedKeysFile {workdir / 'authorized_keys'}\n"
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
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if process.poll() is not None:
            raise RuntimeError(f"sshd exited: {(workdir / 'sshd.log').read_text()}")
        time.sleep(0.2)
    host_key = " ".join((workdir / "host_key.pub").read_text().split()[:2])
    return SshHost(port, getpass.getuser(), (workdir / "client_key").read_text(), host_key, process, workdir)


def start_rehearsal_host(workdir: Path, moto: str) -> SshHost:
    """The host the rehearsal's stacks deploy to: sshd whose sessions have
    where AWS is (moto), the AWS CLI for host-deploy's ECR login, the test
    host's own Docker engine (which holds only what it pulled) and a Docker
    config of its own, with compose v2 and no login in it."""
    return start_sshd(workdir, session_env={
        **docker_env.host_env(workdir / "docker-config"),
        "AWS_ENDPOINT_URL": moto,
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    })


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
