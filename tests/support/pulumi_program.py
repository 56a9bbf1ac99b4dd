"""Run the real __main__.py under Pulumi mocks and record what it declares.

The stack's config is loaded from the real Pulumi.<stack>.yaml. The mock
monitor records every registration as the engine would receive it: type,
name, inputs (with secrets still marked), and dependencies.
"""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import shlex
import subprocess
import uuid
from contextlib import chdir
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings

ROOT = Path(__file__).resolve().parents[2]
SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
ACCOUNT = "123456789012"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # how the engine serializes an unknown value
AMI, DEFAULT_VPC, SUBNET_VPC = "ami-0al2023", "vpc-0default", "vpc-0subnet"
# Stacks that live with the tests rather than at the top level.
STACK_FILES = {"rehearsal": ROOT / "tests" / "rehearsal" / "Pulumi.rehearsal.yaml",
               "aws-ecs": ROOT / "tests" / "rehearsal" / "Pulumi.aws-ecs.yaml",
               "ecs-example": ROOT / "tests" / "stacks" / "Pulumi.ecs-example.yaml"}


def stack_config(stack: str) -> dict[str, str]:
    """The `config:` of Pulumi.<stack>.yaml as Pulumi hands it to a program."""
    config = yaml.safe_load((STACK_FILES.get(stack, ROOT / f"Pulumi.{stack}.yaml")).read_text())["config"]
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def _fake_digest(*parts: object) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def unwrap(value, path: str, secrets: set[str]):
    """Plain value of a serialized property; records the paths of secrets."""
    if isinstance(value, dict) and value.get(SIG_KEY) == SECRET_VALUE:
        secrets.add(path)
        return unwrap(value.get("value"), path, secrets)
    if isinstance(value, dict):
        return {key: unwrap(item, f"{path}.{key}" if path else key, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item, f"{path}[{index}]", secrets) for index, item in enumerate(value)]
    return value


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    inputs: dict
    secret_inputs: set[str]
    dependencies: list[str]
    provider: str
    outputs: dict
    """The state the scripted provider answered with."""
    ignore_changes: list[str]
    additional_secret_outputs: list[str]
    retain_on_delete: bool = False

    def plain_inputs(self) -> dict:
        """The inputs that are not secret, as they would sit in state as plaintext."""
        return {key: value for key, value in self.inputs.items()
                if not any(path == key or path.startswith((f"{key}.", f"{key}[")) for path in self.secret_inputs)}


def default_stack_outputs() -> dict[str, dict]:
    """What the other stacks of a self-managed backend hold: the registry's
    repository, and the digest dev verified."""
    return {
        "organization/whatsapp-miner/registry": {
            "repositoryUrl": f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/whatsapp-miner",
            "repositoryName": "whatsapp-miner", "registryId": ACCOUNT, "environmentTags": ["dev", "prd"],
            "repositoryArn": f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/whatsapp-miner",
        },
        "organization/whatsapp-miner/dev": {"deployedDigest": DEV_DIGEST},
    }


DEV_DIGEST = "sha256:" + "d" * 64


