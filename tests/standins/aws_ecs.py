"""The aws stand-in's types for the ecs target: cluster, task definition,
service, log group, and the EFS file system, access point and mount target.
Sources: terraform-provider-aws internal/service/ecs/ (cluster.go,
task_definition.go, service.go), logs/group.go, efs/ (file_system.go,
access_point.go, mount_target.go)."""

from __future__ import annotations

import json

from tests.standins.aws_model import Client, ResourceType, same_set, tag_map, tags


def tags_only(kind: str):
    """An update for a type whose every argument but tags is ForceNew: anything else is not implemented."""
    def update(_client: Client, _id: str, olds: dict, news: dict) -> dict:
        changed = sorted(key for key in news if key != "tags" and news.get(key) != olds.get(key))
        if changed or news.get("tags") != olds.get("tags"):
            raise NotImplementedError(f"the aws stand-in does not implement a {kind} update of {changed or ['tags']}")
        return {}
    return update


def create_cluster(client: Client, inputs: dict) -> tuple[str, dict]:
    cluster = client("ecs").create_cluster(clusterName=inputs["name"])["cluster"]
    return cluster["clusterArn"], {"arn": cluster["clusterArn"]}  # cluster.go: the id is the ARN


CLUSTER = ResourceType(
    create=create_cluster, update=tags_only("cluster"),
    delete=lambda client, arn, _state: client("ecs").delete_cluster(cluster=arn),
    replace_on=("name",),  # cluster.go: ForceNew on name
)

TASK_DEFINITION_ARGUMENTS = ("family", "cpu", "memory", "networkMode", "requiresCompatibilities",
                             "executionRoleArn", "taskRoleArn", "volumes", "runtimePlatform")


def _with_container_memory(containers: list[dict], task_memory: str | None) -> list[dict]:
    """A gap in moto filled: its run_task adds up the containers' `memory` and fails on a container
    without one, which Fargate allows (the task's `memory` bounds it). Such a container is
    registered with the task's memory, so moto can run it."""
    return [container if container.get("memory") or not task_memory else {**container, "memory": int(task_memory)}
            for container in containers]


def create_task_definition(client: Client, inputs: dict) -> tuple[str, dict]:
    options = {key: inputs[key] for key in TASK_DEFINITION_ARGUMENTS if inputs.get(key)}
    containers = _with_container_memory(json.loads(inputs["containerDefinitions"]), inputs.get("memory"))
    definition = client("ecs").register_task_definition(containerDefinitions=containers, **options)["taskDefinition"]
    arn = definition["taskDefinitionArn"]
    # task_definition.go: the id is the family; arn_without_revision drops `:<revision>`.
    return definition["family"], {"arn": arn, "arnWithoutRevision": arn.rsplit(":", 1)[0],
                                  "revision": definition["revision"]}


TASK_DEFINITION = ResourceType(
    create=create_task_definition,
    # resourceTaskDefinitionDelete deregisters the revision (ECS keeps it INACTIVE).
    delete=lambda client, _family, state: client("ecs").deregister_task_definition(taskDefinition=state["arn"]),
    # task_definition.go: every argument but tags, skip_destroy and track_latest is ForceNew: a
    # change registers a new revision.
    replace_on=("containerDefinitions", *TASK_DEFINITION_ARGUMENTS),
)


def _service_options(inputs: dict) -> dict:
    network = inputs.get("networkConfiguration") or {}
    breaker = inputs.get("deploymentCircuitBreaker") or {}
    return {
        "taskDefinition": inputs["taskDefinition"], "desiredCount": inputs.get("desiredCount", 1),
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": network.get("subnets") or [], "securityGroups": network.get("securityGroups") or [],
            "assignPublicIp": "ENABLED" if network.get("assignPublicIp") else "DISABLED"}},
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {key: bool(breaker.get(key)) for key in ("enable", "rollback")},
            "maximumPercent": inputs.get("deploymentMaximumPercent", 200),
            "minimumHealthyPercent": inputs.get("deploymentMinimumHealthyPercent", 100)},
    }


