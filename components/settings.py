"""Typed, validated stack settings: the stack's config plus the environment.

Everything is checked here, before any resource is declared; an error names
the config key (or variable) and the stack file. No code names an
environment: the stack's config says which one this is.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi

from components import compose_to_ecs, doppler, environment, ssh_keys
from components.env_file import EnvFileError, render_env_file

NAMESPACE = "whatsapp-miner"
TARGETS = ("ec2", "local", "ecs")
ROLES = ("environment", "registry")
TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
STACK_NAME = r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?"
HOST_AWS_CREDENTIALS = ("forwarded", "instance-role")
VARIABLE_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
HOST_VARIABLE = "WHATSAPP_MINER_EC2_HOST"
RESERVED_PREFIXES = ("COMPOSE_", "DOCKER_")
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# pulumi-command 1.2.1 offers only the pinned key's own algorithm; for RSA
# that is SHA-1 `ssh-rsa`, which OpenSSH 8.8 and later refuse.
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
# A provisioned host's CPU architecture and default size, by platform.
HOST_ARCHITECTURES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
DEFAULT_INSTANCE_TYPES = {"linux/amd64": "t3.small", "linux/arm64": "t4g.small"}
WORLD = ("0.0.0.0/0", "::/0")
COMPOSE_FILE = Path("docker-compose.yml")
# CloudWatch Logs PutRetentionPolicy accepts only these.
LOG_RETENTION_DAYS = ("1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400", "545", "731",
                      "1096", "1827", "2192", "2557", "2922", "3288", "3653")
# Fargate task sizes: CPU units -> (lowest, highest, step) memory in MiB (AmazonECS task-cpu-memory-error).
FARGATE_MEMORY = {"256": (512, 2048, 512), "512": (1024, 4096, 1024), "1024": (2048, 8192, 1024),
                  "2048": (4096, 16384, 1024), "4096": (8192, 30720, 1024), "8192": (16384, 61440, 4096),
                  "16384": (32768, 122880, 8192)}


class SettingsError(ValueError):
    """A stack value is missing or malformed; the message says which and where."""


@dataclass(frozen=True)
class AwsCredentials:
    """Credentials for the explicit aws.Provider and for ECR login on the host."""

    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]
    region: str
    host_login_script: pulumi.Output[str]
    """Shell lines exporting the credentials, fed to the host on stdin."""
    session_token: pulumi.Output[str] | None = None
    """Temporary credentials' token; None with a long-term key."""


@dataclass(frozen=True)
class SshSettings:
    """How to reach the EC2 host."""

    host: pulumi.Input[str] | None
    """None for a provisioned host until the program creates it."""
    port: int
    user: str
    private_key: pulumi.Output[str]
    host_key: pulumi.Input[str] | None
    dial_error_limit: int
    per_dial_timeout: int


@dataclass(frozen=True)
class RegistrySettings:
    """The `registry` stack: the one ECR repository every environment uses."""

    stack_file: str
    repository_name: str
    environment_tags: list[str]
    keep_builds: int
    kms_key_arn: str | None
    aws: AwsCredentials


@dataclass(frozen=True)
class ProvisionSettings:
    """The EC2 host this stack creates (`provisionHost: true`)."""

    instance_type: str
    architecture: str
    """`x86_64` or `aarch64`, from `platform`."""
    subnet_id: str | None
    """None: the default VPC's default subnet."""
    ssh_cidrs: tuple[str, ...]
    """Where SSH may come from; never the world unless the stack says so."""
    elastic_ip: bool
    ssm: bool
    """Whether the instance role may be used by SSM Session Manager."""
    volume_gb: int
    cloud_init_timeout: int
    """Seconds the first deploy waits for the host's cloud-init."""
    authorized_key: str
    """The deploy user's public key, derived from the SSH private key."""


@dataclass(frozen=True)
class EcsSettings:
    """Where and how big the ecs target runs; its services come from the compose file."""

    app: compose_to_ecs.ComposeApp
    subnets: list[str]
    security_groups: list[str]
    assign_public_ip: bool
    desired_counts: dict[str, int]
    """Tasks per compose service."""
    cpu: int
    memory: int
    log_retention_days: int
    migrate_timeout: int
    rollout_timeout: int