class ScriptedProviders(pulumi.runtime.Mocks):
    """Answers as the providers would, without touching anything."""

    def __init__(self, preview: bool, stack_outputs: dict[str, dict]):
        # Told, not read from is_dry_run(): the SDK's mock monitor answers
        # outside the program's context, where the settings are not set.
        self.preview = preview
        self.stack_outputs = stack_outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":  # the engine reads the other stack's outputs
            state["outputs"] = self.stack_outputs.get(args.inputs["name"], {})
        elif args.typ == "aws:ecr/repository:Repository":
            state["repositoryUrl"] = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/{args.inputs['name']}"
            state["arn"] = f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{args.inputs['name']}"
            state["registryId"] = ACCOUNT
            state["arn"] = f"arn:aws:ecr:eu-west-1:{ACCOUNT}:repository/{args.inputs['name']}"
        elif args.typ == "aws:kms/key:Key":
            state["arn"] = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{uuid.uuid4()}"
        elif args.typ == "docker:index/image:Image" and not self.preview:
            # In preview pulumi-docker does not build, so the digest stays unknown.
            digest = _fake_digest(args.inputs.get("build"))
            repository = args.inputs["imageName"].rsplit(":", 1)[0]
            state["repoDigest"] = digest if args.inputs.get("skipPush") else f"{repository}@{digest}"
        elif args.typ == "aws:ec2/instance:Instance":
            state.update(publicIp="203.0.113.10", privateIp="10.0.1.5")
        elif args.typ == "aws:ec2/eip:Eip":
            state["publicIp"] = "198.51.100.7"
        elif args.typ == "command:local:Command" and args.name.endswith("-key") and not self.preview:
            # The host key command is real and harmless: run it (ssh-keygen into a temp dir).
            state["stdout"] = subprocess.run(["sh", "-c", args.inputs["create"]], capture_output=True, text=True,
                                             check=True).stdout
        elif args.typ.startswith("command:") and "create" in args.inputs and not self.preview:
            state["stdout"] = self._host_deploy_report(args.inputs["create"])
            state["stderr"] = ""
        if args.typ.startswith("aws:iam/"):
            state.setdefault("name", f"{args.name}-name")  # AWS names what the program does not
        if args.typ.startswith("aws:") and not self.preview:
            # Every AWS resource has an ARN; a task definition's names its family and a revision.
            service = args.typ.split(":")[1].split("/")[0]
            resource = f"task-definition/{args.inputs['family']}:1" if "family" in args.inputs else args.name
            state.setdefault("arn", f"arn:aws:{service}:eu-west-1:{ACCOUNT}:{resource}")
            if args.typ == "aws:ssm/parameter:Parameter":
                state["version"] = 1  # SSM counts a parameter's values from 1
        return f"{args.name}-id", state

    @staticmethod
    def _host_deploy_report(create: str) -> str:
        """What host-deploy prints after verifying the image it was given."""
        argv = shlex.split(create.rsplit("&&", maxsplit=1)[-1])
        if "components.ecs_rollout" in argv:
            return ScriptedProviders._ecs_rollout_report(argv)
        if "deploy" not in argv:
            return ""
        image = argv[argv.index("--image") + 1]
        digest = image.rpartition("@")[2] if "@" in image else ""
        return json.dumps({"image": image, "image_id": image if not digest else _fake_digest(image),
                           "digest": digest, "verified": True, "services": {}})

    @staticmethod
    def _ecs_rollout_report(argv: list[str]) -> str:
        """What components/ecs_rollout prints when the step succeeds."""
        if argv[argv.index("components.ecs_rollout") + 1] == "migrate":
            return json.dumps({"task": "arn:aws:ecs:eu-west-1:123456789012:task/c/0", "exitCodes": {"migrate": 0}})
        services = [argv[i + 1].split("=", 1)[0] for i, word in enumerate(argv) if word == "--service"]
        return json.dumps({"digest": argv[argv.index("--digest") + 1], "verified": True,
                           "services": {name: {"rolloutState": "COMPLETED"} for name in services}})

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            # A fresh token on every run, as ECR gives.
            return {"userName": "AWS", "password": f"ecr-token-{uuid.uuid4()}",
                    "proxyEndpoint": f"https://{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"}
        if args.token == "aws:ssm/getParameter:getParameter":
            return {"name": args.args["name"], "type": "String", "value": AMI}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": DEFAULT_VPC, "default": True}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args["id"], "vpcId": SUBNET_VPC}
        return {}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks, registrations: list[Registration]):
        super().__init__(mocks)
        self.registrations = registrations
        self.invokes: list[tuple[str, str]] = []
        self.invoke_args: list[tuple[str, dict]] = []

    def Invoke(self, request):  # the gRPC method's name
        self.invokes.append((request.tok, request.provider))
        self.invoke_args.append((request.tok, json_format.MessageToDict(request.args)))
        return super().Invoke(request)

    def RegisterResource(self, request):  # the gRPC method's name
        response = super().RegisterResource(request)
        self._record(request, request.object, response.urn, response.object)
        return response

    def ReadResource(self, request):  # the gRPC method's name: StackReference reads
        response = super().ReadResource(request)
        self._record(request, request.properties, response.urn, response.properties)
        return response

    def _record(self, request, properties, urn: str, state) -> None:
        secrets: set[str] = set()
        inputs = unwrap(json_format.MessageToDict(properties), "", secrets)
        outputs = unwrap(json_format.MessageToDict(state), "", set())
        self.registrations.append(
            Registration(request.type, request.name, urn, inputs, secrets, list(request.dependencies), request.provider,
                         outputs, list(getattr(request, "ignoreChanges", [])),
                         list(request.additionalSecretOutputs), getattr(request, "retainOnDelete", False))
        )


@dataclass
class ProgramRun:
    registrations: list[Registration]
    invokes: list[tuple[str, str]]
    """(token, provider reference) of every invoke."""
    invoke_args: list[tuple[str, dict]]
    """(token, arguments) of every invoke."""
    outputs: dict = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def named(self, name: str) -> Registration:
        matches = [r for r in self.registrations if r.name == name]
        assert len(matches) == 1, f"{name}: {[r.name for r in self.registrations]}"
        return matches[0]

    def depends_on(self, name: str, other: str) -> bool:
        return self.named(other).urn in self.named(name).dependencies


def run_stack(stack: str, environ: dict[str, str], config: dict[str, str] | None = None,
              preview: bool = False, record_into: list[Registration] | None = None,
              stack_outputs: dict[str, dict] | None = None, organization: str = "organization") -> ProgramRun:
    """Run __main__.py for STACK with ENVIRON as the whole environment.

    Registrations go to RECORD_INTO when given, so a caller can see what was
    declared before the program failed."""
    pulumi.runtime.set_all_config({**stack_config(stack), **(config or {})})
    pulumi_settings.set_root_resource(None)
    providers = ScriptedProviders(preview, default_stack_outputs() if stack_outputs is None else stack_outputs)
    monitor = RecordingMonitor(providers, [] if record_into is None else record_into)
    # `organization`: what a self-managed backend (file, s3) calls every organization; Pulumi Cloud names its own.
    pulumi.runtime.set_mocks(monitor.mocks, project="whatsapp-miner", stack=stack, preview=preview, monitor=monitor,
                             organization=organization)
    run = ProgramRun(monitor.registrations, monitor.invokes, monitor.invoke_args)

    @pulumi.runtime.test
    def program():
        runpy.run_path(str(ROOT / "__main__.py"))
        exports = pulumi_settings.get_root_resource().outputs
        return pulumi.Output.all(**exports).apply(run.outputs.update)

    base = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    with chdir(ROOT), mock.patch.dict(os.environ, {**base, **environ}, clear=True):
        program()
    return run
