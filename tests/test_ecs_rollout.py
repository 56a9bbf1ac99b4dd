"""The ecs target's migration runner and verifier against moto's ECS API.

moto runs the real calls (run_task, the tasks_stopped waiter over its task
lifecycle, stop_task, services, task definitions). What moto never reports,
the stand-in below adds, each field as the AWS API reference describes it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest

from components import ecs_rollout
from components.ecs_rollout import RolloutError

ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-west-1"
DIGEST = "sha256:" + "d" * 64
OTHER_DIGEST = "sha256:" + "e" * 64


class EcsWithFieldsMotoOmitsStandin:
    """A stand-in: moto's real ECS client, with the answers moto does not give.

    - describe_tasks: a container's `exitCode` (moto always says 0), or none
      (None here: the field left out), and `imageDigest` (moto never sets it).
      API_Container: "exitCode: The exit code returned from the container",
      "Required: No": a container that never ran (its image not pulled, say)
      has none; "imageDigest: The container image manifest digest."
    - list_tasks: `serviceName` "limits the results to tasks that belong to
      that service" (API_ListTasks); moto ignores it (moto/ecs/models.py
      list_tasks: "We can't filter on `service_name`"). A service's tasks
      are in group `service:NAME` (API_Task `group`).
    - describe_services: the PRIMARY deployment's `taskDefinition`,
      `rolloutState` and `desiredCount` (API_Deployment); moto keeps the
      deployment it made at create_service and never advances it.
    """

    def __init__(self, client, *, exit_codes=None, image_digest=None, deployments=None):
        self._client = client
        self._exit_codes = exit_codes or {}
        self._image_digest = image_digest
        self._deployments = list(deployments or [])
        self.deployment_calls = 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def describe_tasks(self, **kwargs):
        answer = self._client.describe_tasks(**kwargs)
        for task in answer["tasks"]:
            for container in task["containers"]:
                if self._exit_codes.get(container["name"], 0) is None:
                    container.pop("exitCode", None)
                elif container["name"] in self._exit_codes:
                    container["exitCode"] = self._exit_codes[container["name"]]
                if self._image_digest:
                    container["imageDigest"] = self._image_digest
        return answer

    def list_tasks(self, *, serviceName=None, **kwargs):
        arns = self._client.list_tasks(**kwargs)["taskArns"]
        if serviceName and arns:
            tasks = self._client.describe_tasks(cluster=kwargs["cluster"], tasks=arns)["tasks"]
            arns = [t["taskArn"] for t in tasks if t["group"] == f"service:{serviceName}"]
        return {"taskArns": arns}

    def describe_services(self, **kwargs):
        answer = self._client.describe_services(**kwargs)
        # One answer per call while the test gave several: a rollout as it progresses.
        rollout = self._deployments[min(self.deployment_calls, len(self._deployments) - 1)]
        self.deployment_calls += 1
        for service in answer["services"]:
            primary = next(d for d in service["deployments"] if d["status"] == "PRIMARY")
            primary.update(rollout[service["serviceName"]])
        return answer


@pytest.fixture(scope="module")
def aws(aws_api) -> dict:
    """A cluster, subnet and security group in moto, and the credentials to reach them."""
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION,
           "AWS_ENDPOINT_URL": aws_api}
    session = boto3.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=aws_api)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    # moto names a task's network interface only in a VPC with DNS hostnames, and fails run_task without.
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"tasks-{uuid.uuid4().hex[:8]}", Description="tasks",
                                      VpcId=vpc)["GroupId"]
    ecs = session.client("ecs", endpoint_url=aws_api)
    cluster = ecs.create_cluster(clusterName=f"whatsapp-miner-test-{uuid.uuid4().hex[:8]}")["cluster"]["clusterName"]
    return {"ecs": ecs, "cluster": cluster, "subnet": subnet, "group": group, "env": env, "endpoint": aws_api}


def register(aws, name: str) -> str:
    return aws["ecs"].register_task_definition(
        family=f"{aws['cluster']}-{name}", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        containerDefinitions=[{
            "name": name, "image": f"123456789012.dkr.ecr.{REGION}.amazonaws.com/w@{DIGEST}", "essential": True,
            "memory": 512,  # optional on Fargate, but moto's run_task adds up container memory
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/whatsapp-miner/test", "awslogs-region": REGION, "awslogs-stream-prefix": name}},
        }],
    )["taskDefinition"]["taskDefinitionArn"]


def migrate(aws, client, task_definition: str, timeout: int = 30) -> dict:
    return ecs_rollout.run_migration(client, cluster=aws["cluster"], task_definition=task_definition,
                                     subnets=[aws["subnet"]], security_groups=[aws["group"]],
                                     assign_public_ip=False, timeout=timeout, poll=0.05)


def migration_task(message: str) -> str:
    return re.search(r"migration task (\S+)", message).group(1)


def test_a_migration_that_exits_0_is_waited_for_until_its_task_stopped(aws):
    task_definition = register(aws, "migrate")
    report = migrate(aws, aws["ecs"], task_definition)
    assert report["exitCodes"] == {"migrate": 0}
    task = aws["ecs"].describe_tasks(cluster=aws["cluster"], tasks=[report["task"]])["tasks"][0]
    assert task["lastStatus"] == "STOPPED" and task["taskDefinitionArn"] == task_definition
    assert task["launchType"] == "FARGATE" and task["startedBy"] == "whatsapp-miner-migrate"


def test_a_failing_migration_names_its_task_and_log_stream(aws):
    task_definition = register(aws, "migrate")
    client = EcsWithFieldsMotoOmitsStandin(aws["ecs"], exit_codes={"migrate": 3})
    with pytest.raises(RolloutError) as error:
        migrate(aws, client, task_definition)
    message = str(error.value)
    task_arn = migration_task(message)
    assert task_arn.startswith("arn:aws:ecs:") and "container migrate exited 3" in message
    assert f"Log stream: /whatsapp-miner/test/migrate/migrate/{task_arn.rsplit('/', 1)[1]}" in message
    assert "services untouched" in message


def test_a_migration_whose_container_reports_no_exit_code_failed(aws):
    task_definition = register(aws, "migrate")
    never_ran = EcsWithFieldsMotoOmitsStandin(aws["ecs"], exit_codes={"migrate": None})
    with pytest.raises(RolloutError) as error:
        migrate(aws, never_ran, task_definition)
    message = str(error.value)
    assert f"migration task {migration_task(message)} failed: container migrate exited None" in message
    assert "services untouched" in message


def test_a_migration_that_overruns_is_stopped_and_fails(aws):
    task_definition = register(aws, "migrate")
    with pytest.raises(RolloutError, match="did not finish within 0s and was stopped") as error:
        migrate(aws, aws["ecs"], task_definition, timeout=0)
    task_arn = migration_task(str(error.value))
    task = aws["ecs"].describe_tasks(cluster=aws["cluster"], tasks=[task_arn])["tasks"][0]
    assert task["desiredStatus"] == "STOPPED"
    assert str(error.value).endswith(f"Log stream: /whatsapp-miner/test/migrate/migrate/{task_arn.rsplit('/', 1)[1]}")


def rollout(aws, *args: str) -> subprocess.CompletedProcess:
    """The entry point as the program's commands run it: credentials only in the environment."""
    return subprocess.run([sys.executable, "-m", "components.ecs_rollout", *args], cwd=ROOT,
                          env={"PATH": os.environ["PATH"], **aws["env"]}, capture_output=True, text=True, check=False)


