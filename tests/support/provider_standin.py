"""Provider stand-in: Pulumi mocks that carry out what each provider would.

No Pulumi CLI, provider plugin or AWS is reachable here, so the rehearsal
runs the real __main__.py under mocks whose `new_resource` does the real
thing for each resource type:

- command:remote:Command      ssh with the resource's own connection inputs,
                              its `create` as the command, its `stdin`;
- command:remote:CopyToRemote sftp of the asset to `remote_path`;
- command:local:Command       `create` run locally with `environment`, `stdin`;
- docker:index/image:Image    docker build of the real Dockerfile, push;
- aws resources and calls     boto3 against moto; repository URLs are mapped
                              to the local registry.

It also plays the engine's part that matters here: a resource whose inputs
did not change since the last run is not touched (a no-op `pulumi up`); a
replaced resource runs its old `delete` after the new `create`; `teardown`
runs the `delete`s in reverse order, as `pulumi destroy` would.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pulumi

from tests.support import docker_env
from tests.support.pulumi_program import unwrap

# sshd as shipped by Amazon Linux and Ubuntu accepts only these in SSH setenv.
ACCEPTED_ENV = ("LANG", "LC_")


class ProviderError(Exception):
    """A resource operation failed, as the provider would report it."""


@dataclass
class Created:
    type: str
    name: str
    inputs: dict
    state: dict


@dataclass
class Transcript:
    """Everything the stand-in ran and saw: for the no-secret assertions."""

    commands: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "\n".join(self.commands + self.outputs)


class ProviderStandIn(pulumi.runtime.Mocks):
    def __init__(self, registry: str, aws_endpoint: str, workdir: Path):
        self.registry = registry
        self.aws = {"endpoint_url": aws_endpoint, "region_name": "us-east-1",
                    "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.workdir = workdir
        self.state: dict[str, Created] = {}
        self.order: list[str] = []
        self.transcript = Transcript()
        self.executed: list[str] = []

    # ------------------------------------------------------------ engine part

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:  # component resources have no provider
            return f"{args.name}-id", dict(args.inputs)
        key = f"{args.typ}::{args.name}"
        inputs = unwrap(args.inputs, "", set())  # a provider sees secrets in the clear
        previous = self.state.get(key)
        # Images always build, as pulumi-docker diffs on the context's content;
        # an unchanged context gives the same digest, so nothing downstream moves.
        if previous and args.typ != "docker:index/image:Image" and _same(previous.inputs, inputs):
            return f"{args.name}-id", previous.state
        state = self._create(args.typ, args.name, inputs)
        self.executed.append(args.name)
        if previous and previous.inputs.get("delete"):
            self._run_command(previous.type, previous.inputs, previous.inputs["delete"])
        self.state[key] = Created(args.typ, args.name, inputs, state)
        if key not in self.order:
            self.order.append(key)
        return f"{args.name}-id", state

    def teardown(self) -> None:
        """`pulumi destroy`: every delete, dependents first."""
        for key in reversed(self.order):
            created = self.state.pop(key)
            if created.inputs.get("delete"):
                self._run_command(created.type, created.inputs, created.inputs["delete"])
        self.order.clear()

    # ------------------------------------------------------------ providers

    def _create(self, typ: str, name: str, inputs: dict) -> dict:
        if typ in ("command:remote:Command", "command:local:Command"):
            stdout, stderr = ("", "")
            if inputs.get("create"):
                stdout, stderr = self._run_command(typ, inputs, inputs["create"])
            return {**inputs, "stdout": stdout, "stderr": stderr}
        if typ == "command:remote:CopyToRemote":
            self._copy_to_remote(inputs)
            return dict(inputs)
        if typ == "docker:index/image:Image":
            return {**inputs, "repoDigest": self._build_image(inputs)}
        if typ == "aws:ecr/repository:Repository":
            return {**inputs, **self._create_repository(inputs["name"])}
        if typ == "aws:ecr/lifecyclePolicy:LifecyclePolicy":
            self._ecr().put_lifecycle_policy(repositoryName=inputs["repository"],
                                             lifecyclePolicyText=inputs["policy"])
            return dict(inputs)
        if typ.startswith("pulumi:providers:"):
            return dict(inputs)
        raise ProviderError(f"the stand-in does not know {typ} ({name})")

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            data = self._ecr().get_authorization_token()["authorizationData"][0]
            user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
            return {"userName": user, "password": password, "proxyEndpoint": data["proxyEndpoint"]}
        raise ProviderError(f"the stand-in does not know the call {args.token}")

    def _ecr(self):
        return boto3.client("ecr", **self.aws)

    def _create_repository(self, name: str) -> dict:
        client = self._ecr()
        try:
            repository = client.create_repository(repositoryName=name)["repository"]
        except client.exceptions.RepositoryAlreadyExistsException:
            repository = client.describe_repositories(repositoryNames=[name])["repositories"][0]
        # ECR's URL, pointed at the local registry that stands in for ECR.
        return {"repositoryUrl": f"{self.registry}/{name}", "registryId": repository["registryId"],
                "arn": repository["repositoryArn"]}

    def _build_image(self, inputs: dict) -> str:
        build, name = inputs["build"], inputs["imageName"]
        argv = ["docker", "build", "--quiet", "-t", name, "-f", build["dockerfile"]]
        for key, value in build.get("args", {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        if build.get("platform"):
            argv += ["--platform", build["platform"]]
        self._check([*argv, build["context"]])
        if inputs.get("skipPush"):
            return docker_env.run("docker", "image", "inspect", "--format", "{{.Id}}", name).stdout.strip()
        return docker_env.push(name)

    # ------------------------------------------------------------ commands

    def _run_command(self, typ: str, inputs: dict, command: str) -> tuple[str, str]:
        if typ == "command:local:Command":
            env = {**os.environ, **inputs.get("environment", {})}
            argv, cwd = ["/bin/sh", "-c", command], inputs.get("dir")
        else:
            for variable in inputs.get("environment", {}):
                if not variable.startswith(ACCEPTED_ENV):
                    raise ProviderError(f"ssh: setenv {variable} refused by the server (AcceptEnv)")
            env, cwd = os.environ, None
            argv = ["ssh", *self._ssh_options(inputs["connection"], "-p"), _destination(inputs["connection"]), command]
        self.transcript.commands.append(command)
        done = subprocess.run(argv, input=inputs.get("stdin", ""), capture_output=True, text=True, env=env,
                              cwd=cwd, check=False, timeout=900)
        self.transcript.outputs += [done.stdout, done.stderr]
        if done.returncode != 0:
            raise ProviderError(
                f"Process exited with status {done.returncode}: running {command!r}:\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout, done.stderr

    def _copy_to_remote(self, inputs: dict) -> None:
        source, remote_path = inputs["source"], inputs["remotePath"]
        parents = Path(remote_path).parents
        batch = [f"-mkdir {parent}" for parent in reversed(parents) if str(parent) not in ("/", ".")]
        batch.append(f"put {source.path} {remote_path}")
        self.transcript.commands.append("; ".join(batch))
        connection = inputs["connection"]
        argv = ["sftp", *self._ssh_options(connection, "-P"), "-b", "-", _destination(connection)]
        done = subprocess.run(argv, input="\n".join(batch) + "\n", capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ProviderError(f"sftp to {remote_path} failed: {done.stderr}")

    def _ssh_options(self, connection: dict, port_flag: str) -> list[str]:
        """ssh/sftp options for a connection, from its own inputs."""
        key = self.workdir / f"key-{abs(hash(connection['privateKey']))}"
        if not key.exists():
            key.write_text(connection["privateKey"].rstrip("\n") + "\n")
            key.chmod(0o600)
        options = ["-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                   "-o", f"ConnectionAttempts={int(connection.get('dialErrorLimit', 10))}",
                   "-o", f"ConnectTimeout={int(connection.get('perDialTimeout', 15))}"]
        if connection.get("hostKey"):
            known = self.workdir / "known_hosts"
            known.write_text(f"[{connection['host']}]:{int(connection['port'])} {connection['hostKey']}\n")
            options += ["-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes"]
        else:
            options += ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"]
        return [*options, port_flag, str(int(connection.get("port", 22)))]

    def _check(self, argv: list[str]) -> None:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ProviderError(f"{' '.join(argv[:2])} failed: {done.stderr}")


def _destination(connection: dict) -> str:
    return f"{connection['user']}@{connection['host']}"


def _same(before: dict, after: dict) -> bool:
    def encode(value: dict) -> str:
        return json.dumps(value, sort_keys=True, default=lambda o: getattr(o, "path", repr(o)))

    return encode(before) == encode(after)
