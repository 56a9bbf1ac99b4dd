"""The aws stand-in's EC2 types: instance, security group, Elastic IP, and the
VPC and subnet lookups. Sources: terraform-provider-aws internal/service/ec2/
(ec2_instance.go, vpc_security_group.go, ec2_eip.go, vpc_data_source.go,
vpc_subnet_data_source.go)."""

from __future__ import annotations

import base64

from botocore.exceptions import ClientError

from tests.standins.aws_model import Client, ResourceType, tag_map, tags

WAIT = {"Delay": 1, "MaxAttempts": 120}


def _instance_outputs(client: Client, instance_id: str) -> dict:
    ec2 = client("ec2")
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    instance = reservation["Instances"][0]
    return {
        "instanceType": instance["InstanceType"],
        "arn": f"arn:aws:ec2:{ec2.meta.region_name}:{reservation['OwnerId']}:instance/{instance_id}",
        "publicIp": instance.get("PublicIpAddress", ""), "privateIp": instance.get("PrivateIpAddress", ""),
        "publicDns": instance.get("PublicDnsName", ""), "subnetId": instance.get("SubnetId", ""),
        "availabilityZone": instance["Placement"]["AvailabilityZone"], "instanceState": instance["State"]["Name"],
    }


def _block_device(ec2, ami: str, root: dict) -> list[dict]:
    """ec2_instance.go readBlockDeviceMappingsFromConfig: the root device is named after the AMI's."""
    device = ec2.describe_images(ImageIds=[ami])["Images"][0].get("RootDeviceName", "/dev/xvda")
    ebs = {key: root[name] for name, key in (("volumeSize", "VolumeSize"), ("volumeType", "VolumeType"),
                                             ("encrypted", "Encrypted"), ("deleteOnTermination", "DeleteOnTermination"))
           if name in root}
    return [{"DeviceName": device, "Ebs": ebs}]


def create_instance(client: Client, inputs: dict) -> tuple[str, dict]:
    ec2 = client("ec2")
    metadata = inputs.get("metadataOptions") or {}
    options = {
        "ImageId": inputs["ami"], "InstanceType": inputs["instanceType"], "MinCount": 1, "MaxCount": 1,
        "BlockDeviceMappings": _block_device(ec2, inputs["ami"], inputs.get("rootBlockDevice") or {}),
        "MetadataOptions": {key: metadata[name] for name, key in (
            ("httpEndpoint", "HttpEndpoint"), ("httpTokens", "HttpTokens"),
            ("httpPutResponseHopLimit", "HttpPutResponseHopLimit")) if name in metadata},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": tags(inputs)}],
    }
    if inputs.get("iamInstanceProfile"):
        options["IamInstanceProfile"] = {"Name": inputs["iamInstanceProfile"]}
    if inputs.get("userData"):  # the provider sends it base64-encoded (ec2_instance.go: userDataHashSum)
        options["UserData"] = base64.b64encode(inputs["userData"].encode()).decode()
    groups = inputs.get("vpcSecurityGroupIds") or []
    if inputs.get("subnetId"):
        # buildInstanceOpts: associate_public_ip_address with a subnet is a network interface spec.
        options["NetworkInterfaces"] = [{"DeviceIndex": 0, "SubnetId": inputs["subnetId"], "Groups": groups,
                                         "AssociatePublicIpAddress": bool(inputs.get("associatePublicIpAddress"))}]
    else:
        # No subnet: EC2 picks the default VPC's, whose MapPublicIpOnLaunch gives the address (moto does the same).
        options["SecurityGroupIds"] = groups
    instance_id = ec2.run_instances(**options)["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    return instance_id, _instance_outputs(client, instance_id)


def update_instance(client: Client, instance_id: str, olds: dict, news: dict) -> dict:
    """resourceInstanceUpdate: each changed argument by its own call; a new
    instance type by stop, ModifyInstanceAttribute, start."""
    ec2 = client("ec2")
    changed = {key for key in news if news.get(key) != olds.get(key)}
    if "instanceType" in changed:
        ec2.stop_instances(InstanceIds=[instance_id])
        ec2.get_waiter("instance_stopped").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
        ec2.modify_instance_attribute(InstanceId=instance_id, InstanceType={"Value": news["instanceType"]})
        ec2.start_instances(InstanceIds=[instance_id])
        ec2.get_waiter("instance_running").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)
    if "vpcSecurityGroupIds" in changed:
        ec2.modify_instance_attribute(InstanceId=instance_id, Groups=news["vpcSecurityGroupIds"])
    if "metadataOptions" in changed:
        metadata = news["metadataOptions"]
        ec2.modify_instance_metadata_options(
            InstanceId=instance_id, HttpEndpoint=metadata["httpEndpoint"], HttpTokens=metadata["httpTokens"],
            HttpPutResponseHopLimit=metadata["httpPutResponseHopLimit"])
    if "tags" in changed:
        ec2.create_tags(Resources=[instance_id], Tags=tags(news))
    unsupported = changed - {"instanceType", "vpcSecurityGroupIds", "metadataOptions", "tags"}
    if unsupported:
        raise NotImplementedError(f"the aws stand-in does not implement an instance update of {sorted(unsupported)}")
    return _instance_outputs(client, instance_id)