def test_the_command_line_reads_credentials_from_the_environment_and_prints_json(aws):
    task_definition = register(aws, "migrate")
    result = rollout(aws, "migrate", "--cluster", aws["cluster"], "--task-definition", task_definition,
                     "--subnet", aws["subnet"], "--security-group", aws["group"], "--timeout", "60")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["exitCodes"] == {"migrate": 0}


def test_a_failing_step_exits_1_with_one_line_naming_what_failed(aws):
    result = rollout(aws, "verify", "--cluster", aws["cluster"], "--service", "ghost=arn:aws:ecs:x",
                     "--digest", DIGEST, "--timeout", "1")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(f"ecs_rollout verify: cannot describe services in {aws['cluster']}: ")
    assert "MISSING" in result.stderr and "Traceback" not in result.stderr
    unknown = rollout(aws, "migrate", "--cluster", "no-such-cluster", "--task-definition", "x:1",
                      "--subnet", aws["subnet"], "--security-group", aws["group"], "--timeout", "1")
    assert unknown.returncode == 1 and "ClusterNotFoundException" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.fixture
def tasks_keep_running(aws):
    """Service tasks stay RUNNING however often they are described (moto's
    documented state-transition setting; by default a task moves towards
    STOPPED on each describe)."""
    def post(action: str, body: dict) -> None:
        request = urllib.request.Request(f"{aws['endpoint']}/moto-api/state-manager/{action}",
                                         data=json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(request, timeout=5).close()

    post("set-transition", {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}})
    yield
    post("unset-transition", {"model_name": "ecs::task"})


