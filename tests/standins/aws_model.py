"""How the aws stand-in describes one resource type of pulumi-aws on moto.

Each type says what its create, update and delete call on moto, which inputs
replace it (terraform-provider-aws `ForceNew`), which input pulumi-aws
autonames, and which outputs a change leaves unknown in the plan (the
provider's `CustomizeDiff` with `SetNewComputed`). A type without `update`
is replaced by any change, as a Terraform resource whose every argument is
ForceNew.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

Client = Callable[[str], object]
"""A boto3 client for a service name, on moto, with the provider's credentials and region."""


@dataclass(frozen=True)
class ResourceType:
    create: Callable[[Client, dict], tuple[str, dict]]
    """(id, computed outputs) for the inputs."""
    delete: Callable[[Client, str, dict], None]
    """Given the id and the state."""
    update: Callable[[Client, str, dict, dict], dict] | None = None
    """Given the id, the old state and the new inputs: the computed outputs now."""
    replace_on: tuple[str, ...] = ()
    autoname: str | None = None
    """The input pulumi-aws fills with `<logical name>-<7 hex>` when the program gives none."""
    unknown_after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Input -> outputs the plan shows unknown when that input changes."""
    read: Callable[[Client, str, dict], dict | None] | None = None
    """For a refresh, given the id and the state: what AWS holds now (outputs, and inputs it can
    change), None when it is gone. A type without one keeps its state as stored on refresh: its
    drift goes unseen."""


def autoname(logical_name: str) -> str:
    """pulumi-terraform-bridge AutoName: `-` and 7 random hex characters."""
    return f"{logical_name}-{secrets.token_hex(4)[:7]}"


def tags(inputs: dict) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in (inputs.get("tags") or {}).items()]


def tag_map(aws_tags: list[dict] | None) -> dict:
    """AWS's tag list (`Key`/`Value`, or `key`/`value` as ECS has it) as the `tags` input."""
    return {tag.get("Key", tag.get("key")): tag.get("Value", tag.get("value")) for tag in aws_tags or []}


def same_set(stored: list, current: list) -> list:
    """CURRENT in STORED's order when both hold the same items: a Terraform set argument
    (TypeSet) has no order, so a read that finds the same items is no change."""
    return stored if sorted(stored) == sorted(current) else current


def policy_to_set(stored: str | None, current: dict | str) -> str:
    """verify.PolicyToSet: the stored JSON when AWS holds an equivalent policy (boto3 hands IAM's
    URL-encoded documents back decoded), else AWS's."""
    current = current if isinstance(current, dict) else json.loads(current)
    return stored if stored and json.loads(stored) == current else json.dumps(current)