def create_service(client: Client, inputs: dict) -> tuple[str, dict]:
    service = client("ecs").create_service(cluster=inputs["cluster"], serviceName=inputs["name"],
                                           launchType=inputs["launchType"], **_service_options(inputs))["service"]
    return service["serviceArn"], {}  # service.go: the id is the ARN


def update_service(client: Client, arn: str, olds: dict, news: dict) -> dict:
    """resourceServiceUpdate: one UpdateService with the task definition, count and configurations."""
    client("ecs").update_service(cluster=news["cluster"], service=arn, **_service_options(news))
    return {}


def delete_service(client: Client, arn: str, state: dict) -> None:
    """resourceServiceDelete: without force_delete, drain to a desired count of 0, then DeleteService."""
    ecs = client("ecs")
    if not state.get("forceDelete"):
        ecs.update_service(cluster=state["cluster"], service=arn, desiredCount=0)
    ecs.delete_service(cluster=state["cluster"], service=arn, force=bool(state.get("forceDelete")))


def read_service(client: Client, arn: str, state: dict) -> dict | None:
    """resourceServiceRead: DescribeServices with its tags (findServiceByTwoPartKeyWaitForActive);
    a missing or INACTIVE service is gone. The cluster and task definition are kept in the form
    the state holds them (an ARN here). moto keeps no deploymentConfiguration: the circuit breaker
    and the deployment percentages stay as stored."""
    ecs = client("ecs")
    try:
        services = ecs.describe_services(cluster=state["cluster"], services=[arn], include=["TAGS"])["services"]
    except ecs.exceptions.ClusterNotFoundException:
        return None
    if not services or services[0]["status"] == "INACTIVE":
        return None
    service = services[0]
    stored = state.get("networkConfiguration") or {}
    network = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    return {"name": service["serviceName"], "cluster": service["clusterArn"], "desiredCount": service["desiredCount"],
            "taskDefinition": service["taskDefinition"], "launchType": service["launchType"],
            "tags": tag_map(service.get("tags")), "networkConfiguration": {
                **stored,  # subnets and security groups are sets (TypeSet): their order is not drift
                "subnets": same_set(stored.get("subnets") or [], network.get("subnets") or []),
                "securityGroups": same_set(stored.get("securityGroups") or [], network.get("securityGroups") or []),
                "assignPublicIp": network.get("assignPublicIp") == "ENABLED"}}


SERVICE = ResourceType(
    create=create_service, update=update_service, delete=delete_service, read=read_service,
    # service.go: ForceNew on name, cluster, launch_type, iam_role and scheduling_strategy.
    replace_on=("name", "cluster", "launchType", "iamRole", "schedulingStrategy"),
)


def _set_retention(logs, name: str, days: int | None) -> None:
    if days:
        logs.put_retention_policy(logGroupName=name, retentionInDays=days)
    else:
        logs.delete_retention_policy(logGroupName=name)


def create_log_group(client: Client, inputs: dict) -> tuple[str, dict]:
    logs = client("logs")
    logs.create_log_group(logGroupName=inputs["name"], **({"tags": inputs["tags"]} if inputs.get("tags") else {}))
    if inputs.get("retentionInDays"):
        _set_retention(logs, inputs["name"], inputs["retentionInDays"])
    arn = logs.describe_log_groups(logGroupNamePrefix=inputs["name"])["logGroups"][0]["arn"]
    return inputs["name"], {"arn": arn.removesuffix(":*")}  # group.go: TrimLogGroupARNWildcardSuffix


def update_log_group(client: Client, name: str, olds: dict, news: dict) -> dict:
    if news.get("retentionInDays") != olds.get("retentionInDays"):
        _set_retention(client("logs"), name, news.get("retentionInDays"))
    return {}


def read_log_group(client: Client, name: str, _state: dict) -> dict | None:
    """resourceGroupRead: DescribeLogGroups by prefix, the exact name (findLogGroupByName);
    ListTagsForResource from the tags interceptor. No retention policy reads as 0."""
    logs = client("logs")
    found = [group for group in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
             if group["logGroupName"] == name]
    if not found:
        return None
    arn = found[0]["arn"].removesuffix(":*")
    return {"arn": arn, "name": name, "retentionInDays": found[0].get("retentionInDays", 0),
            "logGroupClass": found[0].get("logGroupClass", "STANDARD"),
            "tags": logs.list_tags_for_resource(resourceArn=arn)["tags"],
            **({"kmsKeyId": found[0]["kmsKeyId"]} if "kmsKeyId" in found[0] else {})}


