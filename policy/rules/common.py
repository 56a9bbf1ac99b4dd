"""What the rules share: how a violation reads, and which names are secrets."""

from __future__ import annotations

import json
import re

# A variable whose name has one of these words (between underscores) holds a
# secret: WHATSAPP_API_TOKEN, AWS_SECRET_ACCESS_KEY, SSH_PRIVATE_KEY; not
# WHATSAPP_MINER_SECRETS_VERSION (a version marker).
SECRET_NAME = re.compile(r"(^|_)(TOKEN|SECRET|PASSWORD|PASSPHRASE|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIALS?)(_|$)")


def violation(name: str, prop: str, problem: str, fix: str) -> str:
    return f"{name}: {prop} {problem}; {fix}"


def shown(value) -> str:
    """VALUE as a message shows it; numbers arrive as floats (protobuf Struct), 2.0 reads as 2."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else repr(value)


def is_secret_name(variable: str) -> bool:
    return bool(SECRET_NAME.search(variable.upper()))


def container_definitions(props) -> list[dict]:
    """An ECS task definition's containers (a JSON string in pulumi-aws)."""
    definitions = props.get("containerDefinitions") or "[]"
    return json.loads(definitions) if isinstance(definitions, str) else list(definitions)