@dataclass(frozen=True)
class Settings:
    stack_file: str
    environment: str
    target: str
    """`ec2` (over SSH), `local` (this machine's Docker) or `ecs` (Fargate)."""
    push: bool
    """Push to ECR; false builds a local image only (the `local` stack)."""
    deploy: bool
    """Deploy after building; false stops after the image and leaves the host as it is."""
    remove_data_on_destroy: bool
    """`pulumi destroy` also deletes the project's data volume."""
    image_name: str
    """Base name of the image: the local image, and a local tag of every build."""
    image_tag: str
    """The environment's tag: the only tag of the image that moves."""
    registry_stack: str
    """The stack that owns the shared ECR repository."""
    promote_from: str | None
    """Deploy the digest this stack verified instead of building (prd: dev)."""
    image_digest: str | None
    """Deploy this already pushed digest instead of building or promoting."""
    base_image: str
    platform: str
    host_dir: str
    compose_project: str
    env_file: pulumi.Output[str]
    """The container .env content (secret)."""
    container_secrets: dict[str, pulumi.Output[str]]
    """Each containerEnv variable's value (secret), for the ecs target's parameters."""
    health_timeout: int
    keep_host_images: int
    forward_aws_credentials: bool
    aws: AwsCredentials | None
    ssh: SshSettings | None
    provision: ProvisionSettings | None
    ecs: EcsSettings | None

    @property
    def pushes_a_build(self) -> bool:
        """Builds and pushes here: neither pinned nor promoted from another stack."""
        return self.push and not (self.image_digest or self.promote_from)


class _Reader:
    """Reads typed config values and names the key and stack file on error."""

    def __init__(self, get: Callable[[str], str | None], stack_file: str):
        self._get = get
        self.stack_file = stack_file

    def error(self, key: str, expected: str, got: object = None) -> SettingsError:
        shown = "" if got is None else f", got {got!r}"
        return SettingsError(f"{NAMESPACE}:{key} in {self.stack_file}: expected {expected}{shown}")

    def text(self, key: str, default: str | None = None, pattern: str | None = None) -> str | None:
        value = self._get(key)
        if value is None or value == "":
            return default
        if pattern and not re.fullmatch(pattern, value):
            raise self.error(key, f"a value matching {pattern}", value)
        return value

    def required(self, key: str, expected: str, pattern: str | None = None) -> str:
        value = self.text(key, pattern=pattern)
        if value is None:
            raise self.error(key, f"{expected} (it is not set)")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in choices:
            raise self.error(key, "one of " + ", ".join(choices), value)
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.text(key)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise self.error(key, "true or false", value)
        return value.lower() == "true"

    def integer(self, key: str, default: int) -> int:
        value = self.text(key)
        if value is None:
            return default
        if not value.isdigit() or int(value) < 1:
            raise self.error(key, "a positive whole number", value)
        return int(value)

    def names(self, key: str) -> list[str]:
        return self._list(key, VARIABLE_NAME.pattern, "a list of environment variable names like [WHATSAPP_TOKEN]")

    def tags(self, key: str, default: list[str]) -> list[str]:
        return self._list(key, TAG, "a list of image tags like [dev, prd]") or default

    def _list(self, key: str, pattern: str, expected: str) -> list[str]:
        value = self.text(key)
        if value is None:
            return []
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) and re.fullmatch(pattern, i) for i in items):
            raise self.error(key, expected, value)
        return items

    def ids(self, key: str, prefix: str) -> list[str]:
        """A non-empty list of AWS ids like PREFIX-0abc."""
        expected = f"a list of ids like [{prefix}-0123abcd]"
        ids = self._list(key, f"{prefix}-[0-9a-f]+", expected)
        if not ids:
            raise self.error(key, expected, self.text(key))
        return ids

    def counts(self, key: str, names: list[str], default: int) -> dict[str, int]:
        """A count per name (0 or more); names left out get DEFAULT."""
        value = self.text(key)
        try:
            counts = json.loads(value) if value else {}
        except json.JSONDecodeError:
            counts = None
        if not isinstance(counts, dict) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values()):
            raise self.error(key, "a map of service name to task count like {miner: 1}", value)
        unknown = sorted(set(counts) - set(names))
        if unknown:
            raise self.error(key, "services of docker-compose.yml (" + ", ".join(names) + ")", ", ".join(unknown))
        return {name: counts.get(name, default) for name in names}


def _secret(value: str) -> pulumi.Output[str]:
    return pulumi.Output.secret(value)


