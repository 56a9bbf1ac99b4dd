"""The ecs target's resource graph, under Pulumi mocks, from the example stack
docs/target-ecs.md shows (tests/stacks/Pulumi.ecs-example.yaml) and the real compose file."""

from __future__ import annotations

import json
import shlex

import pytest
import yaml

from components.config.settings import SettingsError
from components.targets.ecs import compose_to_ecs
from components.targets.ecs.deployment import APP_UID
from components.targets.host import commands
from tests.support import docs
from tests.support.pulumi_program import ROOT, STACK_FILES, SUBNET_VPC, ProgramRun, run_stack
from tests.test_program import API_TOKEN, SECRET_KEY, doppler_env

STACK = "ecs-example"
COMPOSE = compose_to_ecs.load(ROOT / "docker-compose.yml")
SERVICES = [spec.name for spec in COMPOSE.services]


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return run_stack(STACK, doppler_env())


def containers(run: ProgramRun, service: str) -> list[dict]:
    return json.loads(run.named(f"app-taskdef-{service}").inputs["containerDefinitions"])


def test_each_compose_service_is_one_fargate_service_with_its_count_network_and_circuit_breaker(run):
    services = run.of_type("aws:ecs/service:Service")
    assert sorted(s.inputs["name"] for s in services) == sorted(SERVICES)
    assert "migrate" not in {s.inputs["name"] for s in services}  # a profile service: the one-off task
    counts = {s.inputs["name"]: s.inputs["desiredCount"] for s in services}
    assert counts == {"miner": 2, "classifier": 1}  # ecsDesiredCount in the stack file
    for service in services:
        inputs = service.inputs
        assert inputs["launchType"] == "FARGATE"
        assert inputs["networkConfiguration"] == {"subnets": ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"],
                                                  "securityGroups": ["sg-0123456789abcdef0"],
                                                  "assignPublicIp": False}
        assert inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        family = run.named(f"app-taskdef-{inputs['name']}").inputs["family"]
        assert inputs["taskDefinition"] == f"arn:aws:ecs:eu-west-1:123456789012:task-definition/{family}:1"
        assert service.provider.startswith(run.named("aws").urn)


def test_task_definitions_run_the_pushed_digest_with_compose_entrypoints_and_healthchecks(run):
    image = run.outputs["imageRef"]
    assert "@sha256:" in image
    for spec in (*COMPOSE.services, COMPOSE.migration):
        task = run.named(f"app-taskdef-{spec.name}").inputs
        assert (task["requiresCompatibilities"], task["networkMode"]) == (["FARGATE"], "awsvpc")
        assert (task["cpu"], task["memory"]) == ("256", "512")
        [container] = containers(run, spec.name)
        assert container["image"] == image
        assert container.get("entryPoint") == spec.entry_point
        assert container.get("healthCheck") == spec.health_check
        assert container["logConfiguration"]["options"]["awslogs-group"] == "/ecs/whatsapp-miner-prd"
    assert containers(run, "miner")[0]["healthCheck"]["command"][0] == "CMD"


def test_no_secret_is_in_a_container_definition_only_parameter_references(run):
    parameter = run.named("app-secret-WHATSAPP_API_TOKEN")
    assert parameter.inputs["type"] == "SecureString"
    assert parameter.inputs["name"] == "/whatsapp-miner-prd/WHATSAPP_API_TOKEN"
    assert parameter.inputs["value"] == API_TOKEN and "value" in parameter.secret_inputs
    for service in (*SERVICES, "migrate"):
        definitions = run.named(f"app-taskdef-{service}").inputs["containerDefinitions"]
        assert API_TOKEN not in definitions and SECRET_KEY not in definitions
        [container] = json.loads(definitions)
        # A new secret value is a new parameter version, so a new task definition that replaces the tasks.
        assert container["environment"] == [{"name": "ENV_NAME", "value": "prd"},
                                            {"name": "WHATSAPP_MINER_SECRETS_VERSION", "value": "WHATSAPP_API_TOKEN:1"}]
        assert container["secrets"] == [{"name": "WHATSAPP_API_TOKEN", "valueFrom":
                                         "arn:aws:ssm:eu-west-1:123456789012:app-secret-WHATSAPP_API_TOKEN"}]


