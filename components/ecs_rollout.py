"""The ecs target's rollout steps, run by the program's local commands.

`migrate` runs the migration as a one-off Fargate task of the new task
definition and fails unless every container exited 0; the services are only
updated after it. `verify` checks what the services really run after their
update: the primary deployment COMPLETED on the new task definition, and
each of its running tasks on the pushed digest. A circuit-breaker rollback
ends "steady" too, which is why waiting for a steady state is not enough.

Both take a boto3 ECS client, print one JSON line for the program, and exit
non-zero with a message naming the task (and its log stream) or the service.
Credentials come from the environment Pulumi was started with, under the
standard names or their aliases; the region from the command's environment.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping

import boto3
from botocore.exceptions import BotoCoreError, ClientError, WaiterError

from components.config import environment

PYTHON = ".venv/bin/python"
"""The program's virtualenv (Pulumi.yaml runtime.options.virtualenv); commands run in the project directory."""


class RolloutError(RuntimeError):
    """The migration or the verification failed; the message says where to look."""


def _log_streams(ecs, task_definition: str, task_arn: str) -> dict[str, str]:
    """Where awslogs puts each container's output: GROUP/PREFIX/CONTAINER/TASK_ID
    (awslogs-stream-prefix, AmazonECS developer guide "Using the awslogs log driver")."""
    definitions = ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
    streams = {}
    for definition in definitions["containerDefinitions"]:
        options = definition.get("logConfiguration", {}).get("options", {})
        streams[definition["name"]] = (f"{options.get('awslogs-group')}/{options.get('awslogs-stream-prefix')}/"
                                       f"{definition['name']}/{task_arn.rsplit('/', 1)[-1]}")
    return streams


def run_migration(ecs, *, cluster: str, task_definition: str, subnets: list[str], security_groups: list[str],
                  assign_public_ip: bool, timeout: int, poll: float = 6) -> dict:
    """Run TASK_DEFINITION once and wait for it to stop; every container must exit 0."""
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        count=1,
        startedBy="whatsapp-miner-migrate",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": subnets, "securityGroups": security_groups,
            "assignPublicIp": "ENABLED" if assign_public_ip else "DISABLED",
        }},
    )
    if started["failures"] or not started["tasks"]:
        raise RolloutError(f"the migration task of {task_definition} did not start: {started['failures']}")
    task_arn = started["tasks"][0]["taskArn"]
    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=cluster, tasks=[task_arn],
            WaiterConfig={"Delay": poll, "MaxAttempts": max(1, math.ceil(timeout / poll))},
        )
    except WaiterError:
        # Bounded like host-deploy's --migrate-timeout: a migration never outlives the deploy.
        ecs.stop_task(cluster=cluster, task=task_arn, reason=f"migration ran longer than {timeout}s")
        streams = ", ".join(_log_streams(ecs, task_definition, task_arn).values())
        raise RolloutError(f"migration task {task_arn} did not finish within {timeout}s and was stopped; "
                           f"services untouched. Log stream: {streams}") from None
    task = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"][0]
    exit_codes = {c["name"]: c.get("exitCode") for c in task["containers"]}
    failed = [name for name, code in exit_codes.items() if code != 0]
    if failed:
        container = failed[0]
        raise RolloutError(
            f"migration task {task_arn} failed: container {container} exited {exit_codes[container]} "
            f"({task.get('stoppedReason', 'no reason given')}); services untouched. Log stream: "
            f"{_log_streams(ecs, task_definition, task_arn)[container]}"
        )
    return {"task": task_arn, "taskDefinition": task_definition, "exitCodes": exit_codes}