LOG_GROUP = ResourceType(
    create=create_log_group, update=update_log_group, read=read_log_group,
    delete=lambda client, name, _state: client("logs").delete_log_group(logGroupName=name),
    replace_on=("name", "namePrefix", "logGroupClass"),  # group.go: ForceNew on these; retention updates
)


def create_file_system(client: Client, inputs: dict) -> tuple[str, dict]:
    efs = client("efs")
    system = efs.create_file_system(CreationToken=inputs["creationToken"], Encrypted=bool(inputs.get("encrypted")),
                                    Tags=tags(inputs))
    return system["FileSystemId"], {"arn": system["FileSystemArn"]}


FILE_SYSTEM = ResourceType(
    create=create_file_system, update=tags_only("file system"),
    delete=lambda client, system_id, _state: client("efs").delete_file_system(FileSystemId=system_id),
    # file_system.go: ForceNew on creation_token, encrypted, kms_key_id, performance_mode, availability_zone_name.
    replace_on=("creationToken", "encrypted", "kmsKeyId", "performanceMode", "availabilityZoneName"),
    autoname="creationToken",
)


def create_access_point(client: Client, inputs: dict) -> tuple[str, dict]:
    user, root = inputs["posixUser"], inputs["rootDirectory"]
    creation = root.get("creationInfo") or {}
    point = client("efs").create_access_point(
        FileSystemId=inputs["fileSystemId"], PosixUser={"Uid": user["uid"], "Gid": user["gid"]},
        RootDirectory={"Path": root["path"], **({"CreationInfo": {
            "OwnerUid": creation["ownerUid"], "OwnerGid": creation["ownerGid"],
            "Permissions": creation["permissions"]}} if creation else {})})
    return point["AccessPointId"], {"arn": point["AccessPointArn"]}


ACCESS_POINT = ResourceType(
    create=create_access_point, update=tags_only("access point"),
    delete=lambda client, point_id, _state: client("efs").delete_access_point(AccessPointId=point_id),
    replace_on=("fileSystemId", "posixUser", "rootDirectory"),  # access_point.go: ForceNew on these
)


def create_mount_target(client: Client, inputs: dict) -> tuple[str, dict]:
    target = client("efs").create_mount_target(FileSystemId=inputs["fileSystemId"], SubnetId=inputs["subnetId"],
                                               SecurityGroups=inputs.get("securityGroups") or [])
    return target["MountTargetId"], {"networkInterfaceId": target["NetworkInterfaceId"],
                                     "availabilityZoneName": target.get("AvailabilityZoneName", "")}


def update_mount_target(client: Client, target_id: str, olds: dict, news: dict) -> dict:
    """mount_target.go: ModifyMountTargetSecurityGroups for changed security groups."""
    client("efs").modify_mount_target_security_groups(MountTargetId=target_id, SecurityGroups=news["securityGroups"])
    return {}


MOUNT_TARGET = ResourceType(
    create=create_mount_target, update=update_mount_target,
    delete=lambda client, target_id, _state: client("efs").delete_mount_target(MountTargetId=target_id),
    replace_on=("fileSystemId", "subnetId", "ipAddress"),  # mount_target.go: ForceNew on these
)

TYPES = {"aws:ecs/cluster:Cluster": CLUSTER, "aws:ecs/taskDefinition:TaskDefinition": TASK_DEFINITION,
         "aws:ecs/service:Service": SERVICE, "aws:cloudwatch/logGroup:LogGroup": LOG_GROUP,
         "aws:efs/fileSystem:FileSystem": FILE_SYSTEM, "aws:efs/accessPoint:AccessPoint": ACCESS_POINT,
         "aws:efs/mountTarget:MountTarget": MOUNT_TARGET}