def delete_instance(client: Client, instance_id: str, _state: dict) -> None:
    ec2 = client("ec2")
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig=WAIT)


def read_instance(client: Client, instance_id: str, _state: dict) -> dict | None:
    """resourceInstanceRead: a terminated instance is gone from the state."""
    outputs = _instance_outputs(client, instance_id)
    return None if outputs["instanceState"] in ("terminated", "shutting-down") else outputs


INSTANCE = ResourceType(
    create=create_instance, update=update_instance, delete=delete_instance, read=read_instance,
    # ec2_instance.go: ForceNew on ami, associate_public_ip_address, availability_zone, key_name,
    # subnet_id, private_ip and root_block_device.encrypted; instance_type, iam_instance_profile,
    # metadata_options and vpc_security_group_ids update in place.
    replace_on=("ami", "associatePublicIpAddress", "availabilityZone", "keyName", "subnetId", "privateIp",
                "rootBlockDevice.encrypted"),
)


def _permissions(rules: list[dict]) -> list[dict]:
    """Inline rules as IpPermissions (vpc_security_group.go expandIPPerms)."""
    permissions = []
    for rule in rules:
        description = {"Description": rule["description"]} if rule.get("description") else {}
        permissions.append({
            "IpProtocol": rule["protocol"], "FromPort": rule["fromPort"], "ToPort": rule["toPort"],
            "IpRanges": [{"CidrIp": cidr, **description} for cidr in rule.get("cidrBlocks") or []],
            "Ipv6Ranges": [{"CidrIpv6": cidr, **description} for cidr in rule.get("ipv6CidrBlocks") or []],
            "UserIdGroupPairs": [{"GroupId": group, **description} for group in rule.get("securityGroups") or []],
        })
    return permissions


def _set_rules(ec2, group_id: str, direction: str, old: list[dict], new: list[dict]) -> None:
    """updateSecurityGroupRules: revoke the rules no longer declared, then authorize the new ones."""
    calls = {"ingress": (ec2.revoke_security_group_ingress, ec2.authorize_security_group_ingress),
             "egress": (ec2.revoke_security_group_egress, ec2.authorize_security_group_egress)}[direction]
    removed = [rule for rule in old if rule not in new]
    added = [rule for rule in new if rule not in old]
    if removed:
        calls[0](GroupId=group_id, IpPermissions=_permissions(removed))
    if added:
        calls[1](GroupId=group_id, IpPermissions=_permissions(added))


ALL_TRAFFIC_OUT = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def create_security_group(client: Client, inputs: dict) -> tuple[str, dict]:
    ec2 = client("ec2")
    group = ec2.create_security_group(GroupName=inputs["name"], Description=inputs["description"],
                                      VpcId=inputs["vpcId"], **(
                                          {"TagSpecifications": [{"ResourceType": "security-group",
                                                                  "Tags": tags(inputs)}]} if tags(inputs) else {}))
    # resourceSecurityGroupCreate revokes EC2's default allow-all egress rule: only declared rules remain.
    ec2.revoke_security_group_egress(GroupId=group["GroupId"], IpPermissions=ALL_TRAFFIC_OUT)
    for direction in ("ingress", "egress"):
        _set_rules(ec2, group["GroupId"], direction, [], inputs.get(direction) or [])
    described = ec2.describe_security_groups(GroupIds=[group["GroupId"]])["SecurityGroups"][0]
    arn = f"arn:aws:ec2:{ec2.meta.region_name}:{described['OwnerId']}:security-group/{group['GroupId']}"
    return group["GroupId"], {"arn": arn, "ownerId": described["OwnerId"]}


