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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
from pulumi.runtime import config as pulumi_config

from components import digests, targets
from components.config import doppler, environment, keys
from components.config.keys import NAMESPACE
from components.targets.ecs import compose_to_ecs
from components.targets.ecs.deployment import EcsSpec
from components.targets.host import commands, ssh_keys
from components.targets.host.connection import SshSettings
from components.targets.host.env_file import EnvFileError, render_env_file
from components.targets.host.provisioned import HostSpec

TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
STACK_NAME = r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)?"
VARIABLE_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
HOST_VARIABLE = "WHATSAPP_MINER_EC2_HOST"
RESERVED_PREFIXES = ("COMPOSE_", "DOCKER_")
# pulumi-command 1.2.1 offers only the pinned key's own algorithm; for RSA
# that is SHA-1 `ssh-rsa`, which OpenSSH 8.8 and later refuse.
HOST_KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521")
# A provisioned host's CPU architecture and default size, by platform.
HOST_ARCHITECTURES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}
DEFAULT_INSTANCE_TYPES = {"linux/amd64": "t3.small", "linux/arm64": "t4g.small"}
WORLD = ("0.0.0.0/0", "::/0")
# Fargate task sizes: CPU units (keys.ECS_CPU.choices) -> (lowest, highest, step) memory in MiB
# (AmazonECS task-cpu-memory-error).
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
class RegistrySettings:
    """The `registry` stack: the one ECR repository every environment uses."""

    stack_file: str
    repository_name: str
    environment_tags: list[str]
    keep_builds: int
    kms_key_arn: str | None
    aws: AwsCredentials


@dataclass(frozen=True)
class Settings:
    stack_file: str
    environment: str
    target: targets.Target
    """Where it deploys: an existing host over SSH, a provisioned host, local Docker or ECS."""
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
    aws: AwsCredentials | None

    @property
    def pushes_a_build(self) -> bool:
        """Builds and pushes here: neither pinned nor promoted from another stack."""
        return self.push and not (self.image_digest or self.promote_from)


class _Reader:
    """Reads typed config values by their table entry; names the key and stack file on error."""

    def __init__(self, get: Callable[[str], str | None], stack_file: str):
        self._get = get
        self.stack_file = stack_file

    def error(self, key: keys.Key, expected: str, got: object = None) -> SettingsError:
        shown = "" if got is None else f", got {got!r}"
        return SettingsError(f"{NAMESPACE}:{key.name} in {self.stack_file}: expected {expected}{shown}")

    def given(self, key: keys.Key) -> str | None:
        """The value the stack sets, or None."""
        value = self._get(key.name)
        return None if value == "" else value

    def text(self, key: keys.Key, default: str | None = None, pattern: str | None = None) -> str | None:
        """DEFAULT, when given, stands for the table's derived default."""
        value = self.given(key)
        if value is None:
            return key.default if default is None else default
        if pattern and not re.fullmatch(pattern, value):
            raise self.error(key, f"a value matching {pattern}", value)
        return value

    def required(self, key: keys.Key, expected: str, pattern: str | None = None) -> str:
        value = self.text(key, pattern=pattern)
        if value is None:
            raise self.error(key, f"{expected} (it is not set)")
        return value

    def choice(self, key: keys.Key, default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in key.choices:
            raise self.error(key, "one of " + ", ".join(key.choices), value)
        return value

    def boolean(self, key: keys.Key) -> bool:
        value = self.given(key)
        if value is None:
            return key.default
        if value.lower() not in ("true", "false"):
            raise self.error(key, "true or false", value)
        return value.lower() == "true"

    def integer(self, key: keys.Key, default: int | None = None) -> int:
        value = self.given(key)
        if value is None:
            return key.default if default is None else default
        if not value.isdigit() or int(value) < 1:
            raise self.error(key, "a positive whole number", value)
        return int(value)

    def names(self, key: keys.Key) -> list[str]:
        return self._list(key, VARIABLE_NAME.pattern, "a list of environment variable names like [WHATSAPP_TOKEN]")

    def tags(self, key: keys.Key) -> list[str]:
        return self._list(key, TAG, "a list of image tags like [dev, prd]") or list(key.default)

    def _list(self, key: keys.Key, pattern: str, expected: str) -> list[str]:
        value = self.given(key)
        if value is None:
            return []
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) and re.fullmatch(pattern, i) for i in items):
            raise self.error(key, expected, value)
        return items

    def ids(self, key: keys.Key, prefix: str) -> list[str]:
        """A non-empty list of AWS ids like PREFIX-0abc."""
        expected = f"a list of ids like [{prefix}-0123abcd]"
        ids = self._list(key, f"{prefix}-[0-9a-f]+", expected)
        if not ids:
            raise self.error(key, expected, self.given(key))
        return ids

    def counts(self, key: keys.Key, names: list[str]) -> dict[str, int]:
        """A count per name (0 or more); names left out get the key's default."""
        value = self.given(key)
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
        return {name: counts.get(name, key.default) for name in names}


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
                f"({NAMESPACE}:{keys.ENVIRONMENT.name} is {env_name} in {read.stack_file}); "
                f"run `doppler run --config {env_name} -- pulumi ...`"
            )