def test_migration_runs_before_the_services_change_and_verification_after(run):
    migrate = run.named("app-migrate")
    assert run.depends_on("app-migrate", "app-taskdef-migrate")
    assert migrate.inputs["triggers"] == [
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/whatsapp-miner-prd-migrate:1"]
    argv = shlex.split(migrate.inputs["create"])
    assert argv[:4] == [".venv/bin/python", "-m", "components.ecs_rollout", "migrate"]
    assert argv[argv.index("--task-definition") + 1] == migrate.inputs["triggers"][0]
    for service in SERVICES:
        assert run.depends_on(f"app-service-{service}", "app-migrate"), service
        assert run.depends_on("app-verify", f"app-service-{service}"), service
    verify = shlex.split(run.named("app-verify").inputs["create"])
    assert verify[3] == "verify"
    digest = run.outputs["imageRef"].split("@")[1]
    assert verify[verify.index("--digest") + 1] == run.outputs["deployedDigest"] == digest
    targets = dict(verify[i + 1].split("=", 1) for i, word in enumerate(verify) if word == "--service")
    assert targets == {s: run.named(f"app-service-{s}").inputs["taskDefinition"] for s in SERVICES}
    assert json.loads(run.outputs["status"])["verified"] is True


def test_no_secret_value_is_in_any_plaintext_input_or_output(run):
    for registration in run.registrations:
        text = json.dumps(registration.plain_inputs())
        for secret in ("AKIAEXAMPLE", SECRET_KEY, API_TOKEN):
            assert secret not in text, f"{registration.name} shows a secret in plaintext"
    assert not any(secret in json.dumps(run.outputs) for secret in ("AKIAEXAMPLE", SECRET_KEY, API_TOKEN))


def test_a_compose_key_ecs_cannot_carry_fails_before_any_resource(tmp_path, monkeypatch):
    compose = (ROOT / "docker-compose.yml").read_text().replace("  miner:\n", "  miner:\n    ports: [\"80:80\"]\n")
    (tmp_path / "docker-compose.yml").write_text(compose)
    monkeypatch.setattr(commands, "COMPOSE_FILE", str(tmp_path / "docker-compose.yml"))
    declared: list = []
    with pytest.raises(compose_to_ecs.ComposeError, match="service `miner`, key `ports`: not supported"):
        run_stack(STACK, doppler_env(), record_into=declared)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]


def test_rollout_commands_hold_no_credential_only_their_region(run):
    for name in ("app-migrate", "app-verify", "app-tags"):
        command = run.named(name)
        assert command.inputs["environment"]["AWS_DEFAULT_REGION"] == "eu-west-1"
        assert "AWS_ACCESS_KEY_ID" not in command.inputs["environment"]
        assert "AKIAEXAMPLE" not in json.dumps(command.inputs) and SECRET_KEY not in json.dumps(command.inputs)


def test_the_execution_role_pulls_one_repository_writes_one_log_group_reads_its_parameters(run):
    statements = json.loads(run.named("app-execution-grants").inputs["policy"])["Statement"]
    resources = {json.dumps(s["Action"]): s["Resource"] for s in statements}
    assert resources == {
        '"ecr:GetAuthorizationToken"': "*",
        '["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]':
            "arn:aws:ecr:eu-west-1:123456789012:repository/whatsapp-miner",  # the registry stack's
        '["logs:CreateLogStream", "logs:PutLogEvents"]':
            "arn:aws:cloudwatch:eu-west-1:123456789012:app-logs:log-stream:*",
        '"ssm:GetParameters"': ["arn:aws:ssm:eu-west-1:123456789012:app-secret-WHATSAPP_API_TOKEN"],
    }
    # The task role gets nothing: no inline policy, no attachment.
    assert [r.inputs["role"] for r in run.of_type("aws:iam/rolePolicy:RolePolicy")] == ["app-execution-id"]
    assert not run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    task = run.named("app-taskdef-miner").inputs
    assert task["taskRoleArn"].endswith(":app-task") and task["executionRoleArn"].endswith(":app-execution")


def test_logs_go_to_cloudwatch_with_the_configured_retention(run):
    assert run.named("app-logs").inputs == {"name": "/ecs/whatsapp-miner-prd", "retentionInDays": 30}
    longer = run_stack(STACK, doppler_env(), {"whatsapp-miner:ecsLogRetentionDays": "365"})
    assert longer.named("app-logs").inputs["retentionInDays"] == 365