def update_security_group(client: Client, group_id: str, olds: dict, news: dict) -> dict:
    ec2 = client("ec2")
    for direction in ("ingress", "egress"):
        _set_rules(ec2, group_id, direction, olds.get(direction) or [], news.get(direction) or [])
    if news.get("tags") != olds.get("tags"):
        ec2.create_tags(Resources=[group_id], Tags=tags(news))
    return {}


RULE_LISTS = (("cidrBlocks", "IpRanges", "CidrIp"), ("ipv6CidrBlocks", "Ipv6Ranges", "CidrIpv6"),
              ("securityGroups", "UserIdGroupPairs", "GroupId"))


def _gather(permissions: list[dict]) -> list[dict]:
    """securityGroupIPPermGather: AWS's permissions as rules, one per protocol, ports and description."""
    rules: dict[tuple, dict] = {}
    for permission in permissions:
        for key, ranges, field in RULE_LISTS:
            for item in permission.get(ranges) or []:
                ports = (permission["IpProtocol"], permission.get("FromPort", 0), permission.get("ToPort", 0))
                rule = rules.setdefault((*ports, item.get("Description", "")), {
                    "protocol": ports[0], "fromPort": ports[1], "toPort": ports[2],
                    **({"description": item["Description"]} if item.get("Description") else {})})
                rule.setdefault(key, []).append(item[field])
    return list(rules.values())


def _match_rules(stored: list[dict], remote: list[dict]) -> list[dict]:
    """matchRules: a stored rule stays as stored while AWS still holds all its sources on its
    protocol and ports (those sources are then taken from AWS's rule); what AWS holds beyond
    the stored rules is added as rules of its own, so a rule revoked or a source added
    outside Pulumi is a change. (`self` is left out: the program declares none.)"""
    kept = []
    for rule in stored:
        for found in remote:
            if (found["protocol"], found["fromPort"], found["toPort"]) != \
                    (rule["protocol"].lower(), rule["fromPort"], rule["toPort"]):
                continue
            if all(set(rule.get(key) or []) <= set(found.get(key) or []) for key, _, _ in RULE_LISTS):
                for key, _, _ in RULE_LISTS:
                    found[key] = [source for source in found.get(key) or [] if source not in (rule.get(key) or [])]
                kept.append({**rule, **({"description": found["description"]} if "description" in found else {})})
                break
    extra = [{key: value for key, value in rule.items() if value != []} for rule in remote]
    return kept + [rule for rule in extra if any(key in rule for key, _, _ in RULE_LISTS)]


def read_security_group(client: Client, group_id: str, state: dict) -> dict | None:
    """resourceSecurityGroupRead: DescribeSecurityGroups (findSecurityGroupByID); the rules
    matched against the stored ones (matchRules); tags from the same answer (setTagsOut)."""
    ec2 = client("ec2")
    try:
        group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidGroup.NotFound":
            return None
        raise
    return {
        "arn": f"arn:aws:ec2:{ec2.meta.region_name}:{group['OwnerId']}:security-group/{group_id}",
        "name": group["GroupName"], "description": group["Description"], "vpcId": group["VpcId"],
        "ownerId": group["OwnerId"], "tags": tag_map(group.get("Tags")),
        "ingress": _match_rules(state.get("ingress") or [], _gather(group["IpPermissions"])),
        "egress": _match_rules(state.get("egress") or [], _gather(group["IpPermissionsEgress"])),
    }


SECURITY_GROUP = ResourceType(
    create=create_security_group, update=update_security_group, read=read_security_group,
    delete=lambda client, group_id, _state: client("ec2").delete_security_group(GroupId=group_id),
    # vpc_security_group.go: ForceNew on name, name_prefix, description and vpc_id; the rules update in place.
    replace_on=("name", "namePrefix", "description", "vpcId"),
    autoname="name",  # pulumi-aws provider/resources.go: aws_security_group name is autonamed
)


