"""How the aws stand-in describes one resource type of pulumi-aws on moto.

Each type says what its create, update and delete call on moto, which inputs
replace it (terraform-provider-aws `ForceNew`), which input pulumi-aws
autonames, and which outputs a change leaves unknown in the plan (the
provider's `CustomizeDiff` with `SetNewComputed`). A type without `update`
is replaced by any change, as a Terraform resource whose every argument is
ForceNew.
"""

from __future__ import annotations

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
    read: Callable[[Client, str], dict | None] | None = None
    """For a refresh, given the id: what AWS holds now (outputs, and inputs it can change), None when
    it is gone. A type without one keeps its state as stored on refresh: its drift goes unseen."""


def autoname(logical_name: str) -> str:
    """pulumi-terraform-bridge AutoName: `-` and 7 random hex characters."""
    return f"{logical_name}-{secrets.token_hex(4)[:7]}"


def tags(inputs: dict) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in (inputs.get("tags") or {}).items()]
