"""The aws stand-in's IAM types: role, inline role policy, managed policy
attachment, instance profile. Sources: terraform-provider-aws
internal/service/iam/ (role.go, role_policy.go, role_policy_attachment.go,
instance_profile.go); names autonamed as pulumi-aws provider/resources.go does."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tests.standins.aws_model import Client, ResourceType, policy_to_set, tag_map, tags


def _found(call, **arguments) -> dict | None:
    """CALL's answer, None for NoSuchEntity (the provider's find functions: NotFoundError)."""
    try:
        return call(**arguments)
    except ClientError as error:
        if error.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise


def create_role(client: Client, inputs: dict) -> tuple[str, dict]:
    role = client("iam").create_role(RoleName=inputs["name"], AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
                                     Tags=tags(inputs))["Role"]
    return role["RoleName"], {"arn": role["Arn"], "uniqueId": role["RoleId"]}


def update_role(client: Client, name: str, olds: dict, news: dict) -> dict:
    """resourceRoleUpdate: UpdateAssumeRolePolicy for a changed trust policy; TagRole for tags."""
    iam = client("iam")
    if news["assumeRolePolicy"] != olds.get("assumeRolePolicy"):
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=news["assumeRolePolicy"])
    if tags(news) and news.get("tags") != olds.get("tags"):
        iam.tag_role(RoleName=name, Tags=tags(news))
    return {}


def read_role(client: Client, name: str, state: dict) -> dict | None:
    """resourceRoleRead: GetRole (findRoleByName; tags from its answer), the inline policies by
    ListRolePolicies and GetRolePolicy (readRoleInlinePolicies), the attached ones by
    ListAttachedRolePolicies (findRoleAttachedPolicies)."""
    iam = client("iam")
    found = _found(iam.get_role, RoleName=name)
    if found is None:
        return None
    role = found["Role"]
    inline = [{"name": policy, "policy": policy_to_set(None, iam.get_role_policy(
        RoleName=name, PolicyName=policy)["PolicyDocument"])}
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]]
    attached = [policy["PolicyArn"] for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
    return {"arn": role["Arn"], "uniqueId": role["RoleId"], "name": role["RoleName"], "path": role["Path"],
            "assumeRolePolicy": policy_to_set(state.get("assumeRolePolicy"), role["AssumeRolePolicyDocument"]),
            "maxSessionDuration": role.get("MaxSessionDuration", 3600), "tags": tag_map(role.get("Tags")),
            "inlinePolicies": inline, "managedPolicyArns": attached}


ROLE = ResourceType(
    create=create_role, update=update_role, read=read_role,
    delete=lambda client, name, _state: client("iam").delete_role(RoleName=name),
    replace_on=("name", "namePrefix", "path"),  # role.go: ForceNew on name, name_prefix and path
    autoname="name",
)


def _put_role_policy(client: Client, inputs: dict) -> None:
    client("iam").put_role_policy(RoleName=inputs["role"], PolicyName=inputs["name"], PolicyDocument=inputs["policy"])


def create_role_policy(client: Client, inputs: dict) -> tuple[str, dict]:
    _put_role_policy(client, inputs)
    return f"{inputs['role']}:{inputs['name']}", {}  # role_policy.go: the id is role:name


def read_role_policy(client: Client, policy_id: str, state: dict) -> dict | None:
    """resourceRolePolicyRead: GetRolePolicy (FindRolePolicyByTwoPartKey) of the id's role:name."""
    role, name = policy_id.split(":", 1)
    found = _found(client("iam").get_role_policy, RoleName=role, PolicyName=name)
    if found is None:
        return None
    return {"role": role, "name": name, "policy": policy_to_set(state.get("policy"), found["PolicyDocument"])}


