"""docs/operations.md "Coming from the old scripts": every old command and flag has a row,
and each row's new commands say what the program does (facts, not prose)."""

from __future__ import annotations

import re

import pytest

from tests.support import docs

PAGE, HEADING = "operations.md", "Coming from the old scripts"
PREFIX = "doppler run --config {env} -- scripts/with-aws-env "
# The old scripts and flags, and the commands that replace them, in order.
OLD_TO_NEW = {
    "./docker_build.sh": ["bash scripts/run-local -c whatsapp-miner:deploy=false"],
    "./docker_push.sh": [PREFIX.format(env="dev") + "pulumi up -s dev -c whatsapp-miner:deploy=false"],
    "./docker_run.sh": ["bash scripts/run-local"],
    "./docker_run.sh --env dev": ["bash scripts/run-local"],
    "./docker_run.sh --env prd": [],
    "./docker_run.sh --env dev --remote": [PREFIX.format(env="dev") + "pulumi up -s dev"],
    "./docker_run.sh --env prd --remote": [PREFIX.format(env="prd") + "pulumi up -s prd"],
    "./docker_deploy_with_doppler.sh --env dev": [PREFIX.format(env="dev") + "pulumi up -s dev"],
    # A full deployment: dev builds, pushes and verifies; prd promotes that digest.
    "./docker_deploy_with_doppler.sh --env prd": [
        PREFIX.format(env="dev") + "pulumi up -s dev",
        PREFIX.format(env="prd") + "pulumi up -s prd",
        PREFIX.format(env="prd") + "pulumi stack output status -s prd",
    ],
    "NEW_IMAGE_DIGEST": [PREFIX.format(env="prd") + "pulumi stack output deployedDigest -s prd"],
}


def table() -> list[tuple[str, str]]:
    """The table's rows: (old, new) cells."""
    return [(row[0], " | ".join(row[1:])) for row in docs.table_rows(PAGE, HEADING)]


def rows() -> dict[str, list[str]]:
    """Each old command of the table (first column) -> the new commands (second column)."""
    return {name: re.findall(r"`([^`]+)`", new)
            for old, new in table() for name in re.findall(r"`([^`]+)`", old) or [old]}


@pytest.mark.parametrize("old", OLD_TO_NEW)
def test_every_old_command_has_a_row_with_its_new_commands(old):
    assert old in rows(), f"docs/{PAGE} '{HEADING}' has no row for `{old}`"
    commands = [command for command in rows()[old] if command.startswith(("doppler ", "bash "))]
    assert commands == OLD_TO_NEW[old]


def test_no_row_that_runs_prd_promises_a_build_there():
    for old, new in table():
        if "up -s prd" in new:
            said = re.sub(r"never builds|builds nothing|dev builds", "", new)
            assert not re.search(r"\bbuild", said), f"{old}: {new}"


def test_the_wrapper_the_guide_names_is_there_and_executable():
    wrapper = docs.ROOT / "scripts" / "with-aws-env"
    assert wrapper.stat().st_mode & 0o111
