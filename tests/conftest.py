"""Session fixtures shared by the Docker-backed tests."""

from __future__ import annotations

import uuid

import pytest

from tests.support import docker_env


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
def test_base(docker_engine) -> str:
    return docker_env.import_busybox_base()


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per session: the machine may hold projects from earlier runs."""
    return uuid.uuid4().hex[:8]
