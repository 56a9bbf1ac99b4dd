"""Nothing reaches a host before the image reference resolves, under Pulumi mocks:
a failed build, tag move or promotion writes no file, .env, credentials or claim."""

from __future__ import annotations

import pytest

from tests.support.pulumi_program import default_stack_outputs, run_stack
from tests.test_program import doppler_env

HOST_RESOURCES = {"app-compose-file", "app-host-tool", "app-env-file", "app-host-credentials", "app-deploy",
                  "app-teardown"}
LOCAL_RESOURCES = {"app-files", "app-env-file", "app-deploy", "app-teardown"}


@pytest.mark.parametrize("stack", ["dev", "prd"])
def test_every_host_resource_waits_for_the_tag_move_that_makes_the_image_reference(stack):
    run = run_stack(stack, doppler_env())
    assert {r.name for r in run.registrations} >= HOST_RESOURCES
    for name in HOST_RESOURCES:
        assert run.depends_on(name, "app-tags"), name


def test_with_deploy_off_the_teardown_alone_still_waits_for_the_image():
    run = run_stack("dev", doppler_env(), {"whatsapp-miner:deploy": "false"})
    assert run.depends_on("app-teardown", "app-tags")


def test_every_local_resource_waits_for_the_local_build():
    run = run_stack("local", {})
    for name in LOCAL_RESOURCES:
        assert run.depends_on(name, "app-image"), name


def test_prd_with_nothing_to_promote_declares_nothing_on_the_host():
    outputs = {**default_stack_outputs(), "organization/whatsapp-miner/dev": {}}
    declared: list = []
    with pytest.raises(ValueError, match="stack organization/whatsapp-miner/dev has no output deployedDigest"):
        run_stack("prd", doppler_env(), stack_outputs=outputs, record_into=declared)
    assert not (HOST_RESOURCES | {"app-tags"}) & {r.name for r in declared}


def test_an_image_tag_the_registry_refuses_declares_nothing_on_the_host():
    declared: list = []
    with pytest.raises(ValueError, match=r"whatsapp-miner:imageTag 'staging' in Pulumi\.dev\.yaml"):
        run_stack("dev", doppler_env(), {"whatsapp-miner:imageTag": "staging"}, record_into=declared)
    assert not HOST_RESOURCES & {r.name for r in declared}