def test_the_data_volume_is_an_encrypted_efs_access_point_owned_by_the_image_user(run):
    assert run.named("app-efs").inputs["encrypted"] is True
    # Like the host's data volume, kept by `pulumi destroy` unless removeDataOnDestroy says otherwise.
    assert run.named("app-efs").retain_on_delete is True
    removed = run_stack(STACK, doppler_env(), {"whatsapp-miner:removeDataOnDestroy": "true"})
    assert removed.named("app-efs").retain_on_delete is False
    access_point = run.named("app-volume-data").inputs
    assert access_point["posixUser"] == {"uid": APP_UID, "gid": APP_UID}
    assert f"USER {APP_UID}\n" in (ROOT / "Dockerfile").read_text()
    [volume] = run.named("app-taskdef-miner").inputs["volumes"]
    assert volume["efsVolumeConfiguration"]["transitEncryption"] == "ENABLED"
    assert {r.inputs["subnetId"] for r in run.of_type("aws:efs/mountTarget:MountTarget")} == {
        "subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"}
    nfs = run.named("app-nfs").inputs
    assert nfs["vpcId"] == SUBNET_VPC
    assert nfs["ingress"][0]["securityGroups"] == ["sg-0123456789abcdef0"]
    for mount in run.of_type("aws:efs/mountTarget:MountTarget"):
        assert run.depends_on("app-migrate", mount.name)


def test_no_host_resources_are_declared_for_ecs(run):
    assert not [r for r in run.registrations if r.type.startswith("command:remote")]
    # Local only: the tag move, and the rollout's migration and verification.
    assert {r.name for r in run.of_type("command:local:Command")} == {"app-tags", "app-migrate", "app-verify"}
    assert "host" not in run.outputs and run.outputs["cluster"] == "whatsapp-miner-prd"


def test_the_ecs_page_shows_the_example_stack_file():
    example = STACK_FILES[STACK].read_text()
    config = example[example.index("config:"):]
    assert config.strip() in [block.strip() for block in docs.code_blocks("target-ecs.md")]
    assert yaml.safe_load(config)["config"]["whatsapp-miner:target"] == "ecs"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"whatsapp-miner:ecsSubnets": ""}, "whatsapp-miner:ecsSubnets in Pulumi.ecs-example.yaml: expected a list"),
        ({"whatsapp-miner:ecsSecurityGroups": '["default"]'}, "whatsapp-miner:ecsSecurityGroups in Pulumi.ecs-example"
         ".yaml: expected a list of ids like [sg-0123abcd], got '[\"default\"]'"),
        ({"whatsapp-miner:ecsDesiredCount": '{"migrate": 1}'},
         "whatsapp-miner:ecsDesiredCount in Pulumi.ecs-example.yaml: expected services of docker-compose.yml "
         "(miner, classifier), got 'migrate'"),
        ({"whatsapp-miner:ecsDesiredCount": '{"miner": -1}'}, "whatsapp-miner:ecsDesiredCount in Pulumi.ecs-"),
        ({"whatsapp-miner:ecsMemory": "3000"}, "whatsapp-miner:ecsMemory in Pulumi.ecs-example.yaml: expected 512 "
         "to 2048 MiB in steps of 512 (Fargate, with ecsCpu 256), got 3000"),
        ({"whatsapp-miner:ecsCpu": "300"}, "whatsapp-miner:ecsCpu in Pulumi.ecs-example.yaml: expected one of 256"),
        ({"whatsapp-miner:ecsLogRetentionDays": "10"}, "whatsapp-miner:ecsLogRetentionDays in Pulumi.ecs-example"),
        ({"whatsapp-miner:deploy": "false"}, "whatsapp-miner:deploy in Pulumi.ecs-example.yaml: expected true for "
         "the ecs target"),
        ({"whatsapp-miner:push": "false"}, "whatsapp-miner:push in Pulumi.ecs-example.yaml: expected true: the ecs"),
    ],
)
def test_bad_ecs_config_fails_naming_key_and_stack_file_before_any_resource(config, message):
    declared: list = []
    with pytest.raises(SettingsError) as error:
        run_stack(STACK, doppler_env(), config, record_into=declared)
    assert message in str(error.value)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]


def test_preview_shows_task_definitions_and_rollout_as_computed_until_the_image_is_built():
    preview = run_stack(STACK, doppler_env(), preview=True)
    assert {s.inputs["name"] for s in preview.of_type("aws:ecs/service:Service")} == set(SERVICES)
    assert "deployedDigest" not in preview.outputs

