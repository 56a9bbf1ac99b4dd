"""Compose files and .env to the host, deploy with host-deploy, teardown.

Target `ec2` runs everything over SSH with pulumi_command.remote; target
`local` runs the same commands on this machine with pulumi_command.local.
How pulumi-command 1.2.1 treats a change shapes this file (docs/operations.md, "What a
change does"):

- only `triggers` replace a command (the new one created, then the old one's
  `delete` run); any other change is an update, which runs `update`, or
  `create` when there is none. So every value a command's work depends on is
  in its triggers, and an update is only ever a new connection (rotated SSH
  key): the deploy then runs `host-deploy status`, which changes nothing;
- secrets never sit in the deploy's inputs, so it can show its progress:
  forwarded AWS credentials are a file on the host, written by their own
  command, which is all a key rotation rewrites;
- a resource the program stops declaring is deleted: only the teardown takes
  the project down (the credentials file's `delete` removes only the file),
  and it stays declared while the stack exists (`deploy=false` declares
  nothing else); its triggers are where the project lives, so a new host,
  directory or project name tears the old one down; its create marks the
  project as its own, so an older version's teardown leaves it running;
- no `environment=` on remote commands (sshd refuses SSH setenv): values go
  on stdin, and `add_previous_output_in_env` is off;
- every command and copy waits for what the component's `depends_on` names
  (the image reference): a failed build, tag move or promotion writes
  nothing on the host, not even the teardown's claim.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi_command import local, remote

from components.digests import parse_report, verified_digest
from components.targets.host import commands


@dataclass
class ComposeDeploymentArgs:
    image_ref: pulumi.Input[str]
    """Image to run: `repository@sha256:...` (or a local image ID)."""
    host: pulumi.Input[str]
    """Which host the project runs on: `host:port` over SSH, a provisioned host's
    instance ID, or `localhost`."""
    host_dir: str
    """Project directory on the host; one per environment."""
    project: str
    """Compose project name; carries the environment."""
    owner: str
    """The stack the project belongs to (`organization/project/stack`): the
    host refuses the project name when another stack's directory runs it."""
    env_file: pulumi.Output[str]
    """Content of the container .env (secret)."""
    health_timeout: int
    keep_images: int
    compose_file: Path = Path(commands.COMPOSE_FILE)
    """The program's compose file, relative to the program."""
    host_tool: Path = Path("host") / commands.HOST_TOOL
    """host-deploy in this repository, relative to the program."""
    deploy: bool = True
    """False keeps whatever runs on the host: only the teardown stays declared."""
    remove_data_on_destroy: bool = False
    """Whether `pulumi destroy` also deletes the project's data volume."""
    host_terminated_with_stack: bool = False
    """The stack creates the host (provisionHost): a new host needs no teardown
    on the old one, which is terminated with its data, and must not get one:
    with an Elastic IP the old connection already reaches the new host."""
    connection: remote.ConnectionArgs | None = None
    """SSH connection for the ec2 target; None runs on this machine."""
    credentials_script: pulumi.Output[str] | None = None
    """`export` lines with AWS credentials for ECR login on the host (secret)."""


