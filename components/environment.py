"""Reading values from the process environment, the way the old scripts did.

Secrets arrive from Doppler, a CI system or a shell, sometimes under aliases
and sometimes wrapped in one pair of quotes. This is the one place that
knows both; the program never cares who set a variable.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Mapping

from components import doppler

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


def boto3_credentials(environ: Mapping[str, str]) -> dict[str, str | None]:
    """boto3 client arguments from the standard names or their aliases, unquoted.

    The commands the program runs (ECR tag moves, the ecs rollout) inherit
    the environment Pulumi was started with and read their credentials here,
    so no credential is ever one of their inputs: a rotated key, or a preview
    under other keys, shows no change and leaves nothing in the state."""
    return {"aws_access_key_id": read(environ, "AWS_ACCESS_KEY_ID"),
            "aws_secret_access_key": read(environ, "AWS_SECRET_ACCESS_KEY"),
            "aws_session_token": read(environ, "AWS_SESSION_TOKEN"),
            "region_name": read(environ, "AWS_DEFAULT_REGION")}


def accepted_names(name: str) -> str:
    """How an error names a variable: both names it may arrive under."""
    alias = ALIASES.get(name)
    return f"{name} (or {alias})" if alias else name


# What the CI load step exports: the state backend's secrets (from GitHub
# only) and the secrets the program reads (from Doppler when a token is set).
BACKEND_SECRETS = ("PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE")
PROGRAM_SECRETS = (*ALIASES, "SSH_PRIVATE_KEY", "WHATSAPP_API_TOKEN")


def _escape_command_data(text: str) -> str:
    """Workflow command data, escaped as @actions/core `escapeData` does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def export_to_github_env(values: Mapping[str, str], github_env: str) -> None:
    """Append NAME=VALUE entries to a GitHub Actions env file, each value
    masked line by line first (a mask command holds one line) and written
    with a random heredoc delimiter, so a multi-line value (an SSH key)
    arrives whole. Never prints a value otherwise."""
    delimiter = f"EOF_{secrets.token_hex(16)}"
    with open(github_env, "a", encoding="utf-8") as env_file:
        for name, value in values.items():
            for line in value.splitlines():
                if line.strip():
                    print(f"::add-mask::{_escape_command_data(line)}")
            env_file.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def ci_secrets(environ: Mapping[str, str], store: Mapping[str, str]) -> dict[str, str]:
    """The values a Pulumi job exports: the backend's from ENVIRON, the
    program's from STORE (Doppler's download, or ENVIRON itself), under the
    standard names, unquoted; unset ones are left out."""
    values = {name: environ.get(name, "") for name in BACKEND_SECRETS}
    values |= {name: read(store, name) or "" for name in PROGRAM_SECRETS}
    return {name: value for name, value in values.items() if value}


def main(environ: Mapping[str, str], fetch: Callable[[str], Mapping[str, str]] = doppler.download) -> None:
    """The CI load step: secrets from Doppler (FETCH) when DOPPLER_TOKEN is
    set, else from ENVIRON, exported for the job's later steps."""
    if "GITHUB_ENV" not in environ:
        sys.exit("components.environment: GITHUB_ENV is not set (this runs in GitHub Actions)")
    token = read(environ, "DOPPLER_TOKEN")
    try:
        store = fetch(token) if token else environ
    except doppler.DopplerError as error:
        sys.exit(f"components.environment: {error}")
    export_to_github_env(ci_secrets(environ, store), environ["GITHUB_ENV"])


if __name__ == "__main__":
    main(os.environ)