def _host(read: _Reader, environ: Mapping[str, str]) -> str:
    host = read.text(keys.HOST) or environment.read(environ, HOST_VARIABLE)
    if not host or not re.fullmatch(r"[A-Za-z0-9.:-]+", host):
        raise SettingsError(
            f"{NAMESPACE}:{keys.HOST.name} in {read.stack_file} (or {HOST_VARIABLE} in the environment): "
            f"expected the address of the EC2 host, got {host!r}"
        )
    return host


def _private_key_variable(read: _Reader) -> str:
    return read.text(keys.SSH_PRIVATE_KEY_VAR, pattern=VARIABLE_NAME.pattern)


def _ssh_settings(read: _Reader, environ: Mapping[str, str], provision: bool) -> SshSettings:
    key_variable = _private_key_variable(read)
    private_key = environment.read(environ, key_variable)
    if not private_key:
        raise SettingsError(
            f"{key_variable} is not set: it must hold the SSH private key for the host "
            f"(the variable is named by {NAMESPACE}:{keys.SSH_PRIVATE_KEY_VAR.name} in {read.stack_file})"
        )
    if provision:
        for key in (keys.HOST, keys.SSH_HOST_KEY):
            if read.given(key) is not None:
                raise read.error(key, f"unset when {keys.PROVISION_HOST.name} is true (the program creates the host "
                                      "and pins the host key it generated)")
    return SshSettings(
        host=None if provision else _host(read, environ),
        port=read.integer(keys.SSH_PORT),
        user=read.text(keys.SSH_USER, pattern=r"[a-z_][a-z0-9_-]*"),
        private_key=_secret(private_key),
        host_key=None if provision else _host_key(read),
        dial_error_limit=read.integer(keys.SSH_DIAL_ERROR_LIMIT),
        per_dial_timeout=read.integer(keys.SSH_PER_DIAL_TIMEOUT),
    )


def _host_key(read: _Reader) -> str | None:
    """The pinned host key, `TYPE BASE64`, of a type the SSH connection can verify."""
    value = read.given(keys.SSH_HOST_KEY)
    if value is None:
        return None
    parts = value.split()
    expected = "an ssh-ed25519 or ecdsa-sha2-nistp* public host key like 'ssh-ed25519 AAAA...'"
    if len(parts) < 2 or parts[0] not in HOST_KEY_TYPES:
        raise read.error(keys.SSH_HOST_KEY, expected + " (an ssh-rsa key would be checked with SHA-1, which "
                         "OpenSSH 8.8+ refuses)", parts[0] if parts else value)
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        blob = b""
    # The key blob starts with its own type as a length-prefixed string (RFC 4253 6.6).
    if blob[4:4 + int.from_bytes(blob[:4], "big")] != parts[0].encode():
        raise read.error(keys.SSH_HOST_KEY, expected + f" whose key data is a {parts[0]} key")
    return f"{parts[0]} {parts[1]}"