def file_digest(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


class ComposeDeployment(pulumi.ComponentResource):
    status: pulumi.Output[str] | None
    """host-deploy's JSON report of the deployment (None when `deploy` is off)."""
    verified_digest: pulumi.Output[str] | None

    def __init__(self, name: str, args: ComposeDeploymentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:ComposeDeployment", name, None, opts)
        self._connection = args.connection
        self._waits_for = list(opts.depends_on) if opts and opts.depends_on else []
        teardown = self._command(
            f"{name}-teardown",
            create=commands.claim_project(args.host_dir, args.project, args.owner),
            delete=commands.teardown(args.host_dir, args.project, args.remove_data_on_destroy),
            # where the project lives
            triggers=[*([] if args.host_terminated_with_stack else [args.host]), args.host_dir, args.project],
        )
        self.status = self.verified_digest = None
        if args.deploy:
            deploy = self._deploy(name, args, claimed=teardown)
            self.status = deploy.stdout.apply(lambda out: json.dumps(parse_report(out)))
            self.verified_digest = pulumi.Output.all(deploy.stdout, args.image_ref).apply(
                lambda values: verified_digest(*values)
            )
        self.register_outputs({"status": self.status, "verified_digest": self.verified_digest})

    def _deploy(self, name: str, args: ComposeDeploymentArgs, claimed: pulumi.Resource) -> pulumi.Resource:
        compose_digest = file_digest(args.compose_file)
        files = self._copy_files(name, args)
        # The claim first: a moved hostDir is the same stack's only once claimed.
        ready = [claimed, *files, self._command(
            f"{name}-env-file",
            create=commands.write_env_file(args.host_dir),
            stdin=args.env_file,
            secret_stdin=True,
            triggers=[args.host, args.env_file],
        )]
        status = commands.host_deploy("status", args.host_dir, args.project)
        if args.credentials_script is not None:
            ready.append(self._command(
                f"{name}-host-credentials",
                create=commands.write_credentials_file(args.host_dir),
                delete=commands.remove_credentials_file(args.host_dir),
                stdin=args.credentials_script,
                secret_stdin=True,
            ))
            status = commands.with_credentials_file(args.host_dir, status)

        def deploy_text(image_ref: str) -> str:
            text = commands.host_deploy(
                "deploy", args.host_dir, args.project,
                image=image_ref, timeout=args.health_timeout, keep=args.keep_images,
            )
            return commands.with_credentials_file(args.host_dir, text) if args.credentials_script else text

        create = pulumi.Output.from_input(args.image_ref).apply(deploy_text)
        return self._command(
            f"{name}-deploy",
            create=create,
            update=status,
            # Deploy again when the host or what it should run changes: the image
            # and options, the compose file, the .env (secret).
            triggers=[args.host, create, compose_digest, args.env_file],
            depends_on=ready,
        )

    def _copy_files(self, name: str, args: ComposeDeploymentArgs) -> list[pulumi.Resource]:
        """docker-compose.yml and host-deploy into the project directory."""
        if self._connection is None:
            return [self._command(
                f"{name}-files",
                create=commands.install_files(args.host_dir, str(args.compose_file), str(args.host_tool)),
                triggers=[file_digest(args.compose_file), file_digest(args.host_tool)],
            )]
        return [
            remote.CopyToRemote(
                f"{name}-{label}",
                connection=self._connection,
                source=pulumi.FileAsset(str(path)),
                remote_path=f"{args.host_dir}/{remote_name}",
                triggers=[args.host, file_digest(path)],
                opts=pulumi.ResourceOptions(parent=self, depends_on=self._waits_for),
            )
            for label, path, remote_name in (
                ("compose-file", args.compose_file, commands.COMPOSE_FILE),
                ("host-tool", args.host_tool, commands.HOST_TOOL),
            )
        ]

    def _command(self, name: str, *, secret_stdin: bool = False, depends_on: list[pulumi.Resource] | None = None,
                 **inputs) -> pulumi.Resource:
        """A command on the host: remote over SSH, or local for the local target."""
        opts = pulumi.ResourceOptions(parent=self, depends_on=[*self._waits_for, *(depends_on or [])])
        if self._connection is None:
            logging = local.Logging.NONE if secret_stdin else local.Logging.STDOUT_AND_STDERR
            return local.Command(name, add_previous_output_in_env=False, logging=logging, opts=opts, **inputs)
        logging = remote.Logging.NONE if secret_stdin else remote.Logging.STDOUT_AND_STDERR
        return remote.Command(
            name, connection=self._connection, add_previous_output_in_env=False, logging=logging, opts=opts, **inputs
        )
