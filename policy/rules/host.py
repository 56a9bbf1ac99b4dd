"""EC2 hosts: IMDSv2 with hop limit 1, no SSH from the world, encrypted storage.

Mirrors tests/test_provisioned_host.py (the instance's metadataOptions and
root volume, the firewall's CIDRs) and tests/test_ecs_program.py (EFS).
"""

from __future__ import annotations

from .common import shown, violation

INSTANCE = "aws:ec2/instance:Instance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EBS_VOLUME = "aws:ebs/volume:Volume"
EFS = "aws:efs/fileSystem:FileSystem"
WORLD = {"0.0.0.0/0", "::/0"}
SSH_PORT = 22
ALL_PROTOCOLS = {"-1", "all"}


def imdsv2_hop_limit_1(name: str, type_: str, props) -> list[str]:
    # Hop limit 1 keeps the instance role's credentials out of containers; AL2023's AMI defaults to 2.
    if type_ != INSTANCE:
        return []
    options = props.get("metadataOptions") or {}
    found = []
    if options.get("httpTokens") != "required":
        found.append(violation(name, "metadataOptions.httpTokens", f"is {options.get('httpTokens')!r}",
                               "set it to 'required' (IMDSv2 only)"))
    if options.get("httpPutResponseHopLimit") != 1:
        found.append(violation(name, "metadataOptions.httpPutResponseHopLimit",
                               f"is {shown(options.get('httpPutResponseHopLimit'))}",
                               "set it to 1 so containers cannot reach the instance role"))
    return found


def no_world_open_ssh(name: str, type_: str, props) -> list[str]:
    if type_ == SECURITY_GROUP:
        rules = [(f"ingress[{index}]", rule) for index, rule in enumerate(props.get("ingress") or [])]
    elif type_ == SECURITY_GROUP_RULE and props.get("type") == "ingress":
        rules = [("", props)]
    elif type_ == INGRESS_RULE:
        rules = [("", {"protocol": props.get("ipProtocol"), "fromPort": props.get("fromPort"),
                       "toPort": props.get("toPort"),
                       "cidrBlocks": [props.get("cidrIpv4")], "ipv6CidrBlocks": [props.get("cidrIpv6")]})]
    else:
        return []
    found = []
    for where, rule in rules:
        open_to = WORLD & {*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])}
        if open_to and _reaches_ssh(rule):
            prop = ".".join(filter(None, [where, "cidrBlocks"]))
            found.append(violation(name, prop, f"opens port 22 to {', '.join(sorted(open_to))}",
                                   "allow SSH only from known CIDRs (config hostSshCidrs), or use SSM"))
    return found


def _reaches_ssh(rule) -> bool:
    protocol = str(rule.get("protocol") or "").lower()
    if protocol in ALL_PROTOCOLS:
        return True
    return protocol in ("tcp", "6") and (rule.get("fromPort") or 0) <= SSH_PORT <= (rule.get("toPort") or 0)


def encrypted_storage(name: str, type_: str, props) -> list[str]:
    found = []
    if type_ == INSTANCE:
        root = props.get("rootBlockDevice") or {}
        if root.get("encrypted") is not True:
            found.append(violation(name, "rootBlockDevice.encrypted", f"is {root.get('encrypted')!r}",
                                   "set it to true"))
        for index, device in enumerate(props.get("ebsBlockDevices") or []):
            if device.get("encrypted") is not True:
                found.append(violation(name, f"ebsBlockDevices[{index}].encrypted", f"is {device.get('encrypted')!r}",
                                       "set it to true"))
    elif type_ in (EBS_VOLUME, EFS) and props.get("encrypted") is not True:
        found.append(violation(name, "encrypted", f"is {props.get('encrypted')!r}", "set it to true"))
    return found