def deployed_services(aws, old: bool = False) -> dict[str, str]:
    """miner and classifier as services, each with one task started as the service would."""
    services = {}
    for name in ("miner", "classifier"):
        first = register(aws, name)
        new = register(aws, name) if not old else first
        service = f"{name}-{uuid.uuid4().hex[:6]}"
        network = {"awsvpcConfiguration": {"subnets": [aws["subnet"]], "securityGroups": [aws["group"]]}}
        aws["ecs"].create_service(cluster=aws["cluster"], serviceName=service, taskDefinition=first, desiredCount=1,
                                  launchType="FARGATE", networkConfiguration=network)
        aws["ecs"].update_service(cluster=aws["cluster"], service=service, taskDefinition=new)
        aws["ecs"].run_task(cluster=aws["cluster"], taskDefinition=new, launchType="FARGATE",
                            group=f"service:{service}", networkConfiguration=network)
        services[service] = new
    return services


def verify(aws, client, services: dict[str, str], sleeps: list | None = None) -> dict:
    return ecs_rollout.verify_services(client, cluster=aws["cluster"], services=services, digest=DIGEST,
                                       timeout=60, poll=1, sleep=(sleeps if sleeps is not None else []).append)


def completed(services: dict[str, str], **fields) -> dict:
    return {name: {"rolloutState": "COMPLETED", "taskDefinition": arn, "desiredCount": 1, **fields}
            for name, arn in services.items()}


def test_services_on_the_new_task_definition_and_digest_are_verified(aws, tasks_keep_running):
    services = deployed_services(aws)
    in_progress = {name: {"rolloutState": "IN_PROGRESS"} for name in services}
    client = EcsWithFieldsMotoOmitsStandin(aws["ecs"], image_digest=DIGEST,
                                           deployments=[in_progress, completed(services)])
    sleeps: list = []
    report = verify(aws, client, services, sleeps)
    assert sleeps == [1]  # waited once for the rollout in progress
    assert report["verified"] is True and report["digest"] == DIGEST
    assert {name: entry["running"] for name, entry in report["services"].items()} == dict.fromkeys(services, 1)


def test_a_task_on_another_digest_fails_the_verification(aws, tasks_keep_running):
    services = deployed_services(aws)
    client = EcsWithFieldsMotoOmitsStandin(aws["ecs"], image_digest=OTHER_DIGEST, deployments=[completed(services)])
    with pytest.raises(RolloutError) as error:
        verify(aws, client, services)
    for name in services:
        assert f"{name}: task arn:aws:ecs:" in str(error.value)
    assert f"with ['{OTHER_DIGEST}'], expected {DIGEST}" in str(error.value)


def test_a_circuit_breaker_rollback_fails_the_verification_though_the_service_is_steady(aws, tasks_keep_running):
    services = deployed_services(aws, old=True)
    rolled_back = {name: {"rolloutState": "COMPLETED", "taskDefinition": arn, "desiredCount": 1}
                   for name, arn in services.items()}
    new = {name: arn.rsplit(":", 1)[0] + ":999" for name, arn in services.items()}
    client = EcsWithFieldsMotoOmitsStandin(aws["ecs"], image_digest=DIGEST, deployments=[rolled_back])
    with pytest.raises(RolloutError, match=r"a circuit-breaker rollback\?") as error:
        verify(aws, client, new)
    assert str(error.value).endswith("run `pulumi up --refresh` so Pulumi sees what ECS runs")


def test_a_failed_rollout_and_missing_tasks_fail_the_verification(aws, tasks_keep_running):
    services = deployed_services(aws)
    client = EcsWithFieldsMotoOmitsStandin(aws["ecs"], image_digest=DIGEST, deployments=[
        completed(services, rolloutState="FAILED", rolloutStateReason="tasks failed to start", desiredCount=2)])
    with pytest.raises(RolloutError) as error:
        verify(aws, client, services)
    name = next(iter(services))
    assert f"{name}: rollout FAILED: tasks failed to start" in str(error.value)
    assert f"{name}: 1 tasks running, 2 desired" in str(error.value)
