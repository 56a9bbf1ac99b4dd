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
# Temporary credentials' third part; it has no alias.
SESSION_TOKEN = "AWS_SESSION_TOKEN"  # noqa: S105 (a variable name, not a token)
BOTO3_ARGUMENTS = {"AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
                   SESSION_TOKEN: "aws_session_token", "AWS_DEFAULT_REGION": "region_name"}


def unquote(value: str) -> str:
    """Strip one pair of matching surrounding quotes, nothing else."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _value(environ: Mapping[str, str], name: str) -> str | None:
    """NAME's own value, stripped and unquoted; None when unset or empty."""
    value = unquote(environ.get(name, "").strip())
    return value or None


def read(environ: Mapping[str, str], name: str) -> str | None:
    """The value of NAME's alias when that is set, else of NAME; unquoted; None
    when neither is set. The alias wins as in the old scripts, which ran
    `export NAME="$ALIAS"` whatever NAME held."""
    alias = ALIASES.get(name)
    alias_value = _value(environ, alias) if alias else None
    return alias_value if alias_value is not None else _value(environ, name)


def _overridden(environ: Mapping[str, str], name: str) -> bool:
    """NAME is set, and its alias, set to another value, wins over it."""
    own = _value(environ, name)
    return own is not None and read(environ, name) != own


def aws_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """The AWS variables in use, under the standard names, unquoted; unset ones
    left out. The session token belongs to the AWS_ACCESS_KEY_ID it was issued
    with: when an alias key replaces that one, the token stays behind (sent
    with another key, AWS refuses the request)."""
    values = {name: read(environ, name) for name in ALIASES}
    if not _overridden(environ, "AWS_ACCESS_KEY_ID"):
        values[SESSION_TOKEN] = _value(environ, SESSION_TOKEN)
    return {name: value for name, value in values.items() if value is not None}


def alias_conflicts(environ: Mapping[str, str]) -> list[str]:
    """A warning for each standard name an alias overrides with another value.
    Names only: a warning never holds a value."""
    warnings = [f"{alias} and {name} are both set and differ; {alias} is used, as the old scripts did"
                for name, alias in ALIASES.items() if _overridden(environ, name)]
    if _overridden(environ, "AWS_ACCESS_KEY_ID") and _value(environ, SESSION_TOKEN):
        warnings.append(f"{SESSION_TOKEN} is not used: it belongs to AWS_ACCESS_KEY_ID, "
                        f"which {ALIASES['AWS_ACCESS_KEY_ID']} overrides")
    return warnings


def boto3_credentials(environ: Mapping[str, str]) -> dict[str, str | None]:
    """boto3 client arguments from the AWS variables in use (aws_variables).

    The commands the program runs (ECR tag moves, the ecs rollout) inherit
    the environment Pulumi was started with and read their credentials here,
    so no credential is ever one of their inputs: a rotated key, or a preview
    under other keys, shows no change and leaves nothing in the state."""
    values = aws_variables(environ)
    return {argument: values.get(name) for name, argument in BOTO3_ARGUMENTS.items()}


def accepted_names(name: str) -> str:
    """How an error names a variable: both names it may arrive under."""
    alias = ALIASES.get(name)
    return f"{name} (or {alias})" if alias else name


# The secrets the program reads besides the AWS variables (aws_variables).
PROGRAM_SECRETS = ("SSH_PRIVATE_KEY", "WHATSAPP_API_TOKEN")


def program_secrets(store: Mapping[str, str]) -> dict[str, str]:
    """The secrets the program reads, from STORE, under the standard names,
    unquoted; unset ones are left out."""
    values = aws_variables(store) | {name: read(store, name) or "" for name in PROGRAM_SECRETS}
    return {name: value for name, value in values.items() if value}


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """ENVIRON as a command outside the program sees it in a CI job (the Pulumi
    CLI with an s3:// backend, scripts/host-status): the program's secrets
    under the standard names, unquoted. The standard AWS names and the
    session token are dropped first, so a token left behind (aws_variables)
    does not reach the command beside a key it does not belong to."""
    replaced = {*ALIASES, SESSION_TOKEN}
    kept = {name: value for name, value in environ.items() if name not in replaced}
    return kept | program_secrets(environ)
