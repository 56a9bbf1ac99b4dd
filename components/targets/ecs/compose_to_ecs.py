"""docker-compose.yml -> ECS container definitions, for the `ecs` target.

The compose file stays the one place services are defined. Every key it uses
must be one this module knows how to carry (SERVICE_KEYS says how); any other
key fails, naming the service and the key, so nothing is dropped silently.
Pure: no Pulumi, no AWS.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import yaml

MIGRATE_PROFILE = "migrate"
# Compose key -> what it becomes on ECS (docs/target-ecs.md's table says the same).
SERVICE_KEYS = {
    "image": "must be ${IMAGE...}: replaced by the pushed digest",
    "env_file": "must be .env: ENV_NAME as a variable, containerEnv as SSM secrets",
    "restart": "services: always/unless-stopped (the ECS scheduler replaces stopped tasks); migrate: no",
    "entrypoint": "entryPoint",
    "command": "command",
    "healthcheck": "healthCheck",
    "volumes": "named volumes only: an EFS access point mounted at the same path",
    "logging": "replaced by awslogs to the stack's CloudWatch log group",
    "profiles": f"only [{MIGRATE_PROFILE}]: the one-off migration task",
}
TOP_LEVEL_KEYS = ("services", "volumes")
HEALTHCHECK_KEYS = ("test", "interval", "timeout", "retries", "start_period", "disable")
# Compose's own defaults, so a healthcheck means on ECS what it means under compose.
HEALTHCHECK_DEFAULTS = {"interval": 30, "timeout": 30, "retries": 3, "startPeriod": 0}
# ECS ContainerDefinition.healthCheck limits (API_HealthCheck.html).
HEALTHCHECK_LIMITS = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
SERVICE_RESTARTS = ("always", "unless-stopped")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
DURATION_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
IMAGE_VARIABLE = re.compile(r"^\$\{IMAGE(?:[:?-][^}]*)?\}$")


class ComposeError(ValueError):
    """The compose file uses something ECS cannot run as written."""


@dataclass(frozen=True)
class Mount:
    volume: str
    path: str
    read_only: bool


@dataclass(frozen=True)
class ServiceSpec:
    """One compose service, in ECS terms."""

    name: str
    entry_point: list[str] | None
    command: list[str] | None
    health_check: dict | None
    """ECS healthCheck, or None when compose has none."""
    mounts: tuple[Mount, ...] = ()


@dataclass(frozen=True)
class ComposeApp:
    services: tuple[ServiceSpec, ...]
    """Long-running services: each becomes an ECS service."""
    migration: ServiceSpec | None
    """The `migrate` profile's service: run once per new task definition."""
    volumes: tuple[str, ...] = field(default=())


def load(path: Path) -> ComposeApp:
    """Read and convert PATH; errors name the file, the service and the key."""
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ComposeError(f"{path}: not valid YAML ({error})") from None
    return convert(document, str(path))


def convert(document: object, source: str) -> ComposeApp:
    if not isinstance(document, dict) or not isinstance(document.get("services"), dict):
        raise ComposeError(f"{source}: expected a mapping with `services`")
    unknown = [key for key in document if key not in TOP_LEVEL_KEYS and not str(key).startswith("x-")]
    if unknown:
        raise ComposeError(f"{source}: top-level key `{unknown[0]}` is not supported by the ecs target")
    volumes = _volumes(document.get("volumes") or {}, source)
    services, migrations = [], []
    for name, definition in document["services"].items():
        spec, one_off = _service(name, definition, volumes, source)
        (migrations if one_off else services).append(spec)
    if len(migrations) > 1:
        raise ComposeError(f"{source}: services {', '.join(m.name for m in migrations)} share profile "
                           f"`{MIGRATE_PROFILE}`; the ecs target runs one migration")
    if not services:
        raise ComposeError(f"{source}: no service outside a profile, nothing to run on ECS")
    return ComposeApp(tuple(services), migrations[0] if migrations else None, volumes)


def _volumes(volumes: object, source: str) -> tuple[str, ...]:
    if not isinstance(volumes, dict):
        raise ComposeError(f"{source}: top-level `volumes` must be a mapping")
    for name, options in volumes.items():
        if options:  # driver, driver_opts, external, name: nothing an EFS access point can honour
            raise ComposeError(f"{source}: volume `{name}`: key `{next(iter(options))}` is not supported "
                               "by the ecs target (a named volume becomes an EFS access point)")
    return tuple(volumes)


