"""Secrets bound to their stack: `doppler run` with another environment's
config stops the program before any resource, naming both environments."""

from __future__ import annotations

import re

import pytest

from components.config import doppler
from components.config.settings import SettingsError
from tests.support import docs
from tests.support.pulumi_program import run_stack
from tests.test_program import doppler_env


@pytest.mark.parametrize(
    ("variable", "value", "environment", "belongs"),
    [
        ("DOPPLER_CONFIG", "dev", "dev", True),
        ("DOPPLER_CONFIG", "dev_personal", "dev", True),  # a branch config of dev
        ("DOPPLER_CONFIG", "prd", "dev", False),
        ("DOPPLER_CONFIG", "prd_hotfix", "dev", False),
        ("DOPPLER_CONFIG", "development", "dev", False),  # a prefix is not a branch without `_`
        ("DOPPLER_CONFIG", "dev_personal", "prd", False),
        ("DOPPLER_ENVIRONMENT", "prd", "prd", True),
        ("DOPPLER_ENVIRONMENT", "dev", "prd", False),
        ("DOPPLER_ENVIRONMENT", "prd_hotfix", "prd", False),  # environments have no branches
    ],
)
def test_which_doppler_environment_and_configs_belong_to_a_stack(variable, value, environment, belongs):
    assert doppler.names_environment(variable, value, environment) is belongs


@pytest.mark.parametrize(
    ("stack", "doppler_variables", "named"),
    [
        ("prd", {"DOPPLER_CONFIG": "dev", "DOPPLER_ENVIRONMENT": "dev"}, "DOPPLER_ENVIRONMENT=dev"),
        ("prd", {"DOPPLER_CONFIG": "dev_personal"}, "DOPPLER_CONFIG=dev_personal"),
        ("prd", {"DOPPLER_CONFIG": '"dev"'}, "DOPPLER_CONFIG=dev"),
        ("dev", {"DOPPLER_ENVIRONMENT": "prd", "DOPPLER_CONFIG": "dev"}, "DOPPLER_ENVIRONMENT=prd"),
        ("dev", {"DOPPLER_ENVIRONMENT": "dev", "DOPPLER_CONFIG": "prd"}, "DOPPLER_CONFIG=prd"),
        ("local", {"DOPPLER_CONFIG": "dev_personal"}, "DOPPLER_CONFIG=dev_personal"),
        ("ecs-example", {"DOPPLER_CONFIG": "dev"}, "DOPPLER_CONFIG=dev"),
    ],
)
def test_another_environments_doppler_config_stops_the_program_before_any_resource(stack, doppler_variables, named):
    declared: list = []
    with pytest.raises(SettingsError) as error:
        run_stack(stack, doppler_env(**doppler_variables), record_into=declared)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]
    environment = {"local": "local", "ecs-example": "prd"}.get(stack, stack)
    assert named in str(error.value)
    assert f"whatsapp-miner:environment is {environment} in " in str(error.value)


@pytest.mark.parametrize(
    ("stack", "doppler_variables"),
    [
        ("prd", {"DOPPLER_ENVIRONMENT": "prd", "DOPPLER_CONFIG": "prd"}),
        ("dev", {"DOPPLER_ENVIRONMENT": "dev", "DOPPLER_CONFIG": "dev_personal"}),
        ("dev", {"DOPPLER_ENVIRONMENT": "", "DOPPLER_CONFIG": ""}),  # not under `doppler run`
        ("registry", {"DOPPLER_ENVIRONMENT": "dev", "DOPPLER_CONFIG": "dev"}),  # every environment's
    ],
)
def test_the_stacks_own_doppler_config_or_none_runs(stack, doppler_variables):
    assert run_stack(stack, doppler_env(**doppler_variables)).registrations


def test_every_doppler_command_in_the_docs_names_the_config_of_its_stack():
    commands = [span for page in docs.pages() for span in docs.code_spans(page)
                if re.fullmatch(r"doppler run --config \S+ -- .+", span)]
    assert len(commands) >= 10
    for command in commands:  # through the wrapper: the CLI and host-status read only the standard names
        match = re.fullmatch(r"doppler run --config (\S+) -- scripts/with-aws-env "
                             r"(?:pulumi .*-s|scripts/host-status) (\S+).*", command)
        assert match and match[1] == match[2], command