def _aws_credentials(environ: Mapping[str, str], region_override: str | None) -> AwsCredentials:
    values = environment.aws_variables(environ)
    if region_override:
        values["AWS_DEFAULT_REGION"] = region_override
    missing = [environment.accepted_names(name) for name in environment.ALIASES if name not in values]
    if missing:
        raise SettingsError("AWS credentials are missing from the environment: set " + ", ".join(missing))
    token = values.get(environment.SESSION_TOKEN)
    forwarded = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", environment.SESSION_TOKEN)
    script = "".join(f"export {name}={shlex.quote(values[name])}\n" for name in forwarded if name in values)
    return AwsCredentials(
        access_key_id=_secret(values["AWS_ACCESS_KEY_ID"]),
        secret_access_key=_secret(values["AWS_SECRET_ACCESS_KEY"]),
        region=values["AWS_DEFAULT_REGION"],
        host_login_script=_secret(script),
        session_token=_secret(token) if token else None,
    )


def _require_secrets_of(env_name: str, read: _Reader, environ: Mapping[str, str]) -> None:
    """Refuse secrets that `doppler run` took from another environment's config."""
    for variable in doppler.ORIGIN_VARIABLES:
        value = environment.read(environ, variable)
        if value and not doppler.names_environment(variable, value, env_name):
            raise SettingsError(
                f"{variable}={value}: these secrets are from another environment than this stack's "
                f"({NAMESPACE}:environment is {env_name} in {read.stack_file}); "
                f"run `doppler run --config {env_name} -- pulumi ...`"
            )


def _host(read: _Reader, environ: Mapping[str, str]) -> str:
    host = read.text("host") or environment.read(environ, HOST_VARIABLE)
    if not host or not re.fullmatch(r"[A-Za-z0-9.:-]+", host):
        raise SettingsError(
            f"{NAMESPACE}:host in {read.stack_file} (or {HOST_VARIABLE} in the environment): "
            f"expected the address of the EC2 host, got {host!r}"
        )
    return host


def _private_key_variable(read: _Reader) -> str:
    return read.text("sshPrivateKeyVar", "SSH_PRIVATE_KEY", pattern=VARIABLE_NAME.pattern)


def _ssh_settings(read: _Reader, environ: Mapping[str, str], provision: bool) -> SshSettings:
    key_variable = _private_key_variable(read)
    private_key = environment.read(environ, key_variable)
    if not private_key:
        raise SettingsError(
            f"{key_variable} is not set: it must hold the SSH private key for the host "
            f"(the variable is named by {NAMESPACE}:sshPrivateKeyVar in {read.stack_file})"
        )
    if provision:
        for key in ("host", "sshHostKey"):
            if read.text(key) is not None:
                raise read.error(key, "unset when provisionHost is true (the program creates the host and "
                                      "pins the host key it generated)")
    return SshSettings(
        host=None if provision else _host(read, environ),
        port=read.integer("sshPort", 22),
        user=read.text("sshUser", "ec2-user", pattern=r"[a-z_][a-z0-9_-]*"),
        private_key=_secret(private_key),
        host_key=None if provision else _host_key(read),
        dial_error_limit=read.integer("sshDialErrorLimit", 30),
        per_dial_timeout=read.integer("sshPerDialTimeout", 10),
    )


def _host_key(read: _Reader) -> str | None:
    """The pinned host key, `TYPE BASE64`, of a type the SSH connection can verify."""
    value = read.text("sshHostKey")
    if value is None:
        return None
    parts = value.split()
    expected = "an ssh-ed25519 or ecdsa-sha2-nistp* public host key like 'ssh-ed25519 AAAA...'"
    if len(parts) < 2 or parts[0] not in HOST_KEY_TYPES:
        raise read.error("sshHostKey", expected + " (an ssh-rsa key would be checked with SHA-1, which "
                         "OpenSSH 8.8+ refuses)", parts[0] if parts else value)
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        blob = b""
    # The key blob starts with its own type as a length-prefixed string (RFC 4253 6.6).
    if blob[4:4 + int.from_bytes(blob[:4], "big")] != parts[0].encode():
        raise read.error("sshHostKey", expected + f" whose key data is a {parts[0]} key")
    return f"{parts[0]} {parts[1]}"


def _ssh_cidrs(read: _Reader) -> tuple[str, ...]:
    expected = 'a list of CIDRs SSH may come from, like ["203.0.113.7/32"]'
    value = read.text("hostSshCidrs")
    if value is None:
        raise read.error("hostSshCidrs", expected + " (it is not set; there is no default)")
    try:
        cidrs = json.loads(value)
        valid = isinstance(cidrs, list) and cidrs and all(isinstance(c, str) for c in cidrs)
        networks = [str(ipaddress.ip_network(cidr)) for cidr in cidrs] if valid else []
    except (json.JSONDecodeError, ValueError):
        networks = []
    if not networks:
        raise read.error("hostSshCidrs", expected, value)
    world = [cidr for cidr in networks if cidr in WORLD]
    if world and not read.boolean("hostSshAllowWorld", False):
        raise read.error("hostSshCidrs", "no world-open CIDR unless hostSshAllowWorld is true", ", ".join(world))
    return tuple(networks)


