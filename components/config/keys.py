"""Every key the program reads from a stack's config, declared once.

Key names are written only here. The settings reader reads through these
keys, refuses a key the table does not hold, and docs/configuration.md is
generated from the table (`python -m components.config.reference`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

NAMESPACE = "whatsapp-miner"

ENVIRONMENTS = "environments"
REGISTRY = "registry"
EC2 = "ec2"
HOSTS = "ec2, local"
PROVISIONED = "ec2 with provisionHost"
ECS = "ecs"
PUSHING = "environments that push"


@dataclass(frozen=True)
class Key:
    name: str
    type: str
    """What the value is: string, boolean, integer, choice, list, map."""
    default: str | int | bool | tuple[str, ...] | None
    """What the reader takes when the key is unset; None when it is required or derived."""
    used_by: str
    """The stacks or targets that read it."""
    doc: str
    shown_default: str | None = None
    """The default as the reference shows it, when it is required or derived rather than a value."""
    choices: tuple[str, ...] = ()
    """The values a `choice` takes."""


ROLE = Key("role", "choice", "environment", "every stack",
           "`registry` makes the stack own the shared repository and nothing else",
           choices=("environment", "registry"))
ENVIRONMENT = Key("environment", "string", None, ENVIRONMENTS,
                  "environment name; names tag, project, directory", "required")
TARGET = Key("target", "choice", None, ENVIRONMENTS,
             "`ec2` (over SSH), `local` (this machine's Docker) or `ecs` (Fargate)", "required",
             choices=("ec2", "local", "ecs"))
PUSH = Key("push", "boolean", True, ENVIRONMENTS, "push to ECR; `false` builds a local image and needs no AWS")
DEPLOY = Key("deploy", "boolean", True, ENVIRONMENTS,
             "`false` stops after the image (build only / build and push) and leaves the host as it is")
REMOVE_DATA_ON_DESTROY = Key("removeDataOnDestroy", "boolean", False, ENVIRONMENTS,
                             "`pulumi destroy` also deletes the project's data volume")
REPOSITORY_NAME = Key("repositoryName", "string", NAMESPACE, REGISTRY, "the shared ECR repository")
ENVIRONMENT_TAGS = Key("environmentTags", "list", ("dev", "prd"), REGISTRY,
                       "the only tags that move; every other tag is immutable")
ECR_KEEP_BUILDS = Key("ecrKeepBuilds", "integer", 30, REGISTRY,
                      "build-tagged images the lifecycle policy keeps; untagged expire after a day; an image an "
                      "environment tag names never expires")
KMS_KEY_ARN = Key("kmsKeyArn", "string", None, REGISTRY,
                  "customer-managed KMS key for the repository (set at creation)",
                  "unset: the stack creates a key, rotation on")
REGISTRY_STACK = Key("registryStack", "string", "registry", PUSHING,
                     "the stack owning the repository (`organization/whatsapp-miner/<name>` on file and s3 "
                     "backends; a full `org/project/stack` is taken as is)")
PROMOTE_FROM = Key("promoteFrom", "string", None, PUSHING,
                   "deploy the digest that stack verified (its `deployedDigest`) instead of building", "unset")
IMAGE_NAME = Key("imageName", "string", NAMESPACE, ENVIRONMENTS,
                 "base name: the local image (`imageName:imageTag`), and a local tag of each build")
IMAGE_TAG = Key("imageTag", "string", None, ENVIRONMENTS,
                "the environment's tag (`:dev`, `:prd`); must be one of the registry's `environmentTags`; "
                "deployments use the digest", "`<environment>`")
IMAGE_DIGEST = Key("imageDigest", "string", None, PUSHING,
                   "deploy this pushed `sha256:` digest instead of building or promoting (a rollback)", "unset")
BASE_IMAGE = Key("baseImage", "string", "python:3.12-slim", ENVIRONMENTS, "`BASE_IMAGE` build argument")
PLATFORM = Key("platform", "string", "linux/amd64", ENVIRONMENTS, "platform of the EC2 host")
AWS_REGION = Key("awsRegion", "string", None, "registry; " + PUSHING, "region override",
                 "from `AWS_DEFAULT_REGION`")
HOST = Key("host", "string", None, EC2, "address of the EC2 host", "`$WHATSAPP_MINER_EC2_HOST`")
SSH_USER = Key("sshUser", "string", "ec2-user", EC2, "SSH user")
SSH_PORT = Key("sshPort", "integer", 22, EC2, "SSH port")
SSH_HOST_KEY = Key("sshHostKey", "string", None, EC2, "pin the host key, e.g. `ssh-ed25519 AAAA...`",
                   "unset (not checked)")
SSH_PRIVATE_KEY_VAR = Key("sshPrivateKeyVar", "string", "SSH_PRIVATE_KEY", EC2, "variable holding the private key")
SSH_DIAL_ERROR_LIMIT = Key("sshDialErrorLimit", "integer", 30, EC2,
                           "connection attempts (a fresh host may still boot)")
SSH_PER_DIAL_TIMEOUT = Key("sshPerDialTimeout", "integer", 10, EC2, "seconds per attempt")
HOST_DIR = Key("hostDir", "string", None, HOSTS, "project directory on the host",
               "`/home/<sshUser>/whatsapp-miner/<environment>` (local: `~/whatsapp-miner/<environment>`)")
COMPOSE_PROJECT = Key("composeProject", "string", None, ENVIRONMENTS,
                      "compose project name; container names carry it", "`whatsapp-miner-<environment>`")
CONTAINER_ENV = Key("containerEnv", "list", (), ENVIRONMENTS,
                    "variables written to the host's `.env` (plus `ENV_NAME`)")
HOST_AWS_CREDENTIALS = Key("hostAwsCredentials", "choice", None, EC2,
                           "`forwarded`: ECR login on the host with the mapped credentials (sent on stdin); "
                           "`instance-role`: with the instance profile",
                           "`forwarded` (`instance-role` with `provisionHost`)",
                           choices=("forwarded", "instance-role"))
HEALTH_TIMEOUT = Key("healthTimeout", "integer", 120, HOSTS, "seconds the health gate waits")
KEEP_HOST_IMAGES = Key("keepHostImages", "integer", 3, HOSTS, "images of this project kept on the host")
PROVISION_HOST = Key("provisionHost", "boolean", False, EC2,
                     "the stack creates its EC2 host (see \"A provisioned host\" in docs/target-host.md); `host` and "
                     "`sshHostKey` must then be unset, `sshPort` 22")
HOST_SSH_CIDRS = Key("hostSshCidrs", "list", None, PROVISIONED,
                     "JSON list of CIDRs SSH may come from, e.g. `[\"203.0.113.7/32\"]`; `0.0.0.0/0` or `::/0` "
                     "only with `hostSshAllowWorld`", "required with `provisionHost`")
HOST_SSH_ALLOW_WORLD = Key("hostSshAllowWorld", "boolean", False, PROVISIONED,
                           "allow a world-open CIDR in `hostSshCidrs`")
HOST_INSTANCE_TYPE = Key("hostInstanceType", "string", None, PROVISIONED,
                         "instance type; its architecture must match `platform`",
                         "`t3.small` (`t4g.small` for `linux/arm64`)")
HOST_SUBNET_ID = Key("hostSubnetId", "string", None, PROVISIONED,
                     "subnet of the host (it gets a public IPv4 address)", "the default VPC's default subnet")
HOST_ELASTIC_IP = Key("hostElasticIp", "boolean", False, PROVISIONED,
                      "give the host an Elastic IP (an address that survives a stop)")
HOST_SSM = Key("hostSsm", "boolean", False, PROVISIONED,
               "let SSM Session Manager use the instance role (`AmazonSSMManagedInstanceCore`)")
HOST_VOLUME_GB = Key("hostVolumeGb", "integer", 20, PROVISIONED, "encrypted gp3 root volume size")
HOST_CLOUD_INIT_TIMEOUT = Key("hostCloudInitTimeout", "integer", 900, PROVISIONED,
                              "seconds the first deploy waits for the host's cloud-init")
ECS_SUBNETS = Key("ecsSubnets", "list", None, ECS,
                  "subnet ids for the tasks and the EFS mount targets, one per availability zone, "
                  "e.g. `[subnet-0a1b...]`", "required")
ECS_SECURITY_GROUPS = Key("ecsSecurityGroups", "list", None, ECS,
                          "the tasks' security group ids; the EFS security group admits NFS from them", "required")
ECS_ASSIGN_PUBLIC_IP = Key("ecsAssignPublicIp", "boolean", False, ECS,
                           "give tasks a public IP (public subnets without NAT or VPC endpoints)")
ECS_DESIRED_COUNT = Key("ecsDesiredCount", "map", 1, ECS,
                        "tasks per compose service, e.g. `{miner: 2, classifier: 1}`; a name that is not a service "
                        "is refused", "`1` per service")
ECS_CPU = Key("ecsCpu", "choice", "256", ECS, "Fargate CPU units per task (256 = 0.25 vCPU)",
              choices=("256", "512", "1024", "2048", "4096", "8192", "16384"))
ECS_MEMORY = Key("ecsMemory", "integer", None, ECS, "MiB per task; checked against Fargate's sizes for `ecsCpu`",
                 "the least for `ecsCpu` (512)")
ECS_LOG_RETENTION_DAYS = Key("ecsLogRetentionDays", "choice", "30", ECS,
                             "CloudWatch retention of the containers' logs",
                             # CloudWatch Logs PutRetentionPolicy accepts only these.
                             choices=("1", "3", "5", "7", "14", "30", "60", "90", "120", "150", "180", "365", "400",
                                      "545", "731", "1096", "1827", "2192", "2557", "2922", "3288", "3653"))
ECS_MIGRATE_TIMEOUT = Key("ecsMigrateTimeout", "integer", 600, ECS,
                          "seconds the migration task may run; then it is stopped and the update fails")
ECS_ROLLOUT_TIMEOUT = Key("ecsRolloutTimeout", "integer", 900, ECS,
                          "seconds the verification waits for the services' rollouts")

KEYS = (ROLE, ENVIRONMENT, TARGET, PUSH, DEPLOY, REMOVE_DATA_ON_DESTROY, REPOSITORY_NAME, ENVIRONMENT_TAGS,
        ECR_KEEP_BUILDS, KMS_KEY_ARN, REGISTRY_STACK, PROMOTE_FROM, IMAGE_NAME, IMAGE_TAG, IMAGE_DIGEST, BASE_IMAGE,
        PLATFORM, AWS_REGION, HOST, SSH_USER, SSH_PORT, SSH_HOST_KEY, SSH_PRIVATE_KEY_VAR, SSH_DIAL_ERROR_LIMIT,
        SSH_PER_DIAL_TIMEOUT, HOST_DIR, COMPOSE_PROJECT, CONTAINER_ENV, HOST_AWS_CREDENTIALS, HEALTH_TIMEOUT,
        KEEP_HOST_IMAGES, PROVISION_HOST, HOST_SSH_CIDRS, HOST_SSH_ALLOW_WORLD, HOST_INSTANCE_TYPE, HOST_SUBNET_ID,
        HOST_ELASTIC_IP, HOST_SSM, HOST_VOLUME_GB, HOST_CLOUD_INIT_TIMEOUT, ECS_SUBNETS, ECS_SECURITY_GROUPS,
        ECS_ASSIGN_PUBLIC_IP, ECS_DESIRED_COUNT, ECS_CPU, ECS_MEMORY, ECS_LOG_RETENTION_DAYS, ECS_MIGRATE_TIMEOUT,
        ECS_ROLLOUT_TIMEOUT)
NAMES = tuple(key.name for key in KEYS)


def unknown(config_keys: Iterable[str]) -> list[tuple[str, str | None]]:
    """Our namespace's keys in CONFIG_KEYS ("ns:name") that the table does not hold, each with the closest
    known name (or None); other namespaces (aws:region, ...) belong to their providers."""
    prefix = f"{NAMESPACE}:"
    names = sorted(key.removeprefix(prefix) for key in config_keys if key.startswith(prefix))
    return [(name, next(iter(difflib.get_close_matches(name, NAMES, n=1)), None))
            for name in names if name not in NAMES]
