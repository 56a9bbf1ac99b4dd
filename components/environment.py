"""Reading values from the process environment, the way the old scripts did.

Secrets arrive from Doppler, a CI system or a shell, sometimes under aliases
and sometimes wrapped in one pair of quotes. This is the one place that
knows both; the program never cares who set a variable.
"""

from __future__ import annotations

from collections.abc import Mapping

# Standard name -> the alias Doppler and the CI secrets use for it.
ALIASES = {
    "AWS_ACCESS_KEY_ID": "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY": "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY",
    "AWS_DEFAULT_REGION": "AWS_EC2_REGION",
}


def unquote(value: str) -> str:
    """Strip one pair of matching surrounding quotes, nothing else."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def read(environ: Mapping[str, str], name: str) -> str | None:
    """The value of NAME, or of its alias; unquoted; None when unset or empty."""
    for candidate in (name, ALIASES.get(name)):
        if candidate and environ.get(candidate, "").strip():
            return unquote(environ[candidate].strip())
    return None


def accepted_names(name: str) -> str:
    """How an error names a variable: both names it may arrive under."""
    alias = ALIASES.get(name)
    return f"{name} (or {alias})" if alias else name