def _ssh_cidrs(read: _Reader) -> tuple[str, ...]:
    expected = 'a list of CIDRs SSH may come from, like ["203.0.113.7/32"]'
    value = read.given(keys.HOST_SSH_CIDRS)
    if value is None:
        raise read.error(keys.HOST_SSH_CIDRS, expected + " (it is not set; there is no default)")
    try:
        cidrs = json.loads(value)
        valid = isinstance(cidrs, list) and cidrs and all(isinstance(c, str) for c in cidrs)
        networks = [str(ipaddress.ip_network(cidr)) for cidr in cidrs] if valid else []
    except (json.JSONDecodeError, ValueError):
        networks = []
    if not networks:
        raise read.error(keys.HOST_SSH_CIDRS, expected, value)
    world = [cidr for cidr in networks if cidr in WORLD]
    if world and not read.boolean(keys.HOST_SSH_ALLOW_WORLD):
        raise read.error(keys.HOST_SSH_CIDRS, f"no world-open CIDR unless {keys.HOST_SSH_ALLOW_WORLD.name} is true",
                         ", ".join(world))
    return tuple(networks)


def _provisioned_host(read: _Reader, environ: Mapping[str, str], platform: str) -> targets.ProvisionedHost:
    ssh = _ssh_settings(read, environ, provision=True)
    if platform not in HOST_ARCHITECTURES:
        raise read.error(keys.PLATFORM, "one of " + ", ".join(HOST_ARCHITECTURES) +
                         f" when {keys.PROVISION_HOST.name} is true", platform)
    if read.integer(keys.SSH_PORT) != 22:
        raise read.error(keys.SSH_PORT, f"22 when {keys.PROVISION_HOST.name} is true (the host's sshd listens there)",
                         read.given(keys.SSH_PORT))
    if read.given(keys.SSH_USER) == "root":
        raise read.error(keys.SSH_USER, "a user other than root (cloud-init creates it as the deploy user)", "root")
    key_variable = _private_key_variable(read)
    try:
        authorized_key = ssh_keys.public_key_of_private(environment.read(environ, key_variable))
    except ValueError as error:
        raise SettingsError(f"{key_variable}: {error} ({keys.PROVISION_HOST.name} in {read.stack_file} installs "
                            "its public half on the host)") from None
    return targets.ProvisionedHost(ssh=ssh, spec=HostSpec(
        instance_type=read.text(keys.HOST_INSTANCE_TYPE, DEFAULT_INSTANCE_TYPES[platform],
                                pattern=r"[a-z][a-z0-9-]*\.[a-z0-9]+"),
        architecture=HOST_ARCHITECTURES[platform],
        subnet_id=read.text(keys.HOST_SUBNET_ID, pattern=r"subnet-[0-9a-f]+"),
        ssh_cidrs=_ssh_cidrs(read),
        elastic_ip=read.boolean(keys.HOST_ELASTIC_IP),
        ssm=read.boolean(keys.HOST_SSM),
        volume_gb=read.integer(keys.HOST_VOLUME_GB),
        cloud_init_timeout=read.integer(keys.HOST_CLOUD_INIT_TIMEOUT),
        authorized_key=authorized_key,
    ))


