"""The config key table: the reader refuses what it does not hold, every stack
file keeps to it, and docs/configuration.md is generated from it."""

from __future__ import annotations

import subprocess
from contextlib import chdir

import pytest

from components.config import keys as config_keys
from components.config import reference as config_reference
from components.config import settings
from components.config.settings import SettingsError
from tests.support import docs
from tests.support.pulumi_program import ROOT, STACK_FILES, run_stack, stack_config
from tests.test_program import doppler_env

ENVIRONMENT = doppler_env(GREETING="hello")  # GREETING: the rehearsal stack's second container variable
TOP_LEVEL_STACKS = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml")
                          for path in ROOT.glob("Pulumi.*.yaml"))


def test_a_misspelt_key_is_refused_with_the_key_it_resembles_before_any_resource():
    declared: list = []
    with pytest.raises(SettingsError) as error:
        run_stack("dev", ENVIRONMENT, {"whatsapp-miner:hostSshCidr": '["203.0.113.7/32"]'}, record_into=declared)
    assert str(error.value) == ("whatsapp-miner:hostSshCidr in Pulumi.dev.yaml: not a key this program reads "
                                "(did you mean hostSshCidrs?)")
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]


def test_every_unknown_key_is_named_and_one_like_no_other_points_at_the_reference():
    with pytest.raises(SettingsError) as error:
        run_stack("registry", ENVIRONMENT, {"whatsapp-miner:ecrKeepBuild": "5", "whatsapp-miner:zzz": "1"})
    assert str(error.value) == (
        "whatsapp-miner:ecrKeepBuild in Pulumi.registry.yaml: not a key this program reads (did you mean "
        "ecrKeepBuilds?); whatsapp-miner:zzz in Pulumi.registry.yaml: not a key this program reads "
        "(docs/configuration.md lists them)")


def test_keys_of_other_namespaces_are_left_to_their_providers():
    run = run_stack("dev", ENVIRONMENT, {"aws:region": "eu-west-1", "docker:host": "unix:///var/run/docker.sock"})
    assert run.named("app-deploy")


def test_every_stack_file_in_the_repo_is_one_the_tests_load():
    in_tests = set(ROOT.glob("tests/**/Pulumi.*.yaml"))
    assert in_tests == set(STACK_FILES.values()), "add the stack file to STACK_FILES in tests/support/pulumi_program.py"
    assert {"dev", "prd", "local", "registry"} <= set(TOP_LEVEL_STACKS)


@pytest.mark.parametrize("stack", [*TOP_LEVEL_STACKS, *STACK_FILES])
def test_every_stack_file_sets_only_keys_the_program_reads(stack):
    config = stack_config(stack)
    with chdir(ROOT):  # the ecs target reads docker-compose.yml
        loaded = settings.load(lambda name: config.get(f"{config_keys.NAMESPACE}:{name}"), stack, ENVIRONMENT, config)
    assert loaded.stack_file == f"Pulumi.{stack}.yaml"


def test_every_key_in_the_table_is_read_by_some_stack(tmp_path):
    """The converse of the unknown-key check: the table holds no key that nothing reads."""
    key_file = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)], check=True)
    provisioned = {"whatsapp-miner:provisionHost": "true", "whatsapp-miner:hostAwsCredentials": "instance-role",
                   "whatsapp-miner:hostSshCidrs": '["0.0.0.0/0"]', "whatsapp-miner:hostSshAllowWorld": "true"}
    read: set[str] = set()
    for stack, extra, environ in [("registry", {}, ENVIRONMENT), ("dev", {}, ENVIRONMENT), ("local", {}, {}),
                                  ("ecs-example", {}, ENVIRONMENT),
                                  ("dev", provisioned, {**ENVIRONMENT, "SSH_PRIVATE_KEY": key_file.read_text()})]:
        config = {**stack_config(stack), **extra}

        def get(name: str, config=config) -> str | None:
            read.add(name)
            return config.get(f"{config_keys.NAMESPACE}:{name}")

        with chdir(ROOT):  # the ecs target reads docker-compose.yml
            settings.load(get, stack, environ, config)
    assert read == set(config_keys.NAMES)


def test_fargate_sizes_cover_exactly_the_ecs_cpu_choices():
    assert tuple(settings.FARGATE_MEMORY) == config_keys.ECS_CPU.choices


def test_the_configuration_reference_is_generated_from_the_table():
    doc = config_reference.DOC.read_text()
    assert config_reference.updated(doc) == doc, (
        f"docs/configuration.md differs from components/config/keys.py: run `{config_reference.COMMAND}`")


def test_the_readme_leaves_the_key_table_to_the_reference():
    assert "docs/configuration.md" in docs.links("README.md")
    for page in docs.pages():
        if page != "configuration.md":
            assert not docs.mentions(page, "| `sshPort` |"), f"{page} repeats the key table"
