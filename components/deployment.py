"""Compose files and .env to the host, deploy with host-deploy, teardown.

Target `ec2` runs everything over SSH with pulumi_command.remote; target
`local` runs the same commands on this machine with pulumi_command.local.
The known traps of pulumi-command shape this file:

- no `environment=` on remote commands (sshd refuses SSH setenv): values
  go on stdin, and `add_previous_output_in_env` is off;
- `triggers` replace a resource, creating the new one before deleting the
  old: nothing that triggers replace has a `delete`; teardown lives on its
  own resource whose inputs never change;
- inputs are only values that change when the deployment should (digest,
  file contents, .env), so a no-op `pulumi up` runs nothing on the host;
- a command whose stdin carries a secret logs nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import local, remote

from components import commands


@dataclass
class ComposeDeploymentArgs:
    image_ref: pulumi.Input[str]
    """Image to run: `repository@sha256:...` (or a local image ID)."""
    host_dir: str
    """Project directory on the host; one per environment."""
    project: str
    """Compose project name; carries the environment."""
    env_file: pulumi.Output[str]
    """Content of the container .env (secret)."""
    compose_file: Path
    host_tool: Path
    health_timeout: int
    keep_images: int
    connection: remote.ConnectionArgs | None = None
    """SSH connection for the ec2 target; None runs on this machine."""
    credentials_script: pulumi.Output[str] | None = None
    """`export` lines with AWS credentials for ECR login on the host (secret)."""


def file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def parse_report(stdout: str) -> dict:
    """The JSON object host-deploy prints as its last line."""
    lines = stdout.strip().splitlines()
    if not lines:
        raise ValueError("host-deploy printed no report")
    return json.loads(lines[-1])


def verified_digest(stdout: str, image_ref: str) -> str:
    """The digest the host verified; fails when it is not the one pushed."""
    report = parse_report(stdout)
    running = report.get("digest") or report.get("image_id")
    expected = image_ref.rpartition("@")[2] if "@" in image_ref else image_ref
    if not report.get("verified") or running != expected:
        raise ValueError(f"host-deploy verified {running!r}, but the program pushed {expected!r}")
    return running


class ComposeDeployment(pulumi.ComponentResource):
    status: pulumi.Output[str]
    """host-deploy's JSON report of the deployment."""
    verified_digest: pulumi.Output[str]

    def __init__(self, name: str, args: ComposeDeploymentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:ComposeDeployment", name, None, opts)
        self._connection = args.connection
        file_digests = [file_digest(args.compose_file), file_digest(args.host_tool)]
        files = self._copy_files(name, args, file_digests)

        env_file = self._command(
            f"{name}-env-file",
            create=commands.write_env_file(args.host_dir),
            stdin=args.env_file,
            secret_stdin=True,
            # Rewrite when the content changes, whatever the provider diffs on.
            triggers=[args.env_file],
        )
        forward = args.credentials_script is not None

        def deploy_text(image_ref: str) -> str:
            text = commands.host_deploy(
                "deploy", args.host_dir, args.project,
                image=image_ref, timeout=args.health_timeout, keep=args.keep_images,
            )
            return commands.with_exports_from_stdin(text) if forward else text

        deploy = self._command(
            f"{name}-deploy",
            create=pulumi.Output.from_input(args.image_ref).apply(deploy_text),
            stdin=args.credentials_script,
            secret_stdin=forward,
            # Re-deploy when what the host runs changes: files or .env (secret).
            triggers=[*file_digests, args.env_file],
            depends_on=[*files, env_file],
        )
        self._command(
            f"{name}-teardown",
            delete=commands.host_deploy("down", args.host_dir, args.project),
            depends_on=files,
        )
        self.status = deploy.stdout.apply(lambda out: json.dumps(parse_report(out)))
        self.verified_digest = pulumi.Output.all(deploy.stdout, args.image_ref).apply(
            lambda values: verified_digest(*values)
        )
        self.register_outputs({"status": self.status, "verified_digest": self.verified_digest})

    def _copy_files(self, name: str, args: ComposeDeploymentArgs, digests: list[str]) -> list[pulumi.Resource]:
        """docker-compose.yml and host-deploy into the project directory."""
        if self._connection is None:
            return [self._command(
                f"{name}-files",
                create=commands.install_files(args.host_dir, str(args.compose_file), str(args.host_tool)),
                triggers=digests,
            )]
        return [
            remote.CopyToRemote(
                f"{name}-{label}",
                connection=self._connection,
                source=pulumi.FileAsset(str(path)),
                remote_path=f"{args.host_dir}/{remote_name}",
                triggers=[digest],
                opts=pulumi.ResourceOptions(parent=self),
            )
            for label, path, remote_name, digest in (
                ("compose-file", args.compose_file, commands.COMPOSE_FILE, digests[0]),
                ("host-tool", args.host_tool, commands.HOST_TOOL, digests[1]),
            )
        ]

    def _command(self, name: str, *, secret_stdin: bool = False, depends_on: list[pulumi.Resource] | None = None,
                 **inputs) -> pulumi.Resource:
        """A command on the host: remote over SSH, or local for the local target."""
        opts = pulumi.ResourceOptions(parent=self, depends_on=depends_on or [])
        if self._connection is None:
            logging = local.Logging.NONE if secret_stdin else local.Logging.STDOUT_AND_STDERR
            return local.Command(name, add_previous_output_in_env=False, logging=logging, opts=opts, **inputs)
        logging = remote.Logging.NONE if secret_stdin else remote.Logging.STDOUT_AND_STDERR
        return remote.Command(
            name, connection=self._connection, add_previous_output_in_env=False, logging=logging, opts=opts, **inputs
        )
