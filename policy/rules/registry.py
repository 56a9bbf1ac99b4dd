"""The ECR repository: immutable build tags, a customer KMS key, scan on push.

Mirrors tests/test_program.py's registry tests (AVD-AWS-0030/0031/0033).
"""

from __future__ import annotations

from .common import violation

REPOSITORY = "aws:ecr/repository:Repository"


def immutable_build_tags(name: str, type_: str, props) -> list[str]:
    # Only the environment tags (`dev`, `prd`) move; build tags and digests never do.
    if type_ != REPOSITORY:
        return []
    mutability = props.get("imageTagMutability")
    if mutability != "IMMUTABLE_WITH_EXCLUSION":
        return [violation(name, "imageTagMutability", f"is {mutability!r}",
                          "set it to 'IMMUTABLE_WITH_EXCLUSION' with the environment tags as exclusions")]
    found = []
    filters = props.get("imageTagMutabilityExclusionFilters") or []
    if not filters:
        found.append(violation(name, "imageTagMutabilityExclusionFilters", "is empty",
                               "list the environment tags (config environmentTags)"))
    for index, item in enumerate(filters):
        if "*" in (item.get("filter") or "*"):
            found.append(violation(name, f"imageTagMutabilityExclusionFilters[{index}].filter",
                                   f"is {item.get('filter')!r}, a pattern",
                                   "name one environment tag exactly, so no build tag can be moved"))
    return found


def customer_kms_key(name: str, type_: str, props) -> list[str]:
    if type_ != REPOSITORY:
        return []
    configurations = props.get("encryptionConfigurations") or [{}]
    kind, key = configurations[0].get("encryptionType"), configurations[0].get("kmsKey")
    if kind != "KMS" or not key:
        return [violation(name, "encryptionConfigurations", f"is encryptionType {kind!r} with kmsKey {key!r}",
                          "encrypt with encryptionType 'KMS' and the stack's customer key (config kmsKeyArn, "
                          "or the key the registry stack creates)")]
    return []


def scan_on_push(name: str, type_: str, props) -> list[str]:
    if type_ != REPOSITORY:
        return []
    scanning = props.get("imageScanningConfiguration") or {}
    if scanning.get("scanOnPush") is not True:
        return [violation(name, "imageScanningConfiguration.scanOnPush", f"is {scanning.get('scanOnPush')!r}",
                          "set it to true")]
    return []