def create_eip(client: Client, inputs: dict) -> tuple[str, dict]:
    ec2 = client("ec2")
    address = ec2.allocate_address(Domain=inputs.get("domain") or "vpc")
    if tags(inputs):
        ec2.create_tags(Resources=[address["AllocationId"]], Tags=tags(inputs))
    return address["AllocationId"], {**_associate(ec2, address["AllocationId"], inputs),
                                     "publicIp": address["PublicIp"], "allocationId": address["AllocationId"]}


def _associate(ec2, allocation_id: str, inputs: dict) -> dict:
    """ec2_eip.go associateEIP: to the instance, taking the address from where it was."""
    if not inputs.get("instance"):
        return {"associationId": ""}
    association = ec2.associate_address(AllocationId=allocation_id, InstanceId=inputs["instance"],
                                        AllowReassociation=True)
    return {"associationId": association["AssociationId"]}


def update_eip(client: Client, allocation_id: str, olds: dict, news: dict) -> dict:
    ec2 = client("ec2")
    if news.get("tags") != olds.get("tags"):
        ec2.create_tags(Resources=[allocation_id], Tags=tags(news))
    if news.get("instance") == olds.get("instance"):
        return {}
    if olds.get("associationId"):
        ec2.disassociate_address(AssociationId=olds["associationId"])
    return _associate(ec2, allocation_id, news)


def delete_eip(client: Client, allocation_id: str, state: dict) -> None:
    """resourceEIPDelete: disassociate first, then release."""
    ec2 = client("ec2")
    if state.get("associationId"):
        ec2.disassociate_address(AssociationId=state["associationId"])
    ec2.release_address(AllocationId=allocation_id)


def read_eip(client: Client, allocation_id: str, _state: dict) -> dict | None:
    """resourceEIPRead: DescribeAddresses (findEIPByAllocationID), then DescribeAddressesAttribute
    for the PTR record (findEIPDomainNameAttributeByAllocationID); tags from the first answer."""
    ec2 = client("ec2")
    try:
        (address,) = ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"]
    except ClientError as error:
        if error.response["Error"]["Code"] == "InvalidAllocationID.NotFound":
            return None
        raise
    attribute = ec2.describe_addresses_attribute(AllocationIds=[allocation_id], Attribute="domain-name")["Addresses"]
    return {"allocationId": allocation_id, "associationId": address.get("AssociationId", ""),
            "instance": address.get("InstanceId", ""), "publicIp": address["PublicIp"], "domain": address["Domain"],
            "ptrRecord": attribute[0].get("PtrRecord", "").removesuffix(".") if attribute else "",
            "tags": tag_map(address.get("Tags"))}


EIP = ResourceType(
    create=create_eip, update=update_eip, delete=delete_eip, read=read_eip,
    # ec2_eip.go: ForceNew on domain, address, public_ipv4_pool and network_border_group; instance updates.
    replace_on=("domain", "address", "publicIpv4Pool", "networkBorderGroup"),
    unknown_after={"instance": ("associationId",)},
)


def get_vpc(client: Client, args: dict) -> dict:
    """vpc_data_source.go: `default = true` filters on isDefault; exactly one VPC must match."""
    filters = [{"Name": "isDefault", "Values": ["true"]}] if args.get("default") else []
    vpcs = client("ec2").describe_vpcs(**({"VpcIds": [args["id"]]} if args.get("id") else {}), Filters=filters)["Vpcs"]
    if len(vpcs) != 1:
        raise ValueError(f"no matching EC2 VPC found ({len(vpcs)} matched)")
    return {"id": vpcs[0]["VpcId"], "cidrBlock": vpcs[0]["CidrBlock"], "default": vpcs[0]["IsDefault"]}


def get_subnet(client: Client, args: dict) -> dict:
    subnet = client("ec2").describe_subnets(SubnetIds=[args["id"]])["Subnets"][0]
    return {"id": subnet["SubnetId"], "vpcId": subnet["VpcId"], "cidrBlock": subnet["CidrBlock"],
            "availabilityZone": subnet["AvailabilityZone"]}


TYPES = {"aws:ec2/instance:Instance": INSTANCE, "aws:ec2/securityGroup:SecurityGroup": SECURITY_GROUP,
         "aws:ec2/eip:Eip": EIP}
INVOKES = {"aws:ec2/getVpc:getVpc": get_vpc, "aws:ec2/getSubnet:getSubnet": get_subnet}
