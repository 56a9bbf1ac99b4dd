"""The compose file converted for the ecs target: the real file, and files it must refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from components.targets.ecs import compose_to_ecs
from components.targets.ecs.compose_to_ecs import ComposeError

ROOT = Path(__file__).resolve().parents[1]
GOOD_SERVICE = {"image": "${IMAGE:?set}", "env_file": ".env", "entrypoint": ["python3", "-m", "app.miner"]}


def convert(services: dict, **top) -> compose_to_ecs.ComposeApp:
    return compose_to_ecs.convert({"services": services, **top}, "bad-compose.yml")


def test_the_real_compose_file_gives_each_service_its_entrypoint_healthcheck_and_volume():
    app = compose_to_ecs.load(ROOT / "docker-compose.yml")
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert [s.name for s in app.services] == [n for n, s in compose.items() if "profiles" not in s]
    assert app.migration.name == "migrate"
    assert app.migration.entry_point == ["python3", "-m", "app.migrate"]
    miner = app.services[0]
    assert miner.entry_point == ["python3", "-m", "app.miner"]
    assert miner.health_check == {"command": ["CMD", "python3", "-m", "app.healthcheck", "miner"],
                                  "interval": 10, "timeout": 5, "retries": 3, "startPeriod": 20}
    assert app.volumes == ("data",)
    assert all(s.mounts == (compose_to_ecs.Mount("data", "/data", False),) for s in (*app.services, app.migration))


def test_a_container_definition_has_the_digest_plain_env_name_and_secrets_only_by_reference():
    app = compose_to_ecs.load(ROOT / "docker-compose.yml")
    image = "123.dkr.ecr.eu-west-1.amazonaws.com/w@sha256:" + "a" * 64
    definition = compose_to_ecs.container_definition(
        app.services[1], image=image, environment={"ENV_NAME": "dev"},
        secrets={"TOKEN": "arn:aws:ssm:eu-west-1:123:parameter/w/dev/TOKEN"}, log_group="/w/dev", region="eu-west-1")
    assert definition["image"] == image
    assert definition["environment"] == [{"name": "ENV_NAME", "value": "dev"}]
    assert definition["secrets"] == [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:eu-west-1:123:parameter/w/dev/TOKEN"}]
    assert definition["entryPoint"] == ["python3", "-m", "app.classifier"]
    assert "command" not in definition
    assert definition["mountPoints"] == [{"sourceVolume": "data", "containerPath": "/data", "readOnly": False}]
    assert definition["logConfiguration"]["options"] == {
        "awslogs-group": "/w/dev", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "classifier"}


def test_a_read_only_volume_becomes_a_read_only_mount_point():
    app = convert({"miner": {**GOOD_SERVICE, "volumes": ["data:/data:ro"]}}, volumes={"data": None})
    definition = compose_to_ecs.container_definition(
        app.services[0], image="w@sha256:" + "a" * 64, environment={}, secrets={}, log_group="/w/dev",
        region="eu-west-1")
    assert definition["mountPoints"] == [{"sourceVolume": "data", "containerPath": "/data", "readOnly": True}]


@pytest.mark.parametrize(
    ("test", "command"),
    [
        (["CMD", "pgrep", "python3"], ["CMD", "pgrep", "python3"]),
        (["CMD-SHELL", "test -f /tmp/ok"], ["CMD-SHELL", "test -f /tmp/ok"]),
        ("test -f /tmp/ok || exit 1", ["CMD-SHELL", "test -f /tmp/ok || exit 1"]),
    ],
)
def test_each_healthcheck_test_form_becomes_an_ecs_command(test, command):
    app = convert({"miner": {**GOOD_SERVICE, "healthcheck": {"test": test, "interval": "1m30s"}}})
    # Compose's defaults where the file says nothing: a 30s timeout, not ECS's 5s.
    assert app.services[0].health_check == {"command": command, "interval": 90, "timeout": 30,
                                            "retries": 3, "startPeriod": 0}


def test_a_disabled_healthcheck_and_a_string_entrypoint_convert():
    app = convert({"miner": {**GOOD_SERVICE, "entrypoint": "python3 -m 'app.miner'", "command": "--once",
                             "healthcheck": {"test": ["NONE"]}}})
    assert app.services[0].health_check is None
    assert app.services[0].entry_point == ["python3", "-m", "app.miner"]
    assert app.services[0].command == ["--once"]


@pytest.mark.parametrize(
    ("services", "top", "message"),
    [
        ({"miner": {**GOOD_SERVICE, "ports": ["80:80"]}}, {}, "service `miner`, key `ports`: not supported"),
        ({"miner": {**GOOD_SERVICE, "depends_on": ["db"]}}, {}, "service `miner`, key `depends_on`"),
        ({"miner": {**GOOD_SERVICE, "image": "busybox"}}, {}, "service `miner`, key `image`: expected ${IMAGE"),
        ({"miner": {**GOOD_SERVICE, "env_file": "prod.env"}}, {}, "service `miner`, key `env_file`"),
        ({"miner": {**GOOD_SERVICE, "restart": "on-failure"}}, {}, "service `miner`, key `restart`"),
        ({"miner": GOOD_SERVICE, "migrate": {**GOOD_SERVICE, "profiles": ["migrate"], "restart": "always"}}, {},
         "service `migrate`, key `restart`: expected no"),
        ({"miner": {**GOOD_SERVICE, "profiles": ["debug"]}}, {}, "service `miner`, key `profiles`"),
        ({"miner": {**GOOD_SERVICE, "volumes": ["./data:/data"]}}, {}, "service `miner`, key `volumes`"),
        ({"miner": {**GOOD_SERVICE, "volumes": ["cache:/cache"]}}, {"volumes": {"data": None}},
         "service `miner`, key `volumes`: expected NAME:/path[:ro] with NAME a top-level volume, got 'cache:/cache'"),
        ({"miner": GOOD_SERVICE}, {"volumes": {"data": {"driver": "local"}}}, "volume `data`: key `driver`"),
        ({"miner": GOOD_SERVICE}, {"networks": {"back": None}}, "top-level key `networks` is not supported"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": ["CMD"], "interval": "10s"}}}, {},
         "service `miner`, key `healthcheck.test`"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": "true", "interval": "1.5s"}}}, {},
         "service `miner`, key `healthcheck.interval`: expected a duration in whole seconds"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": "true", "interval": "ten"}}}, {},
         "key `healthcheck.interval`"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": "true", "interval": "2s"}}}, {},
         "service `miner`, key `healthcheck.interval`: ECS allows 5 to 300 seconds, got 2"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": "true", "start_period": "6m"}}}, {},
         "key `healthcheck.start_period`: ECS allows 0 to 300 seconds, got 360"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": "true", "retries": 11}}}, {},
         "key `healthcheck.retries`: ECS allows 1 to 10, got 11"),
        ({"miner": {**GOOD_SERVICE, "healthcheck": {"test": "true", "start_interval": "1s"}}}, {},
         "key `healthcheck.start_interval`: not supported"),
        ({"miner": {**GOOD_SERVICE, "profiles": ["migrate"]}}, {}, "no service outside a profile"),
        ({"miner": GOOD_SERVICE, "m1": {**GOOD_SERVICE, "profiles": ["migrate"]},
          "m2": {**GOOD_SERVICE, "profiles": ["migrate"]}}, {}, "services m1, m2 share profile `migrate`"),
    ],
)
def test_what_ecs_cannot_carry_fails_naming_the_service_and_key(services, top, message):
    with pytest.raises(ComposeError) as error:
        convert(services, **top)
    assert message in str(error.value)
    assert str(error.value).startswith("bad-compose.yml: ")


def test_an_unreadable_file_is_named(tmp_path):
    path = tmp_path / "docker-compose.yml"
    path.write_text("services: [unclosed")
    with pytest.raises(ComposeError, match=f"{path}: not valid YAML"):
        compose_to_ecs.load(path)
