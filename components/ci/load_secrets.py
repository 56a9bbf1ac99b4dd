"""The CI load step: the job's secrets, exported for its later steps.

    .venv/bin/python -m components.ci.load_secrets

From Doppler when DOPPLER_TOKEN is set, else from the job's environment (the
GitHub Actions secrets), under the standard names and unquoted
(components.config.environment), each value masked before it is written to
GITHUB_ENV.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Mapping

from components.config import doppler, environment

# What the CI load step exports: the state backend's secrets (from GitHub
# only) and the secrets the program reads (from Doppler when a token is set):
# environment.program_secrets.
BACKEND_SECRETS = ("PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE")


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
    program's from STORE (Doppler's download, or ENVIRON itself)."""
    backend = {name: environ[name] for name in BACKEND_SECRETS if environ.get(name)}
    return backend | environment.program_secrets(store)


def main(environ: Mapping[str, str], fetch: Callable[[str], Mapping[str, str]] = doppler.download) -> None:
    """The CI load step: secrets from Doppler (FETCH) when DOPPLER_TOKEN is
    set, else from ENVIRON, exported for the job's later steps."""
    if "GITHUB_ENV" not in environ:
        sys.exit("components.ci.load_secrets: GITHUB_ENV is not set (this runs in GitHub Actions)")
    token = environment.read(environ, "DOPPLER_TOKEN")
    try:
        store = fetch(token) if token else environ
    except doppler.DopplerError as error:
        sys.exit(f"components.ci.load_secrets: {error}")
    for warning in environment.alias_conflicts(store):
        print(f"::warning::{warning}")
    export_to_github_env(ci_secrets(environ, store), environ["GITHUB_ENV"])


if __name__ == "__main__":
    main(os.environ)