def _service(name: str, definition: object, volumes: tuple[str, ...], source: str) -> tuple[ServiceSpec, bool]:
    def error(key: str, expected: str) -> ComposeError:
        return ComposeError(f"{source}: service `{name}`, key `{key}`: {expected}")

    if not isinstance(definition, dict):
        raise error("", "expected a mapping")
    for key in definition:
        if key not in SERVICE_KEYS:
            raise error(key, "not supported by the ecs target (supported: " + ", ".join(SERVICE_KEYS) + ")")
    if not IMAGE_VARIABLE.match(str(definition.get("image", ""))):
        raise error("image", "expected ${IMAGE...}: the ecs target runs only the image the program pushed "
                    "(a service from another image, such as a Redis or a sidecar, runs on the host targets)")
    if definition.get("env_file", ".env") not in (".env", [".env"]):
        raise error("env_file", "expected .env: the ecs target sets ENV_NAME and the containerEnv secrets")
    profiles = definition.get("profiles", [])
    if profiles not in ([], [MIGRATE_PROFILE]):
        raise error("profiles", f"expected none or [{MIGRATE_PROFILE}], got {profiles!r}")
    one_off = bool(profiles)
    if not isinstance(definition.get("volumes", []), list):
        raise error("volumes", "expected a list")
    restart = str(definition.get("restart", "no" if one_off else "unless-stopped"))
    allowed = ("no",) if one_off else SERVICE_RESTARTS
    if restart not in allowed:
        raise error("restart", f"expected {' or '.join(allowed)} "
                    f"({'a one-off task' if one_off else 'ECS restarts every stopped service task'})")
    return ServiceSpec(
        name=name,
        entry_point=_argv(definition.get("entrypoint"), error("entrypoint", "expected a list or a string")),
        command=_argv(definition.get("command"), error("command", "expected a list or a string")),
        health_check=_health_check(definition.get("healthcheck"), error),
        mounts=tuple(_mount(item, volumes, error) for item in definition.get("volumes", [])),
    ), one_off


def _argv(value: object, invalid: ComposeError) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return shlex.split(value)  # compose splits a string the shell's way
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise invalid


def _mount(item: object, volumes: tuple[str, ...], error) -> Mount:
    parts = item.split(":") if isinstance(item, str) else []
    if len(parts) not in (2, 3) or parts[0] not in volumes or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
        raise error("volumes", f"expected NAME:/path[:ro] with NAME a top-level volume, got {item!r} "
                    "(bind mounts and long syntax are not supported by the ecs target)")
    return Mount(parts[0], parts[1], read_only=len(parts) == 3 and parts[2] == "ro")


def _health_check(healthcheck: object, error) -> dict | None:
    if healthcheck is None:
        return None
    if not isinstance(healthcheck, dict):
        raise error("healthcheck", "expected a mapping")
    for key in healthcheck:
        if key not in HEALTHCHECK_KEYS:
            raise error(f"healthcheck.{key}", "not supported by the ecs target "
                        "(supported: " + ", ".join(HEALTHCHECK_KEYS) + ")")
    test = healthcheck.get("test")
    if healthcheck.get("disable") is True or test == ["NONE"]:
        return None
    check = {"command": _health_command(test, error), **HEALTHCHECK_DEFAULTS}
    for compose_key, ecs_key in (("interval", "interval"), ("timeout", "timeout"), ("start_period", "startPeriod")):
        if compose_key in healthcheck:
            check[ecs_key] = _seconds(healthcheck[compose_key], error(f"healthcheck.{compose_key}", "expected a "
                                      f"duration in whole seconds like 10s or 1m30s, got {healthcheck[compose_key]!r}"))
    if "retries" in healthcheck:
        if not isinstance(healthcheck["retries"], int):
            raise error("healthcheck.retries", f"expected a whole number, got {healthcheck['retries']!r}")
        check["retries"] = healthcheck["retries"]
    for key, (low, high) in HEALTHCHECK_LIMITS.items():
        if not low <= check[key] <= high:
            raise error(f"healthcheck.{_compose_name(key)}",
                        f"ECS allows {low} to {high}{'' if key == 'retries' else ' seconds'}, got {check[key]}")
    return check


def _health_command(test: object, error) -> list[str]:
    """The compose `test` forms: a string (run by a shell), [CMD, ...], [CMD-SHELL, command]."""
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    if isinstance(test, list) and len(test) >= 2 and test[0] in ("CMD", "CMD-SHELL") and all(
            isinstance(part, str) for part in test):
        return test
    raise error("healthcheck.test", "expected a string, [CMD, ...], [CMD-SHELL, command] or [NONE]")


def _compose_name(ecs_key: str) -> str:
    return "start_period" if ecs_key == "startPeriod" else ecs_key


def _seconds(value: object, invalid: ComposeError) -> int:
    """Compose duration (`10s`, `1m30s`, `500ms`) as whole seconds, which ECS requires."""
    text = str(value)
    if not re.fullmatch(f"(?:{DURATION_PART.pattern})+", text):
        raise invalid
    total = sum(float(number) * DURATION_UNITS[unit] for number, unit in DURATION_PART.findall(text))
    if abs(total - round(total)) > 1e-9:
        raise invalid
    return round(total)


def container_definition(spec: ServiceSpec, *, image: str, environment: dict[str, str],
                         secrets: dict[str, str], log_group: str, region: str) -> dict:
    """ECS ContainerDefinition (API shape) for SPEC.

    ENVIRONMENT holds plain values; SECRETS maps a variable to the ARN of the
    parameter it is read from, so no secret value is in the definition.
    Mounts name the task definition's volume after the compose volume."""
    definition = {
        "name": spec.name,
        "image": image,
        "essential": True,
        "environment": [{"name": key, "value": value} for key, value in sorted(environment.items())],
        "secrets": [{"name": key, "valueFrom": arn} for key, arn in sorted(secrets.items())],
        "mountPoints": [{"sourceVolume": m.volume, "containerPath": m.path, "readOnly": m.read_only}
                        for m in spec.mounts],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": spec.name,
        }},
    }
    if spec.entry_point is not None:
        definition["entryPoint"] = spec.entry_point
    if spec.command is not None:
        definition["command"] = spec.command
    if spec.health_check is not None:
        definition["healthCheck"] = spec.health_check
    return definition
