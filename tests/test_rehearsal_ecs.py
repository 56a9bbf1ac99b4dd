"""The ecs target through the real engine, on moto.

The real CLI runs the real program as in tests/test_rehearsal.py; the aws
stand-in carries out every resource on moto, and the migration runs as the
program runs it (`python -m components.ecs_rollout migrate` against moto's
task lifecycle). moto reports no task `imageDigest` and no deployment
`rolloutState`, so `app-verify` is left out with `--exclude`
(tests/test_ecs_rollout.py checks the verifier with those fields filled in).
The image is a manifest put into moto's ECR, pinned by digest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.aws_rehearsal import EXCLUDE_VERIFY, TOKEN, Aws, World, network, start_world

POLICY_PACK = Path(__file__).resolve().parent.parent / "policy"
SERVICES = ("miner", "classifier")
ROTATED = "rotated token"


@pytest.fixture(scope="module")
def env_name(run_id) -> str:
    return f"e-{run_id}"


@pytest.fixture(scope="module")
def world(tmp_path_factory, aws_api, env_name, pulumi_cli) -> World:
    return start_world(tmp_path_factory.mktemp("aws-ecs"), aws_api, f"whatsapp-miner-{env_name}", [env_name])


@dataclass
class EcsStack:
    stack: str
    cluster: str
    project: str

    def services(self, aws: Aws) -> dict[str, dict]:
        ecs = aws.client("ecs")
        arns = ecs.list_services(cluster=self.cluster)["serviceArns"]
        described = ecs.describe_services(cluster=self.cluster, services=arns)["services"] if arns else []
        return {service["serviceName"]: service for service in described if service["status"] == "ACTIVE"}

    def container(self, aws: Aws, service: str) -> dict:
        task_definition = self.services(aws)[service]["taskDefinition"]
        (container,) = aws.client("ecs").describe_task_definition(taskDefinition=task_definition)[
            "taskDefinition"]["containerDefinitions"]
        return container


@pytest.fixture(scope="module")
def ecs_stack(world, env_name) -> EcsStack:
    subnets, group = network(world.aws.client("ec2"), env_name)
    stack = world.stack("aws-ecs", env_name, {
        "whatsapp-miner:imageDigest": world.push("ecs image 1"),
        "whatsapp-miner:ecsSubnets": json.dumps(subnets),
        "whatsapp-miner:ecsSecurityGroups": json.dumps([group]),
    })
    world.cli.up(stack, *EXCLUDE_VERIFY)
    project = f"whatsapp-miner-{env_name}"
    return EcsStack(stack, project, project)


def test_each_compose_service_runs_as_a_service_on_the_pushed_digest(world, ecs_stack):
    services = ecs_stack.services(world.aws)
    assert {name: s["desiredCount"] for name, s in services.items()} == {"miner": 2, "classifier": 1}
    digest = world.cli.run("config", "get", "--stack", ecs_stack.stack, "whatsapp-miner:imageDigest").stdout.strip()
    repository_url = world.cli.outputs("registry")["repositoryUrl"]
    for name in SERVICES:
        # moto keeps no deploymentConfiguration: the circuit breaker is tests/test_ecs_program.py's.
        assert services[name]["launchType"] == "FARGATE"
        assert services[name]["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
        container = ecs_stack.container(world.aws, name)
        assert container["image"] == f"{repository_url}@{digest}"
        assert TOKEN not in json.dumps(container)  # the secret is a parameter reference
        (secret,) = container["secrets"]
        assert secret["name"] == "WHATSAPP_API_TOKEN"


def test_secrets_are_secure_string_parameters(world, ecs_stack):
    parameter = world.aws.client("ssm").get_parameter(Name=f"/{ecs_stack.project}/WHATSAPP_API_TOKEN",
                                                      WithDecryption=True)["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("SecureString", TOKEN)
    assert ecs_stack.container(world.aws, "miner")["secrets"][0]["valueFrom"] == parameter["ARN"]


def test_logs_and_the_data_volume_are_created_as_declared(world, ecs_stack):
    (group,) = world.aws.client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{ecs_stack.project}")[
        "logGroups"]
    assert group["retentionInDays"] == 30
    efs = world.aws.client("efs")
    mount = ecs_stack.container(world.aws, "miner")["mountPoints"][0]
    volumes = world.aws.client("ecs").describe_task_definition(
        taskDefinition=ecs_stack.services(world.aws)["miner"]["taskDefinition"])["taskDefinition"]["volumes"]
    access_point_id = volumes[0]["efsVolumeConfiguration"]["authorizationConfig"]["accessPointId"]
    (point,) = efs.describe_access_points(AccessPointId=access_point_id)["AccessPoints"]
    assert point["PosixUser"] == {"Uid": 10001, "Gid": 10001}
    assert mount["sourceVolume"] == volumes[0]["name"]
    (system,) = efs.describe_file_systems(FileSystemId=point["FileSystemId"])["FileSystems"]
    assert system["Encrypted"] is True


def test_a_second_run_of_the_ecs_stack_changes_nothing(world, ecs_stack):
    # The policy pack every CI preview runs (issue 22) passes on what the real engine plans.
    done = world.cli.preview(ecs_stack.stack, "--expect-no-changes", "--policy-pack", str(POLICY_PACK), *EXCLUDE_VERIFY)
    assert "whatsapp-miner-guardrails" in done.stdout and "[mandatory]" not in done.stdout


def task_definitions(world: World, ecs_stack: EcsStack) -> dict[str, str]:
    return {name: s["taskDefinition"] for name, s in ecs_stack.services(world.aws).items()}


def test_a_new_desired_count_updates_only_that_service(world, ecs_stack):
    before = task_definitions(world, ecs_stack)
    world.cli.run("config", "set", "--stack", ecs_stack.stack, "whatsapp-miner:ecsDesiredCount",
                  json.dumps({"miner": 3, "classifier": 1}))
    assert world.cli.up_changes(ecs_stack.stack, *EXCLUDE_VERIFY) == {"app-service-miner": "update"}
    assert ecs_stack.services(world.aws)["miner"]["desiredCount"] == 3
    assert task_definitions(world, ecs_stack) == before


def test_a_new_secret_value_registers_new_task_definitions_and_migrates_again(world, ecs_stack):
    before = task_definitions(world, ecs_stack)
    world.cli.environ["WHATSAPP_API_TOKEN"] = ROTATED  # and from now on
    done = world.cli.up_changes(ecs_stack.stack, *EXCLUDE_VERIFY)
    assert done == {"app-secret-WHATSAPP_API_TOKEN": "update", "app-migrate": "replace",
                    **{f"app-taskdef-{name}": "replace" for name in (*SERVICES, "migrate")},
                    **{f"app-service-{name}": "update" for name in SERVICES}}
    after = task_definitions(world, ecs_stack)
    assert all(after[name] != before[name] for name in SERVICES)
    ecs = world.aws.client("ecs")
    assert all(ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"] == "INACTIVE"
               for arn in before.values())
    parameter = world.aws.client("ssm").get_parameter(Name=f"/{ecs_stack.project}/WHATSAPP_API_TOKEN",
                                                      WithDecryption=True)["Parameter"]
    assert (parameter["Value"], parameter["Version"]) == (ROTATED, 2)


def test_a_new_image_registers_task_definitions_on_its_digest(world, ecs_stack):
    digest = world.push("ecs image 2")
    world.cli.run("config", "set", "--stack", ecs_stack.stack, "whatsapp-miner:imageDigest", digest)
    done = world.cli.up_changes(ecs_stack.stack, *EXCLUDE_VERIFY)
    assert done["app-migrate"] == "replace" and done["app-tags"] == "replace"
    assert all(ecs_stack.container(world.aws, name)["image"].endswith("@" + digest) for name in SERVICES)


def test_a_desired_count_and_a_log_retention_changed_outside_pulumi_are_put_back_by_a_refresh(world, ecs_stack):
    """The service and the log group are read on refresh (terraform-provider-aws
    resourceServiceRead, resourceGroupRead): drift there is seen and undone."""
    logs, group = world.aws.client("logs"), f"/ecs/{ecs_stack.project}"
    world.aws.client("ecs").update_service(cluster=ecs_stack.cluster, service="miner", desiredCount=5)
    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    world.cli.preview(ecs_stack.stack, "--expect-no-changes", *EXCLUDE_VERIFY)  # the state alone sees nothing
    assert world.cli.preview_changes(ecs_stack.stack, "--refresh", *EXCLUDE_VERIFY) == \
        {"app-service-miner": "update", "app-logs": "update"}
    world.cli.up(ecs_stack.stack, "--refresh", *EXCLUDE_VERIFY)
    assert ecs_stack.services(world.aws)["miner"]["desiredCount"] == 3
    (found,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert found["retentionInDays"] == 30


def test_a_secret_overwritten_outside_pulumi_is_put_back_by_a_refresh(world, ecs_stack):
    """The parameter is read on refresh (terraform-provider-aws resourceParameterRead): a value
    overwritten outside Pulumi is put back, and a new version reaches the tasks as any new value does."""
    ssm, name = world.aws.client("ssm"), f"/{ecs_stack.project}/WHATSAPP_API_TOKEN"
    ssm.put_parameter(Name=name, Type="SecureString", Value="tampered", Overwrite=True)
    world.cli.preview(ecs_stack.stack, "--expect-no-changes", *EXCLUDE_VERIFY)  # the state alone sees nothing
    assert world.cli.preview_changes(ecs_stack.stack, "--refresh", *EXCLUDE_VERIFY)[
        "app-secret-WHATSAPP_API_TOKEN"] == "update"
    world.cli.up(ecs_stack.stack, "--refresh", *EXCLUDE_VERIFY)
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == ROTATED
    assert "tampered" not in world.cli.text()


def test_destroying_the_ecs_stack_keeps_only_the_data(world, ecs_stack):
    system_ids = {s["FileSystemId"] for s in world.aws.client("efs").describe_file_systems()["FileSystems"]}
    world.cli.destroy(ecs_stack.stack)
    ecs = world.aws.client("ecs")
    assert ecs.describe_clusters(clusters=[ecs_stack.cluster])["clusters"] == [] or \
        ecs.describe_clusters(clusters=[ecs_stack.cluster])["clusters"][0]["status"] == "INACTIVE"
    assert world.aws.client("ssm").get_parameters_by_path(Path=f"/{ecs_stack.project}")["Parameters"] == []
    assert world.aws.client("logs").describe_log_groups(logGroupNamePrefix=f"/ecs/{ecs_stack.project}")[
        "logGroups"] == []
    # removeDataOnDestroy is off: the file system leaves the stack and stays.
    assert system_ids <= {s["FileSystemId"] for s in world.aws.client("efs").describe_file_systems()["FileSystems"]}
