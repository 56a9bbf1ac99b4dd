"""The container .env file: one format that compose v1 and v2 read alike.

Compose v1 parses env files with python-dotenv, v2 with compose-go; they
agree on single-quoted values (taken literally: spaces, `#`, `$` and `"`
are safe, but v1 still expands `${...}`) and on double-quoted values
without `$` or `\\`. A value that neither form can carry identically is
refused rather than mangled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class EnvFileError(ValueError):
    """A variable cannot be written; the message names it, never its value."""


def quote(name: str, value: str) -> str:
    if "\n" in value or "\r" in value or "\\" in value:
        raise EnvFileError(f"{name}: newlines and backslashes cannot be written to a compose .env file")
    if "${" in value:
        raise EnvFileError(f"{name}: '${{' cannot be written to a compose .env file (compose v1 expands it)")
    if "'" not in value:
        return f"'{value}'"
    if '"' in value or "$" in value:
        raise EnvFileError(
            f"{name}: a value holding a single quote cannot also hold '\"' or '$' in a compose .env file"
        )
    return f'"{value}"'


def render_env_file(values: Mapping[str, str]) -> str:
    """The .env text for VALUES, in the order given."""
    for name in values:
        if not NAME.match(name):
            raise EnvFileError(f"{name!r} is not a valid variable name")
    return "".join(f"{name}={quote(name, value)}\n" for name, value in values.items())
