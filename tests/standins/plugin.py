"""What the stand-in provider plugins share: plain values, input diffs, serving.

Values reach a provider as PropertyValues (pulumi.provider.experimental);
the stand-ins work on plain Python values and hand the original
PropertyValues back as outputs, so secrets stay marked (the engine also
marks an output secret when the input of the same name was,
pulumi pkg/resource/deploy/step.go).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping

from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.server import main
from pulumi.runtime import rpc

UNKNOWN = object()
"""A value the engine does not know yet (preview)."""
ELIDED_ASSET = "<asset contents elided by the engine>"


def _unmarshal_elided_assets(unmarshal):
    """The engine sends old state with asset contents elided (signature only,
    pulumi sdk/go/common/resource/plugin/provider_plugin.go: ElideAssetContents),
    which the SDK's unmarshal refuses; the stand-ins compare content hashes
    they compute themselves instead."""

    def tolerant(value):
        fields = value.struct_value.fields if value.WhichOneof("kind") == "struct_value" else {}
        signature = fields.get(rpc._special_sig_key)
        if signature is not None and signature.string_value == rpc._special_asset_sig \
                and not {"path", "text", "uri"} & set(fields):
            return PropertyValue(ELIDED_ASSET)
        return unmarshal(value)

    return staticmethod(tolerant)


PropertyValue.unmarshal = _unmarshal_elided_assets(PropertyValue.unmarshal)


def resource_type(request) -> str:
    """The resource's own type: URNs carry the parent's type first (`parent$type`)."""
    return request.type.rsplit("$", 1)[-1]


def plain(value: PropertyValue):
    """The Python value of VALUE; UNKNOWN for a computed one."""
    inner = value.value
    if isinstance(inner, Computed) or inner == rpc.UNKNOWN:  # the wire's unknown is a sentinel string
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {key: plain(item) for key, item in inner.items()}
    if isinstance(inner, tuple):
        return [plain(item) for item in inner]
    if isinstance(inner, float) and inner.is_integer():
        return int(inner)
    return inner


def plain_map(values: Mapping[str, PropertyValue]) -> dict:
    return {key: plain(value) for key, value in values.items()}


def has_unknown(value) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(has_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(has_unknown(item) for item in value)
    return False


def unknown() -> PropertyValue:
    """An output the engine will see as unknown: the wire's unknown sentinel
    (the SDK's marshal does not take its own Computed)."""
    return PropertyValue(rpc.UNKNOWN)


def wrap(value, secret: bool = False) -> PropertyValue:
    """A plain Python value as a PropertyValue."""
    if isinstance(value, PropertyValue):
        return value
    if isinstance(value, dict):
        value = {key: wrap(item) for key, item in value.items()}
    elif isinstance(value, list | tuple):
        value = [wrap(item) for item in value]
    elif isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return PropertyValue(value, is_secret=secret)


def changed_keys(olds: Mapping[str, PropertyValue], news: Mapping[str, PropertyValue],
                 keys: Iterable[str] | None = None) -> list[str]:
    """Input keys whose values differ (an unknown new value counts as a change)."""
    old, new = plain_map(olds), plain_map(news)
    names = set(keys) if keys is not None else set(old) | set(new)
    return sorted(name for name in names if has_unknown(new.get(name)) or old.get(name) != new.get(name))


def diff(changed: list[str], replace_on: Iterable[str] = ()) -> p.DiffResponse:
    """An update of CHANGED, a replacement when any of REPLACE_ON changed."""
    replaces = [name for name in changed if name in set(replace_on)]
    kind = {True: p.PropertyDiffKind.UPDATE_REPLACE, False: p.PropertyDiffKind.UPDATE}
    return p.DiffResponse(
        changes=bool(changed), replaces=replaces, diffs=changed,
        detailed_diff={name: p.PropertyDiff(kind[name in replaces], True) for name in changed},
    )


def serve(provider: p.Provider, version: str) -> None:
    main(sys.argv[1:], version, provider)
