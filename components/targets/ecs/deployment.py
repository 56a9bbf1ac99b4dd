"""The `ecs` target: the compose services on ECS Fargate, beside ComposeDeployment.

Same outputs as the host targets (`verified_digest`, `status`) and the same
guarantees, in this order:

1. every task definition is registered with the image by digest; secrets are
   SSM SecureString parameters read through `secrets`/`valueFrom`;
2. `migrate` runs the compose `migrate` service once as a one-off task of its
   new task definition (components/ecs_rollout.py); it fails the update
   before any service changes, so the old version keeps running;
3. the services move to their new task definitions with the deployment
   circuit breaker (rollback on) and the container healthchecks as the gate;
4. `verify` checks each primary deployment COMPLETED on the new task
   definition with every running task on the pushed digest; the update
   fails otherwise (a rolled-back deployment is steady, not verified).

The rollout commands are local commands; they read the AWS credentials Pulumi
runs with (components.config.environment.boto3_credentials): none is an input of
theirs, on their command line or in state. A named
compose volume is an EFS access point, so the services and the migration
share their data as they do on a host.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_command import local

from components import ecs_rollout
from components.digests import digest_of, parse_report, verified_digest
from components.targets.ecs import compose_to_ecs

APP_UID = 10001
"""The Dockerfile's USER: owner of the EFS access points' directories."""
NFS_PORT = 2049
SECRETS_VERSION = "WHATSAPP_MINER_SECRETS_VERSION"
"""Plain variable naming each parameter's version: a changed secret is a new task definition,
so its tasks are replaced as compose recreates containers for a changed .env."""
ARCHITECTURES = {"amd64": "X86_64", "arm64": "ARM64"}


@dataclass(frozen=True)
class EcsSpec:
    """The services the stack asks for on ECS (the compose file and the `ecs*` keys)."""

    app: compose_to_ecs.ComposeApp
    """The compose file's services, migration and volumes."""
    subnets: list[str]
    """The tasks' subnets, one EFS mount target each."""
    security_groups: list[str]
    """The tasks' security groups; the EFS security group admits NFS from them."""
    assign_public_ip: bool
    desired_counts: dict[str, int]
    """Tasks per compose service."""
    cpu: int
    """Fargate CPU units per task."""
    memory: int
    """MiB per task."""
    log_retention_days: int
    migrate_timeout: int
    """Seconds the migration task may run."""
    rollout_timeout: int
    """Seconds the verification waits for the services' rollouts."""


@dataclass
class EcsDeploymentArgs:
    name: str
    """Cluster, log group and parameter path; carries the environment."""
    image_ref: pulumi.Input[str]
    """`repository@sha256:...` as pushed."""
    repository_arn: pulumi.Input[str]
    """The shared repository, the only one the execution role may pull from."""
    environment: str
    """ENV_NAME, a plain variable."""
    secrets: dict[str, pulumi.Output[str]]
    """containerEnv: each becomes an SSM SecureString parameter."""
    spec: EcsSpec
    platform: str
    """e.g. linux/amd64: the task's CPU architecture."""
    region: str
    """The rollout commands'; they find the credentials in their own environment."""
    provider: aws.Provider
    remove_data_on_destroy: bool = False
    """Whether `pulumi destroy` deletes the EFS file system holding the compose volumes."""


