"""The aws stand-in's SSM types: the parameter and its lookup. Source:
terraform-provider-aws internal/service/ssm/ (parameter.go,
parameter_data_source.go)."""

from __future__ import annotations

from tests.standins.aws_model import Client, ResourceType, tag_map


def _put(client: Client, inputs: dict, overwrite: bool) -> dict:
    ssm = client("ssm")
    version = ssm.put_parameter(Name=inputs["name"], Type=inputs["type"], Value=inputs["value"],
                                Overwrite=overwrite)["Version"]
    arn = ssm.get_parameter(Name=inputs["name"])["Parameter"]["ARN"]
    return {"arn": arn, "version": version}


def read_parameter(client: Client, name: str, _state: dict) -> dict | None:
    """resourceParameterRead: GetParameter, decrypted (findParameterByName), DescribeParameters
    filtered on the name (findParameterMetadataByName); ListTagsForResource from the tags interceptor."""
    ssm = client("ssm")
    try:
        parameter = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    except ssm.exceptions.ParameterNotFound:
        return None
    (detail,) = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])[
        "Parameters"]
    listed = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
    return {"arn": parameter["ARN"], "name": parameter["Name"], "type": parameter["Type"], "value": parameter["Value"],
            "version": parameter["Version"], "tier": detail.get("Tier", "Standard"),
            "dataType": detail.get("DataType", "text"), "tags": tag_map(listed),
            **{key: detail[field] for key, field in (("description", "Description"), ("keyId", "KeyId"),
                                                     ("allowedPattern", "AllowedPattern")) if field in detail}}


PARAMETER = ResourceType(
    read=read_parameter,
    create=lambda client, inputs: (inputs["name"], _put(client, inputs, overwrite=False)),
    # resourceParameterUpdate: PutParameter with Overwrite.
    update=lambda client, _name, _olds, news: _put(client, news, overwrite=True),
    delete=lambda client, name, _state: client("ssm").delete_parameter(Name=name),
    replace_on=("name",),  # parameter.go: ForceNew on name
    # parameter.go CustomizeDiff: a changed value makes the version unknown in the plan.
    unknown_after={"value": ("version",)},
)


def get_parameter(client: Client, args: dict) -> dict:
    """parameter_data_source.go: GetParameter, decrypted unless with_decryption is false."""
    parameter = client("ssm").get_parameter(Name=args["name"],
                                            WithDecryption=args.get("withDecryption", True))["Parameter"]
    return {"id": parameter["Name"], "name": parameter["Name"], "arn": parameter["ARN"], "type": parameter["Type"],
            "value": parameter["Value"], "insecureValue": parameter["Value"], "version": parameter["Version"]}


TYPES = {"aws:ssm/parameter:Parameter": PARAMETER}
INVOKES = {"aws:ssm/getParameter:getParameter": get_parameter}
SECRET_INVOKE_OUTPUTS = {"aws:ssm/getParameter:getParameter": ("value",)}  # Sensitive in the schema