ROLE_POLICY = ResourceType(
    create=create_role_policy, read=read_role_policy,
    # resourceRolePolicyPut serves create and update: PutRolePolicy replaces the document.
    update=lambda client, _id, _olds, news: _put_role_policy(client, news) or {},
    delete=lambda client, _id, state: client("iam").delete_role_policy(RoleName=state["role"],
                                                                       PolicyName=state["name"]),
    replace_on=("name", "namePrefix", "role"),  # role_policy.go: ForceNew on name, name_prefix and role
    autoname="name",
)


def create_attachment(client: Client, inputs: dict) -> tuple[str, dict]:
    client("iam").attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
    return f"{inputs['role']}/{inputs['policyArn']}", {}


def read_attachment(client: Client, _id: str, state: dict) -> dict | None:
    """resourceRolePolicyAttachmentRead: ListAttachedRolePolicies of the role, looking for the
    policy (findAttachedRolePolicyByTwoPartKey); gone with the role or detached."""
    found = _found(client("iam").list_attached_role_policies, RoleName=state["role"])
    arns = [policy["PolicyArn"] for policy in (found or {}).get("AttachedPolicies", [])]
    return {"role": state["role"], "policyArn": state["policyArn"]} if state["policyArn"] in arns else None


ROLE_POLICY_ATTACHMENT = ResourceType(
    create=create_attachment, read=read_attachment,
    delete=lambda client, _id, state: client("iam").detach_role_policy(RoleName=state["role"],
                                                                       PolicyArn=state["policyArn"]),
    replace_on=("role", "policyArn"),  # role_policy_attachment.go: both ForceNew, no update
)


def create_instance_profile(client: Client, inputs: dict) -> tuple[str, dict]:
    iam = client("iam")
    profile = iam.create_instance_profile(InstanceProfileName=inputs["name"], Tags=tags(inputs))["InstanceProfile"]
    if inputs.get("role"):
        iam.add_role_to_instance_profile(InstanceProfileName=inputs["name"], RoleName=inputs["role"])
    return inputs["name"], {"arn": profile["Arn"], "uniqueId": profile["InstanceProfileId"]}


def update_instance_profile(client: Client, name: str, olds: dict, news: dict) -> dict:
    """instanceProfileSetRole: remove the old role, add the new one."""
    iam = client("iam")
    if news.get("role") != olds.get("role"):
        if olds.get("role"):
            iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=olds["role"])
        if news.get("role"):
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=news["role"])
    return {}


def delete_instance_profile(client: Client, name: str, state: dict) -> None:
    """resourceInstanceProfileDelete: its role removed first, as IAM requires."""
    iam = client("iam")
    if state.get("role"):
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=state["role"])
    iam.delete_instance_profile(InstanceProfileName=name)


def read_instance_profile(client: Client, name: str, _state: dict) -> dict | None:
    """resourceInstanceProfileRead: GetInstanceProfile (findInstanceProfileByName; tags from its
    answer), then GetRole of its role, which must exist."""
    iam = client("iam")
    found = _found(iam.get_instance_profile, InstanceProfileName=name)
    if found is None:
        return None
    profile = found["InstanceProfile"]
    roles = [role["RoleName"] for role in profile["Roles"]]
    if roles:
        iam.get_role(RoleName=roles[0])
    return {"arn": profile["Arn"], "uniqueId": profile["InstanceProfileId"], "name": profile["InstanceProfileName"],
            "path": profile["Path"], "role": roles[0] if roles else None, "tags": tag_map(profile.get("Tags"))}


INSTANCE_PROFILE = ResourceType(
    create=create_instance_profile, update=update_instance_profile, delete=delete_instance_profile,
    read=read_instance_profile,
    replace_on=("name", "namePrefix", "path"),  # instance_profile.go: ForceNew on name, name_prefix and path
    autoname="name",
)

TYPES = {"aws:iam/role:Role": ROLE, "aws:iam/rolePolicy:RolePolicy": ROLE_POLICY,
         "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ROLE_POLICY_ATTACHMENT,
         "aws:iam/instanceProfile:InstanceProfile": INSTANCE_PROFILE}