def _policy(statements: list[dict]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _assume_role_policy() -> str:
    return _policy([{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                     "Action": "sts:AssumeRole"}])


def execution_policy(repository_arn: str, log_group_arn: str, parameter_arns: list[str]) -> str:
    """Pull from the one repository, write the one log group, read the stack's own parameters."""
    statements = [
        # GetAuthorizationToken has no resource-level permissions (ECR IAM reference).
        {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Effect": "Allow", "Resource": repository_arn,
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:log-stream:*"},
    ]
    if parameter_arns:
        statements.append({"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameter_arns})
    return _policy(statements)


def rollout_command(step: str, **options: object) -> str:
    """`python -m components.ecs_rollout STEP --option value ...`, every value quoted;
    a list repeats its option, True is a bare flag, False leaves it out."""
    words = [ecs_rollout.PYTHON, "-m", "components.ecs_rollout", step]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        for item in value if isinstance(value, list) else [value]:
            if item is True:
                words.append(flag)
            elif item is not False:
                words += [flag, str(item)]
    return shlex.join(words)


class EcsDeployment(pulumi.ComponentResource):
    status: pulumi.Output[str]
    """The verifier's JSON report."""
    verified_digest: pulumi.Output[str]
    cluster_name: pulumi.Output[str]

    def __init__(self, name: str, args: EcsDeploymentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:EcsDeployment", name, None, opts)
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        app = args.spec.app
        region = args.region
        aws_environment = {"AWS_DEFAULT_REGION": region}  # credentials: environment.boto3_credentials
        cluster = aws.ecs.Cluster(f"{name}-cluster", name=args.name, opts=self._child)
        log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name=f"/ecs/{args.name}",
                                            retention_in_days=args.spec.log_retention_days, opts=self._child)
        parameters = {
            variable: aws.ssm.Parameter(f"{name}-secret-{variable}", name=f"/{args.name}/{variable}",
                                        type="SecureString", value=value, opts=self._child)
            for variable, value in args.secrets.items()
        }
        execution_role = aws.iam.Role(f"{name}-execution", assume_role_policy=_assume_role_policy(),
                                      opts=self._child)
        execution_grants = aws.iam.RolePolicy(
            f"{name}-execution-grants", role=execution_role.id,
            policy=pulumi.Output.all(args.repository_arn, log_group.arn, *(p.arn for p in parameters.values())).apply(
                lambda arns: execution_policy(arns[0], arns[1], list(arns[2:]))),
            opts=self._child,
        )
        # Empty: the app calls no AWS API. Grant what it needs here when it does.
        task_role = aws.iam.Role(f"{name}-task", assume_role_policy=_assume_role_policy(), opts=self._child)
        environment = pulumi.Output.all(*(p.version for p in parameters.values())).apply(
            lambda versions: {"ENV_NAME": args.environment, **({SECRETS_VERSION: ",".join(
                f"{variable}:{version}" for variable, version in zip(parameters, versions, strict=True))}
                if parameters else {})})
        volumes, mounts = self._volumes(name, app.volumes, args.spec.subnets, args.spec.security_groups,
                                        keep_data=not args.remove_data_on_destroy)

        network = {"subnets": args.spec.subnets, "security_groups": args.spec.security_groups,
                   "assign_public_ip": args.spec.assign_public_ip}
        task_definitions = {
            spec.name: aws.ecs.TaskDefinition(
                f"{name}-taskdef-{spec.name}",
                family=f"{args.name}-{spec.name}",
                requires_compatibilities=["FARGATE"],
                network_mode="awsvpc",
                cpu=str(args.spec.cpu),
                memory=str(args.spec.memory),
                runtime_platform={"operating_system_family": "LINUX",
                                  "cpu_architecture": ARCHITECTURES[args.platform.split("/")[1]]},
                execution_role_arn=execution_role.arn,
                task_role_arn=task_role.arn,
                volumes=volumes,
                container_definitions=pulumi.Output.all(
                    args.image_ref, log_group.name, {v: p.arn for v, p in parameters.items()}, environment,
                ).apply(lambda values, spec=spec: json.dumps([compose_to_ecs.container_definition(
                    spec, image=values[0], environment=values[3], secrets=values[2],
                    log_group=values[1], region=region)])),
                opts=self._child,
            )
            for spec in (*app.services, *([app.migration] if app.migration else []))
        }
        ready = [execution_grants, *mounts]
        migrated = []
        if app.migration:
            migration = task_definitions[app.migration.name]
            migrated = [self._command(
                f"{name}-migrate",
                create=pulumi.Output.all(cluster.name, migration.arn).apply(lambda values: rollout_command(
                    "migrate", cluster=values[0], task_definition=values[1], subnet=args.spec.subnets,
                    security_group=args.spec.security_groups, assign_public_ip=args.spec.assign_public_ip,
                    timeout=args.spec.migrate_timeout)),
                # Migrations belong to a task definition revision: a new one migrates again.
                triggers=[migration.arn],
                environment=aws_environment,
                depends_on=[*ready, migration],
            )]
        services = [
            aws.ecs.Service(
                f"{name}-service-{spec.name}",
                name=spec.name,
                cluster=cluster.arn,
                task_definition=task_definitions[spec.name].arn,
                desired_count=args.spec.desired_counts[spec.name],
                launch_type="FARGATE",
                network_configuration=network,
                deployment_circuit_breaker={"enable": True, "rollback": True},
                deployment_minimum_healthy_percent=100,
                deployment_maximum_percent=200,
                # The verify command waits and checks what runs; a steady state alone can be a rollback.
                wait_for_steady_state=False,
                opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[*ready, *migrated])),
            )
            for spec in app.services
        ]
        targets = {spec.name: task_definitions[spec.name].arn for spec in app.services}
        digest = pulumi.Output.from_input(args.image_ref).apply(digest_of)
        create = pulumi.Output.all(cluster.name, targets, digest).apply(lambda values: rollout_command(
            "verify", cluster=values[0], service=[f"{s}={arn}" for s, arn in values[1].items()], digest=values[2],
            timeout=args.spec.rollout_timeout))
        verify = self._command(
            f"{name}-verify",
            create=create,
            triggers=[create],  # what must run: the task definitions and the digest
            environment=aws_environment,
            depends_on=services,
        )
        self.cluster_name = cluster.name
        self.status = verify.stdout.apply(lambda out: json.dumps(parse_report(out)))
        self.verified_digest = pulumi.Output.all(verify.stdout, args.image_ref).apply(
            lambda values: verified_digest(*values, reporter="ecs_rollout verify"))
        self.register_outputs({"status": self.status, "verified_digest": self.verified_digest,
                               "cluster_name": self.cluster_name})

    def _volumes(self, name: str, volumes: tuple[str, ...], subnets: list[str], security_groups: list[str],
                 keep_data: bool) -> tuple[list[dict], list]:
        """One encrypted EFS file system; an access point per compose volume; a mount target per subnet."""
        if not volumes:
            return [], []
        vpc_id = aws.ec2.get_subnet_output(
            id=subnets[0], opts=pulumi.InvokeOutputOptions(parent=self, provider=self._child.provider)).vpc_id
        # Like the host's data volume, the data outlives `pulumi destroy` unless removeDataOnDestroy.
        file_system = aws.efs.FileSystem(f"{name}-efs", encrypted=True, opts=pulumi.ResourceOptions.merge(
            self._child, pulumi.ResourceOptions(retain_on_delete=keep_data)))
        nfs = aws.ec2.SecurityGroup(
            f"{name}-nfs", vpc_id=vpc_id, description="NFS from the tasks to their EFS volumes",
            ingress=[{"protocol": "tcp", "from_port": NFS_PORT, "to_port": NFS_PORT,
                      "security_groups": security_groups}],
            opts=self._child,
        )
        mounts = [aws.efs.MountTarget(f"{name}-efs-{subnet}", file_system_id=file_system.id, subnet_id=subnet,
                                      security_groups=[nfs.id], opts=self._child) for subnet in subnets]
        task_volumes = []
        for volume in volumes:
            access_point = aws.efs.AccessPoint(
                f"{name}-volume-{volume}", file_system_id=file_system.id,
                posix_user={"uid": APP_UID, "gid": APP_UID},
                root_directory={"path": f"/{volume}", "creation_info": {
                    "owner_uid": APP_UID, "owner_gid": APP_UID, "permissions": "0750"}},
                opts=self._child,
            )
            task_volumes.append({"name": volume, "efs_volume_configuration": {
                "file_system_id": file_system.id, "transit_encryption": "ENABLED",
                "authorization_config": {"access_point_id": access_point.id, "iam": "DISABLED"}}})
        return task_volumes, mounts

    def _command(self, name: str, *, depends_on: list[pulumi.Resource], **inputs) -> local.Command:
        return local.Command(name, add_previous_output_in_env=False, logging=local.Logging.STDOUT_AND_STDERR,
                             opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on), **inputs)
