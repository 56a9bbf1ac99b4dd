"""Test stand-in for the pulumi-aws provider plugin: what the program declares, on moto.

pulumi-aws cannot be built here (its provider go.mod replaces the Terraform
provider with ../upstream). This implements exactly what the program uses,
against moto (AWS_ENDPOINT_URL), with the real provider's rules. The provisioned
host's and the ecs target's types are described one by one in aws_ec2, aws_iam,
aws_ssm and aws_ecs (tests/standins/aws_model.py says how); the registry's are here:

- `aws:ecr/repository:Repository`: `name` and `encryptionConfigurations`
  replace, anything else updates in place (terraform-provider-aws
  internal/service/ecr/repository.go: ForceNew on name and
  encryption_configuration); `imageTagMutability` defaults to MUTABLE and is
  set with its exclusion filters by PutImageTagMutability; delete refuses a
  repository holding images unless `forceDelete`;
- `aws:kms/key:Key`: CreateKey, then EnableKeyRotation when asked; `keyUsage`
  and `customerMasterKeySpec` replace, the rest updates in place; delete
  schedules the key's deletion after `deletionWindowInDays`
  (internal/service/kms/key.go: ForceNew on key_usage and
  customer_master_key_spec; resourceKeyDelete calls ScheduleKeyDeletion);
- `aws:ecr/lifecyclePolicy:LifecyclePolicy`: it has no update, so any change
  replaces it, the old policy deleted first (lifecycle_policy.go: ForceNew on
  repository and policy; pulumi-aws provider/resources.go: DeleteBeforeReplace);
- `aws:ecr/getAuthorizationToken:getAuthorizationToken`: a fresh token on
  every call, `password` secret (Sensitive in the schema);
- the provider's own config: changed credentials or region are an update of
  the provider only, nothing it manages is touched (pulumi-aws v7 dropped the
  replace on region, pulumi/pulumi-aws#5656); DiffConfig answers "unknown",
  so the engine compares the config itself and finds an update.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os

import boto3
from pulumi.provider.experimental import provider as p

from tests.standins import aws_ec2, aws_ecs, aws_iam, aws_ssm
from tests.standins.aws_model import ResourceType, autoname
from tests.standins.plugin import changed_keys, diff, plain_map, resource_type, serve, unknown, wrap

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
KMS_KEY = "aws:kms/key:Key"
AUTHORIZATION_TOKEN = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
REPLACE_ON = {REPOSITORY: ("name", "encryptionConfigurations"), LIFECYCLE_POLICY: ("repository", "policy"),
              KMS_KEY: ("keyUsage", "customerMasterKeySpec")}
TYPES: dict[str, ResourceType] = {**aws_ec2.TYPES, **aws_iam.TYPES, **aws_ssm.TYPES, **aws_ecs.TYPES}
INVOKES = {**aws_ec2.INVOKES, **aws_ssm.INVOKES}


def replaced_keys(kind: ResourceType, changed: list[str], old: dict, new: dict) -> list[str]:
    """The changed inputs that replace: named in replace_on, or holding a named field (`key.field`)."""
    def replaces(key: str) -> bool:
        fields = [rule.split(".", 1)[1] for rule in kind.replace_on if rule.startswith(key + ".")]
        return key in kind.replace_on or any((old.get(key) or {}).get(name) != (new.get(key) or {}).get(name)
                                             for name in fields)
    return [key for key in changed if kind.update is None or replaces(key)]


class AwsStandIn(p.Provider):
    def __init__(self):
        self.config: dict = {}

    async def configure(self, request: p.ConfigureRequest) -> p.ConfigureResponse:
        self.config = plain_map(request.args)
        return p.ConfigureResponse(accept_secrets=True, supports_preview=True)

    def _ecr(self):
        return self._client("ecr")

    def _client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=os.environ["AWS_ENDPOINT_URL"],
            region_name=self.config.get("region") or "us-east-1",
            aws_access_key_id=self.config.get("accessKey") or "testing",
            aws_secret_access_key=self.config.get("secretKey") or "testing",
        )

    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        inputs = dict(request.new_inputs)
        kind = TYPES.get(resource_type(request))
        if kind and kind.autoname and kind.autoname not in inputs:
            # The bridge keeps the name it gave before (pulumi-terraform-bridge AutoName, olds first).
            logical_name = request.urn.rsplit("::", 1)[1]
            inputs[kind.autoname] = request.old_inputs.get(kind.autoname) or wrap(autoname(logical_name))
        if resource_type(request) == REPOSITORY and "imageTagMutability" not in inputs:
            inputs["imageTagMutability"] = wrap("MUTABLE")
        return p.CheckResponse(inputs=inputs)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        changed = changed_keys(request.old_state, request.new_inputs, keys=request.new_inputs.keys())
        kind = TYPES.get(resource_type(request))
        if kind:
            return diff(changed, replace_on=replaced_keys(kind, changed, plain_map(request.old_state),
                                                          plain_map(request.new_inputs)))
        response = diff(changed, replace_on=REPLACE_ON.get(resource_type(request), ()))
        response.delete_before_replace = resource_type(request) == LIFECYCLE_POLICY
        return response

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        kind = TYPES.get(resource_type(request))
        if kind:
            return self._create(kind, request)
        inputs = plain_map(request.properties)
        if resource_type(request) == REPOSITORY:
            outputs = {} if request.preview else self._create_repository(inputs)
            return p.CreateResponse(inputs.get("name"), {**request.properties, **outputs})
        if resource_type(request) == LIFECYCLE_POLICY:
            if not request.preview:
                self._put_policy(inputs)
            return p.CreateResponse(inputs["repository"], dict(request.properties))
        if resource_type(request) == KMS_KEY:
            if request.preview:
                return p.CreateResponse(None, dict(request.properties))
            key_id, arn = self._create_key(inputs)
            return p.CreateResponse(key_id, {**request.properties, "keyId": wrap(key_id), "arn": wrap(arn)})
        if request.preview:  # a preview plans from the inputs alone, whatever the type (the policy pack's tests)
            return p.CreateResponse(None, dict(request.properties))
        raise NotImplementedError(f"the aws stand-in does not implement {resource_type(request)}")

    def _create(self, kind: ResourceType, request: p.CreateRequest) -> p.CreateResponse:
        if request.preview:  # what it computes stays unknown
            return p.CreateResponse(None, dict(request.properties))
        resource_id, computed = kind.create(self._client, plain_map(request.properties))
        return p.CreateResponse(resource_id, {**request.properties, **{k: wrap(v) for k, v in computed.items()}})

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        news = plain_map(request.news)
        kind = TYPES.get(resource_type(request))
        if kind:
            return p.UpdateResponse({**request.olds, **request.news, **self._update(kind, request)})
        if not request.preview and resource_type(request) == REPOSITORY:
            self._configure_repository(news)
            self._read_repository(news["name"])
        elif not request.preview and resource_type(request) == KMS_KEY:
            self._set_rotation(plain_map(request.olds)["keyId"], news)
            self._read_key(plain_map(request.olds)["keyId"])
        return p.UpdateResponse({**request.olds, **request.news})

    async def read(self, request: p.ReadRequest) -> p.ReadResponse:
        kind = TYPES.get(resource_type(request))
        if not kind or not kind.read:
            return await super().read(request)
        current = kind.read(self._client, request.resource_id, plain_map(request.properties))
        if current is None:  # an empty id tells the engine the resource is gone
            return p.ReadResponse(resource_id="", properties={}, inputs={})
        # A value read back stays secret where the state held it secret (the bridge marks the
        # schema's Sensitive fields, such as a parameter's `value`).
        secret = {key for key, value in request.properties.items() if value.is_secret}
        return p.ReadResponse(resource_id=request.resource_id, inputs=request.inputs, properties={
            **request.properties, **{key: wrap(value, secret=key in secret) for key, value in current.items()}})

    def _update(self, kind: ResourceType, request: p.UpdateRequest) -> dict:
        olds, news = plain_map(request.olds), plain_map(request.news)
        if request.preview:
            return {output: unknown() for key, outputs in kind.unknown_after.items()
                    if olds.get(key) != news.get(key) for output in outputs}
        return {key: wrap(value) for key, value in kind.update(self._client, request.resource_id, olds, news).items()}

    async def delete(self, request: p.DeleteRequest) -> None:
        state = plain_map(request.properties)
        kind = TYPES.get(resource_type(request))
        if kind:
            kind.delete(self._client, request.resource_id, state)
            return
        ecr = self._ecr()
        if resource_type(request) == REPOSITORY:
            ecr.delete_repository(repositoryName=state["name"], force=bool(state.get("forceDelete")))
        elif resource_type(request) == LIFECYCLE_POLICY:
            with contextlib.suppress(ecr.exceptions.RepositoryNotFoundException):  # gone with its repository
                ecr.delete_lifecycle_policy(repositoryName=state["repository"])
        elif resource_type(request) == KMS_KEY:
            self._client("kms").schedule_key_deletion(KeyId=state["keyId"],
                                                      PendingWindowInDays=int(state.get("deletionWindowInDays") or 30))

    async def invoke(self, request: p.InvokeRequest) -> p.InvokeResponse:
        if request.tok in INVOKES:
            result = INVOKES[request.tok](self._client, plain_map(request.args))
            secret = aws_ssm.SECRET_INVOKE_OUTPUTS.get(request.tok, ())
            return p.InvokeResponse({key: wrap(value, secret=key in secret) for key, value in result.items()})
        if request.tok != AUTHORIZATION_TOKEN:
            raise NotImplementedError(f"the aws stand-in does not implement {request.tok}")
        data = self._ecr().get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        return p.InvokeResponse({
            "userName": wrap(user), "password": wrap(password, secret=True),
            "authorizationToken": wrap(data["authorizationToken"], secret=True),
            "proxyEndpoint": wrap(data["proxyEndpoint"]), "expiresAt": wrap(str(data["expiresAt"])),
        })

    def _create_key(self, inputs: dict) -> tuple[str, str]:
        key = self._client("kms").create_key(Description=inputs.get("description") or "")["KeyMetadata"]
        self._set_rotation(key["KeyId"], inputs)
        self._read_key(key["KeyId"])
        return key["KeyId"], key["Arn"]

    # The provider reads each resource back after its create and update (the Terraform SDK's
    # create/update functions end in the read): the same calls here, so that a policy missing a
    # read fails here as it would on AWS (tests/test_iam_enforced.py).

    def _read_key(self, key_id: str) -> None:
        """kms/key.go resourceKeyRead; ListResourceTags from the tags interceptor."""
        kms = self._client("kms")
        kms.describe_key(KeyId=key_id)
        kms.get_key_policy(KeyId=key_id, PolicyName="default")
        kms.get_key_rotation_status(KeyId=key_id)
        kms.list_resource_tags(KeyId=key_id)

    def _read_repository(self, name: str) -> None:
        """ecr/repository.go resourceRepositoryRead; ListTagsForResource from the tags interceptor."""
        ecr = self._ecr()
        arn = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]["repositoryArn"]
        ecr.list_tags_for_resource(resourceArn=arn)

    def _set_rotation(self, key_id: str, inputs: dict) -> None:
        kms = self._client("kms")
        (kms.enable_key_rotation if inputs.get("enableKeyRotation") else kms.disable_key_rotation)(KeyId=key_id)

    def _create_repository(self, inputs: dict) -> dict:
        ecr = self._ecr()
        options = {}
        for item in inputs.get("encryptionConfigurations") or []:  # at most one (MaxItems: 1)
            options["encryptionConfiguration"] = {key: item[key] for key in ("encryptionType", "kmsKey") if key in item}
        repository = ecr.create_repository(repositoryName=inputs["name"], **options)["repository"]
        self._configure_repository(inputs)
        self._read_repository(inputs["name"])
        return {key: wrap(value) for key, value in {
            "arn": repository["repositoryArn"], "registryId": repository["registryId"],
            "repositoryUrl": repository["repositoryUri"],
        }.items()}

    def _configure_repository(self, inputs: dict) -> None:
        ecr = self._ecr()
        filters = [{"filterType": item["filterType"], "filter": item["filter"]}
                   for item in inputs.get("imageTagMutabilityExclusionFilters") or []]
        ecr.put_image_tag_mutability(repositoryName=inputs["name"], imageTagMutability=inputs["imageTagMutability"],
                                     **({"imageTagMutabilityExclusionFilters": filters} if filters else {}))
        scanning = inputs.get("imageScanningConfiguration") or {}
        ecr.put_image_scanning_configuration(
            repositoryName=inputs["name"],
            imageScanningConfiguration={"scanOnPush": bool(scanning.get("scanOnPush"))},
        )

    def _put_policy(self, inputs: dict) -> None:
        json.loads(inputs["policy"])  # the real provider validates the JSON too
        self._ecr().put_lifecycle_policy(repositoryName=inputs["repository"], lifecyclePolicyText=inputs["policy"])
        self._ecr().get_lifecycle_policy(repositoryName=inputs["repository"])  # lifecycle_policy.go read


if __name__ == "__main__":
    serve(AwsStandIn(), "7.51.1")
