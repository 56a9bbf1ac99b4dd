"""The test tiers (tests/support/tiers.py) and the session fixtures that
reach services and the Pulumi CLI: requesting one puts a test in its tier."""

from __future__ import annotations

import uuid

import pytest

from tests.support import docker_env, moto_iam, sshd_host, tiers
from tests.support.pulumi_cli import require_cli
from tests.support.pulumi_program import ProgramRun
from tests.support.stack_shapes import run_every_shape

TIER_MARKS = {"services": tiers.SERVICES, "pulumi_cli": tiers.PULUMI_CLI}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fast", action="store_true",
                     help="tier 1 only: the tests that request no service and no Pulumi CLI (scripts/test --fast)")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("fast"):
        tiers.enter_fast_tier()


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marks set here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with the tiers of the fixtures it requests, directly or
    through other fixtures; under --fast, deselect every marked one."""
    for item in items:
        for mark, fixtures in TIER_MARKS.items():
            if item.get_closest_marker(mark):
                raise pytest.UsageError(f"{item.nodeid}: `{mark}` comes from the fixtures a test requests "
                                        "(tests/conftest.py), never from a hand-set mark")
            if fixtures.intersection(item.fixturenames):
                item.add_marker(mark)
    if config.getoption("fast"):
        fast = [item for item in items if not any(item.get_closest_marker(mark) for mark in TIER_MARKS)]
        config.hook.pytest_deselected(items=[item for item in items if item not in fast])
        items[:] = fast


@pytest.fixture(scope="session")
def docker_engine() -> None:
    docker_env.require_docker()


@pytest.fixture(scope="session")
def registry(docker_engine) -> str:
    return docker_env.registry_address()


@pytest.fixture(scope="session")
def ecr_registry(docker_engine) -> str:
    return docker_env.ecr_standin_registry()


@pytest.fixture(scope="session")
def ecr_api() -> str:
    """CA bundle trusting the ECR API stand-in (moto over TLS)."""
    return docker_env.ecr_api_standin()


@pytest.fixture(scope="session")
def moto(docker_engine) -> str:
    return docker_env.moto_endpoint()


@pytest.fixture(scope="session")
def aws_api() -> str:
    """moto alone, for tests that need no Docker engine."""
    return docker_env.moto_endpoint()


@pytest.fixture(scope="session")
def aws_iam_api() -> tuple[str, dict[str, str]]:
    """A second moto, enforcing IAM, and its admin's keys (tests/support/moto_iam.py)."""
    return moto_iam.enforcing_moto()


@pytest.fixture(scope="session")
def test_base(docker_engine) -> str:
    return docker_env.import_busybox_base()


@pytest.fixture(scope="session")
def python_base(docker_engine, tmp_path_factory) -> str:
    """A Debian image with python3, the rehearsals' `baseImage` (no public registry here)."""
    return sshd_host.python_base_image(tmp_path_factory.mktemp("debootstrap"))


@pytest.fixture(scope="session")
def pulumi_cli() -> str:
    """The Pulumi CLI on PATH (scripts/test builds it)."""
    return require_cli()


@pytest.fixture(scope="session")
def every_shape(tmp_path_factory) -> dict[str, ProgramRun]:
    """One `up` of each stack shape under mocks (tests/support/stack_shapes.py), shared by the
    modules that check a rule over all of them."""
    return run_every_shape(tmp_path_factory.mktemp("deploy-key"))


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per session: the machine may hold projects from earlier runs."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory, moto):
    """A test-owned sshd whose sessions reach the host engine (tests/support/sshd_host.py)."""
    host = sshd_host.start_rehearsal_host(tmp_path_factory.mktemp("sshd"), moto)
    yield host
    host.stop()
