"""Reading values from the process environment, the way the old scripts did.

Secrets arrive from Doppler, a CI system or a shell, sometimes under aliases
and sometimes wrapped in one pair of quotes. This is the one place that
knows both; the program never cares who set a variable.
"""

from __future__ import annotations

import os
import sys
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


def export_standard_names(environ: Mapping[str, str], github_env: str) -> None:
    """Append the mapped, unquoted standard AWS names to a GitHub Actions env
    file, masking each value, for tools that read only the standard names
    (the Pulumi CLI's s3:// state backend)."""
    with open(github_env, "a", encoding="utf-8") as env_file:
        for name in ALIASES:
            value = read(environ, name)
            if value:
                print(f"::add-mask::{value}")
                env_file.write(f"{name}={value}\n")


if __name__ == "__main__":
    if "GITHUB_ENV" not in os.environ:
        sys.exit("components.environment: GITHUB_ENV is not set (this runs in GitHub Actions)")
    export_standard_names(os.environ, os.environ["GITHUB_ENV"])