def _container_env(read: _Reader, environ: Mapping[str, str],
                   env_name: str) -> tuple[pulumi.Output[str], dict[str, pulumi.Output[str]]]:
    names = read.names(keys.CONTAINER_ENV)
    if "ENV_NAME" in names:
        raise read.error(keys.CONTAINER_ENV, "names other than ENV_NAME (it is always set to the environment)")
    reserved = [name for name in names if name == "IMAGE" or name.startswith(RESERVED_PREFIXES)]
    if reserved:
        raise read.error(keys.CONTAINER_ENV, "names other than IMAGE, COMPOSE_* and DOCKER_* (they belong to "
                         "compose and host-deploy, and would change what runs)", ", ".join(reserved))
    values = {name: environment.read(environ, name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise SettingsError(
            f"{', '.join(missing)} not set in the environment "
            f"(listed in {NAMESPACE}:{keys.CONTAINER_ENV.name} in {read.stack_file})"
        )
    try:
        return _secret(render_env_file({"ENV_NAME": env_name, **values})), {n: _secret(v) for n, v in values.items()}
    except EnvFileError as error:
        raise SettingsError(f"{error} (listed in {NAMESPACE}:{keys.CONTAINER_ENV.name} in {read.stack_file})") from None


def _ecs(read: _Reader) -> targets.Ecs:
    app = compose_to_ecs.load(Path(commands.COMPOSE_FILE))
    cpu = read.choice(keys.ECS_CPU)
    low, high, step = FARGATE_MEMORY[cpu]
    memory = read.integer(keys.ECS_MEMORY, low)
    if not (low <= memory <= high and memory % step == 0):
        raise read.error(keys.ECS_MEMORY, f"{low} to {high} MiB in steps of {step} (Fargate, with "
                         f"{keys.ECS_CPU.name} {cpu})", memory)
    return targets.Ecs(EcsSpec(
        app=app,
        subnets=read.ids(keys.ECS_SUBNETS, "subnet"),
        security_groups=read.ids(keys.ECS_SECURITY_GROUPS, "sg"),
        assign_public_ip=read.boolean(keys.ECS_ASSIGN_PUBLIC_IP),
        desired_counts=read.counts(keys.ECS_DESIRED_COUNT, [s.name for s in app.services]),
        cpu=int(cpu),
        memory=memory,
        log_retention_days=int(read.choice(keys.ECS_LOG_RETENTION_DAYS)),
        migrate_timeout=read.integer(keys.ECS_MIGRATE_TIMEOUT),
        rollout_timeout=read.integer(keys.ECS_ROLLOUT_TIMEOUT),
    ))


def load(get: Callable[[str], str | None], stack: str, environ: Mapping[str, str],
         config_keys: Iterable[str], organization: str = "organization") -> Settings | RegistrySettings:
    """Validate the stack's config (every key it sets in CONFIG_KEYS, values read with GET) and the
    environment. ORGANIZATION: the stack's, as its full name spells it."""
    read = _Reader(get, f"Pulumi.{stack}.yaml")
    _refuse_unknown_keys(config_keys, read.stack_file)
    if read.choice(keys.ROLE) == "registry":
        return _registry(read, environ)
    env_name = read.required(keys.ENVIRONMENT, "the environment name, e.g. dev", pattern=r"[a-z][a-z0-9-]{0,19}")
    _require_secrets_of(env_name, read, environ)
    target = read.choice(keys.TARGET)
    push = read.boolean(keys.PUSH)
    if target in ("ec2", "ecs") and not push:
        raise read.error(keys.PUSH, f"true: the {target} target pulls its image from ECR", "false")
    deploy = read.boolean(keys.DEPLOY)
    if target == "ecs" and not deploy:
        raise read.error(keys.DEPLOY, "true for the ecs target (a program without its services would delete them)",
                         "false")
    image_digest = read.text(keys.IMAGE_DIGEST, pattern=digests.DIGEST.pattern)
    promote_from = read.text(keys.PROMOTE_FROM, pattern=STACK_NAME)
    for key, value in ((keys.IMAGE_DIGEST, image_digest), (keys.PROMOTE_FROM, promote_from)):
        if value and not push:
            raise read.error(key, f"to be unset when {keys.PUSH.name} is false (a digest names an image in ECR)")
    if promote_from in (stack, f"{organization}/{NAMESPACE}/{stack}"):
        raise read.error(keys.PROMOTE_FROM, "another stack than this one", promote_from)
    provision = read.boolean(keys.PROVISION_HOST)
    if provision and target != "ec2":
        raise read.error(keys.PROVISION_HOST, f"false unless {keys.TARGET.name} is ec2", "true")
    # A provisioned host pulls with its instance role, through the credential helper.
    credentials = read.choice(keys.HOST_AWS_CREDENTIALS, "instance-role" if provision else "forwarded")
    if provision and credentials != "instance-role":
        raise read.error(keys.HOST_AWS_CREDENTIALS, f"instance-role (or unset) when {keys.PROVISION_HOST.name} is true",
                         credentials)
    forward = credentials == "forwarded"
    platform = read.text(keys.PLATFORM, pattern=r"[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?")
    env_file, container_secrets = _container_env(read, environ, env_name)
    default_dir = f"/home/{read.text(keys.SSH_USER)}" if target == "ec2" else str(Path.home())
    return Settings(
        stack_file=read.stack_file,
        environment=env_name,
        push=push,
        deploy=deploy,
        remove_data_on_destroy=read.boolean(keys.REMOVE_DATA_ON_DESTROY),
        image_name=read.text(keys.IMAGE_NAME, pattern=r"[a-z0-9][a-z0-9._/-]*"),
        image_tag=read.text(keys.IMAGE_TAG, env_name, pattern=TAG),
        registry_stack=read.text(keys.REGISTRY_STACK, pattern=STACK_NAME),
        promote_from=promote_from,
        image_digest=image_digest,
        base_image=read.text(keys.BASE_IMAGE),
        platform=platform,
        host_dir=read.text(keys.HOST_DIR, f"{default_dir}/whatsapp-miner/{env_name}", pattern=r"/[A-Za-z0-9._/-]+"),
        compose_project=read.text(keys.COMPOSE_PROJECT, f"whatsapp-miner-{env_name}", pattern=r"[a-z0-9][a-z0-9_-]*"),
        env_file=env_file,
        container_secrets=container_secrets,
        health_timeout=read.integer(keys.HEALTH_TIMEOUT),
        keep_host_images=read.integer(keys.KEEP_HOST_IMAGES),
        aws=_aws_credentials(environ, read.text(keys.AWS_REGION)) if push else None,
        target=_target(read, environ, kind=target, provision=provision, platform=platform, forward=forward),
    )


def _target(read: _Reader, environ: Mapping[str, str], *, kind: str, provision: bool, platform: str,
            forward: bool) -> targets.Target:
    if kind == "ecs":
        return _ecs(read)
    if kind == "local":
        return targets.LocalDocker()
    if provision:
        return _provisioned_host(read, environ, platform)
    return targets.SshHost(ssh=_ssh_settings(read, environ, provision=False), forward_aws_credentials=forward)


def _refuse_unknown_keys(config_keys: Iterable[str], stack_file: str) -> None:
    """A key nothing reads is a typo or a leftover: refuse it rather than run without it."""
    unknown = keys.unknown(config_keys)
    if unknown:
        raise SettingsError("; ".join(
            f"{NAMESPACE}:{name} in {stack_file}: not a key this program reads"
            + (f" (did you mean {closest}?)" if closest else " (docs/configuration.md lists them)")
            for name, closest in unknown))


def _registry(read: _Reader, environ: Mapping[str, str]) -> RegistrySettings:
    return RegistrySettings(
        stack_file=read.stack_file,
        repository_name=read.text(keys.REPOSITORY_NAME, pattern=r"[a-z0-9][a-z0-9._/-]*"),
        environment_tags=read.tags(keys.ENVIRONMENT_TAGS),
        keep_builds=read.integer(keys.ECR_KEEP_BUILDS),
        kms_key_arn=read.text(keys.KMS_KEY_ARN,
                              pattern=r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+"),
        aws=_aws_credentials(environ, read.text(keys.AWS_REGION)),
    )


def from_stack(environ: Mapping[str, str]) -> Settings | RegistrySettings:
    """Settings of the stack Pulumi is running."""
    for warning in environment.alias_conflicts(environ):
        pulumi.log.warn(warning)
    config = pulumi.Config(NAMESPACE)
    # Every key the stack sets, where pulumi.Config looks: the language host's PULUMI_CONFIG, which the
    # SDK's exec script copies into CONFIG before the program runs (mocks set CONFIG directly).
    set_keys = {*pulumi_config.CONFIG.get(), *pulumi_config.get_config_env()}
    return load(config.get, pulumi.get_stack(), environ, set_keys, pulumi.get_organization())
