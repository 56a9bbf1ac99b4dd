"""The rehearsal's stacks: a `registry` stack that owns the shared repository
and a `rehearsal` stack (tests/rehearsal/Pulumi.rehearsal.yaml) deploying to
a test-owned sshd host, both run through the real CLI from one program copy.
tests/test_rehearsal.py runs scenarios on them; tests/test_upgrade.py starts
them from an earlier version of the program.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import docker_env, sshd_host
from tests.support.pulumi_cli import ROOT, PulumiProject

API_TOKEN = 'p@ss word # not a comment, $HOME stays, "quoted"'
GREETING = "it's here"
AWS_KEY_ID = "AKIAREHEARSAL"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYREHEARSAL"


@dataclass
class Stack:
    """One stack of a program copy, run again and again through the CLI."""

    cli: PulumiProject
    name: str
    host_dir: Path
    project: str
    engine: dict[str, str] = field(default_factory=docker_env.host_env)
    """Where its containers run: the test host's engine, or this machine's for `local` ({})."""

    def up(self) -> dict:
        self.cli.up(self.name)
        return self.cli.outputs(self.name)

    def host_deploy(self, action: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", str(self.host_dir / "host-deploy"), action, "--dir", str(self.host_dir),
             "--project", self.project], capture_output=True, text=True, check=False, timeout=300,
            env={**os.environ, **self.engine},
        )

    def status(self) -> dict:
        done = self.host_deploy("status")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.splitlines()[-1])

    def audit_lines(self) -> int:
        audit = self.host_dir / ".deploy" / "audit.log"
        return len(audit.read_text().splitlines()) if audit.exists() else 0

    def containers(self) -> dict[str, str]:
        return project_containers(self.project, self.engine)

    def edit_app(self, path: str, old: str, new: str) -> None:
        source = self.cli.workdir / path
        text = source.read_text()
        assert old in text
        source.write_text(text.replace(old, new))


def project_containers(project: str, engine: dict[str, str]) -> dict[str, str]:
    listing = docker_env.run("docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                             "--format", '{{.Label "com.docker.compose.service"}} {{.ID}}',
                             env={**os.environ, **engine})
    return dict(line.split() for line in listing.stdout.splitlines())


def start_stacks(program: Path, work: Path, env_name: str, moto: str, ssh_host: sshd_host.SshHost,
                 python_base: str) -> Stack:
    """`registry` up (its repository named after ENV_NAME) and `rehearsal` initialised, for PROGRAM."""
    host_dir = work / "host" / env_name
    cli = PulumiProject(program, work / "state", environ={
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": f'"{AWS_KEY_ID}"',
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": f"'{AWS_SECRET}'",
        "AWS_EC2_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto,  # for the aws stand-in
        "SSH_PRIVATE_KEY": ssh_host.private_key,
        "WHATSAPP_API_TOKEN": API_TOKEN,
        "GREETING": GREETING,
    })
    # The shared repository first, as in production: the registry stack owns it.
    shutil.copy(ROOT / "Pulumi.registry.yaml", cli.workdir / "Pulumi.registry.yaml")
    cli.init("registry", {"whatsapp-miner:repositoryName": f"whatsapp-miner-{env_name}",
                          "whatsapp-miner:environmentTags": json.dumps([env_name, f"{env_name}-prd"])})
    cli.up("registry")
    shutil.copy(ROOT / "tests" / "rehearsal" / "Pulumi.rehearsal.yaml", cli.workdir / "Pulumi.rehearsal.yaml")
    cli.init("rehearsal", sshd_host.stack_config(ssh_host, python_base, env_name, host_dir))
    return Stack(cli, "rehearsal", host_dir, f"whatsapp-miner-{env_name}")