def _primary_deployments(ecs, cluster: str, services: list[str], *, timeout: int, poll: float,
                         sleep: Callable[[float], None]) -> dict[str, dict]:
    """Each service's PRIMARY deployment once none is IN_PROGRESS (or at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        described = ecs.describe_services(cluster=cluster, services=services)
        if described["failures"]:
            raise RolloutError(f"cannot describe services in {cluster}: {described['failures']}")
        primary = {s["serviceName"]: next(d for d in s["deployments"] if d["status"] == "PRIMARY")
                   for s in described["services"]}
        if all(d.get("rolloutState") != "IN_PROGRESS" for d in primary.values()) or time.monotonic() > deadline:
            return primary
        sleep(poll)


def verify_services(ecs, *, cluster: str, services: Mapping[str, str], digest: str, timeout: int,
                    poll: float = 10, sleep: Callable[[float], None] = time.sleep) -> dict:
    """SERVICES maps each service to the task definition it must now run on DIGEST."""
    primary = _primary_deployments(ecs, cluster, list(services), timeout=timeout, poll=poll, sleep=sleep)
    problems, report = [], {}
    for name, expected in services.items():
        deployment = primary[name]
        if deployment["taskDefinition"] != expected:
            problems.append(f"{name}: the primary deployment runs {deployment['taskDefinition']}, not {expected} "
                            "(a circuit-breaker rollback?)")
        if deployment.get("rolloutState") != "COMPLETED":
            problems.append(f"{name}: rollout {deployment.get('rolloutState')}: "
                            f"{deployment.get('rolloutStateReason', '')}")
        arns = ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="RUNNING")["taskArns"]
        tasks = ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []
        if len(tasks) != deployment["desiredCount"]:
            problems.append(f"{name}: {len(tasks)} tasks running, {deployment['desiredCount']} desired")
        for task in tasks:
            digests = {c.get("imageDigest") for c in task["containers"]}
            if task["taskDefinitionArn"] != expected or task["lastStatus"] != "RUNNING" or digests != {digest}:
                problems.append(f"{name}: task {task['taskArn']} is {task['lastStatus']} on "
                                f"{task['taskDefinitionArn']} with {sorted(map(str, digests))}, expected {digest}")
        report[name] = {"taskDefinition": deployment["taskDefinition"], "rolloutState": deployment.get("rolloutState"),
                        "running": len(tasks)}
    if problems:
        # After a circuit-breaker rollback the state still names the new task
        # definitions while ECS runs the old ones: only a refresh shows that.
        raise RolloutError(f"verification failed in cluster {cluster}: " + "; ".join(problems)
                           + ". Fix the cause, then run `pulumi up --refresh` so Pulumi sees what ECS runs")
    return {"cluster": cluster, "digest": digest, "verified": True, "services": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.ecs_rollout")
    steps = parser.add_subparsers(dest="step", required=True)
    migrate = steps.add_parser("migrate")
    migrate.add_argument("--cluster", required=True)
    migrate.add_argument("--task-definition", required=True)
    migrate.add_argument("--subnet", action="append", required=True)
    migrate.add_argument("--security-group", action="append", required=True)
    migrate.add_argument("--assign-public-ip", action="store_true")
    migrate.add_argument("--timeout", type=int, required=True)
    verify = steps.add_parser("verify")
    verify.add_argument("--cluster", required=True)
    verify.add_argument("--service", action="append", required=True, metavar="NAME=TASK_DEFINITION")
    verify.add_argument("--digest", required=True)
    verify.add_argument("--timeout", type=int, required=True)
    args = parser.parse_args(argv)
    ecs = boto3.client("ecs", **environment.boto3_credentials(os.environ))  # any endpoint too
    try:
        if args.step == "migrate":
            report = run_migration(ecs, cluster=args.cluster, task_definition=args.task_definition,
                                   subnets=args.subnet, security_groups=args.security_group,
                                   assign_public_ip=args.assign_public_ip, timeout=args.timeout)
        else:
            report = verify_services(ecs, cluster=args.cluster, digest=args.digest, timeout=args.timeout,
                                     services=dict(pair.split("=", 1) for pair in args.service))
    except (RolloutError, ClientError, BotoCoreError) as error:  # AWS errors too: one line, no traceback
        print(f"ecs_rollout {args.step}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