def _provision_settings(read: _Reader, environ: Mapping[str, str], platform: str) -> ProvisionSettings:
    if platform not in HOST_ARCHITECTURES:
        raise read.error("platform", "one of " + ", ".join(HOST_ARCHITECTURES) + " when provisionHost is true",
                         platform)
    if read.integer("sshPort", 22) != 22:
        raise read.error("sshPort", "22 when provisionHost is true (the host's sshd listens there)",
                         read.text("sshPort"))
    if read.text("sshUser") == "root":
        raise read.error("sshUser", "a user other than root (cloud-init creates it as the deploy user)", "root")
    key_variable = _private_key_variable(read)
    try:
        authorized_key = ssh_keys.public_key_of_private(environment.read(environ, key_variable))
    except ValueError as error:
        raise SettingsError(f"{key_variable}: {error} (provisionHost in {read.stack_file} installs its "
                            "public half on the host)") from None
    return ProvisionSettings(
        instance_type=read.text("hostInstanceType", DEFAULT_INSTANCE_TYPES[platform],
                                pattern=r"[a-z][a-z0-9-]*\.[a-z0-9]+"),
        architecture=HOST_ARCHITECTURES[platform],
        subnet_id=read.text("hostSubnetId", pattern=r"subnet-[0-9a-f]+"),
        ssh_cidrs=_ssh_cidrs(read),
        elastic_ip=read.boolean("hostElasticIp", False),
        ssm=read.boolean("hostSsm", False),
        volume_gb=read.integer("hostVolumeGb", 20),
        cloud_init_timeout=read.integer("hostCloudInitTimeout", 900),
        authorized_key=authorized_key,
    )


def _container_env(read: _Reader, environ: Mapping[str, str],
                   env_name: str) -> tuple[pulumi.Output[str], dict[str, pulumi.Output[str]]]:
    names = read.names("containerEnv")
    if "ENV_NAME" in names:
        raise read.error("containerEnv", "names other than ENV_NAME (it is always set to the environment)")
    reserved = [name for name in names if name == "IMAGE" or name.startswith(RESERVED_PREFIXES)]
    if reserved:
        raise read.error("containerEnv", "names other than IMAGE, COMPOSE_* and DOCKER_* (they belong to "
                         "compose and host-deploy, and would change what runs)", ", ".join(reserved))
    values = {name: environment.read(environ, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise SettingsError(
            f"{', '.join(missing)} not set in the environment "
            f"(listed in {NAMESPACE}:containerEnv in {read.stack_file})"
        )
    try:
        return _secret(render_env_file({"ENV_NAME": env_name, **values})), {n: _secret(v) for n, v in values.items()}
    except EnvFileError as error:
        raise SettingsError(f"{error} (listed in {NAMESPACE}:containerEnv in {read.stack_file})") from None


def _ecs_settings(read: _Reader) -> EcsSettings:
    app = compose_to_ecs.load(COMPOSE_FILE)
    cpu = read.choice("ecsCpu", tuple(FARGATE_MEMORY), "256")
    low, high, step = FARGATE_MEMORY[cpu]
    memory = read.integer("ecsMemory", low)
    if not (low <= memory <= high and memory % step == 0):
        raise read.error("ecsMemory", f"{low} to {high} MiB in steps of {step} (Fargate, with ecsCpu {cpu})", memory)
    return EcsSettings(
        app=app,
        subnets=read.ids("ecsSubnets", "subnet"),
        security_groups=read.ids("ecsSecurityGroups", "sg"),
        assign_public_ip=read.boolean("ecsAssignPublicIp", False),
        desired_counts=read.counts("ecsDesiredCount", [s.name for s in app.services], 1),
        cpu=int(cpu),
        memory=memory,
        log_retention_days=int(read.choice("ecsLogRetentionDays", LOG_RETENTION_DAYS, "30")),
        migrate_timeout=read.integer("ecsMigrateTimeout", 600),
        rollout_timeout=read.integer("ecsRolloutTimeout", 900),
    )


def load(get: Callable[[str], str | None], stack: str,
         environ: Mapping[str, str]) -> Settings | RegistrySettings:
    """Validate the stack's config (read with GET) and the environment."""
    read = _Reader(get, f"Pulumi.{stack}.yaml")
    if read.choice("role", ROLES, "environment") == "registry":
        return _registry(read, environ)
    env_name = read.required("environment", "the environment name, e.g. dev", pattern=r"[a-z][a-z0-9-]{0,19}")
    _require_secrets_of(env_name, read, environ)
    target = read.choice("target", TARGETS)
    push = read.boolean("push", True)
    if target in ("ec2", "ecs") and not push:
        raise read.error("push", f"true: the {target} target pulls its image from ECR", "false")
    deploy = read.boolean("deploy", True)
    if target == "ecs" and not deploy:
        raise read.error("deploy", "true for the ecs target (a program without its services would delete them)",
                         "false")
    image_digest = read.text("imageDigest", pattern=DIGEST.pattern)
    promote_from = read.text("promoteFrom", pattern=STACK_NAME)
    for key, value in (("imageDigest", image_digest), ("promoteFrom", promote_from)):
        if value and not push:
            raise read.error(key, "to be unset when push is false (a digest names an image in ECR)")
    if promote_from in (stack, f"organization/{NAMESPACE}/{stack}"):
        raise read.error("promoteFrom", "another stack than this one", promote_from)
    provision = read.boolean("provisionHost", False)
    if provision and target != "ec2":
        raise read.error("provisionHost", "false unless target is ec2", "true")
    # A provisioned host pulls with its instance role, through the credential helper.
    credentials = read.choice("hostAwsCredentials", HOST_AWS_CREDENTIALS, "instance-role" if provision else "forwarded")
    if provision and credentials != "instance-role":
        raise read.error("hostAwsCredentials", "instance-role (or unset) when provisionHost is true", credentials)
    forward = credentials == "forwarded"
    platform = read.text("platform", "linux/amd64", pattern=r"[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?")
    env_file, container_secrets = _container_env(read, environ, env_name)
    default_dir = f"/home/{read.text('sshUser', 'ec2-user')}" if target == "ec2" else str(Path.home())
    return Settings(
        stack_file=read.stack_file,
        environment=env_name,
        target=target,
        push=push,
        deploy=deploy,
        remove_data_on_destroy=read.boolean("removeDataOnDestroy", False),
        image_name=read.text("imageName", NAMESPACE, pattern=r"[a-z0-9][a-z0-9._/-]*"),
        image_tag=read.text("imageTag", env_name, pattern=TAG),
        registry_stack=read.text("registryStack", "registry", pattern=STACK_NAME),
        promote_from=promote_from,
        image_digest=image_digest,
        base_image=read.text("baseImage", "python:3.12-slim"),
        platform=platform,
        host_dir=read.text("hostDir", f"{default_dir}/whatsapp-miner/{env_name}", pattern=r"/[A-Za-z0-9._/-]+"),
        compose_project=read.text("composeProject", f"whatsapp-miner-{env_name}", pattern=r"[a-z0-9][a-z0-9_-]*"),
        env_file=env_file,
        container_secrets=container_secrets,
        health_timeout=read.integer("healthTimeout", 120),
        keep_host_images=read.integer("keepHostImages", 3),
        forward_aws_credentials=target == "ec2" and forward,
        aws=_aws_credentials(environ, read.text("awsRegion")) if push else None,
        ssh=_ssh_settings(read, environ, provision) if target == "ec2" else None,
        provision=_provision_settings(read, environ, platform) if provision else None,
        ecs=_ecs_settings(read) if target == "ecs" else None,
    )


def _registry(read: _Reader, environ: Mapping[str, str]) -> RegistrySettings:
    return RegistrySettings(
        stack_file=read.stack_file,
        repository_name=read.text("repositoryName", NAMESPACE, pattern=r"[a-z0-9][a-z0-9._/-]*"),
        environment_tags=read.tags("environmentTags", ["dev", "prd"]),
        keep_builds=read.integer("ecrKeepBuilds", 30),
        kms_key_arn=read.text("kmsKeyArn", pattern=r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+"),
        aws=_aws_credentials(environ, read.text("awsRegion")),
    )


def from_stack(environ: Mapping[str, str]) -> Settings | RegistrySettings:
    """Settings of the stack Pulumi is running."""
    for warning in environment.alias_conflicts(environ):
        pulumi.log.warn(warning)
    config = pulumi.Config(NAMESPACE)
    return load(config.get, pulumi.get_stack(), environ)
