"""The ECR credential helper a provisioned host pulls with, for real: Debian's
amazon-ecr-credential-helper asks the ECR API stand-in (moto over TLS under
ECR's hostname, scripts/services.sh) for a token. On the host the credentials
come from the instance role; here from the environment, which the helper
reads the same way (the AWS SDK's default chain). The second test needs the
Docker engine and the ECR stand-in registry too."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import boto3

from tests.support import docker_env
from tests.support.docker_env import ECR_API_HOST, INSTANCE_ROLE, ecr_standin_host
from tests.test_host_deploy import assert_running_on, image_present, make_project


def test_the_helper_answers_for_the_registry_with_an_ecr_token_and_no_docker_login(ecr_api, tmp_path):
    registry = ecr_standin_host()
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "AWS_CA_BUNDLE": ecr_api, "AWS_ECR_DISABLE_CACHE": "1",
           **INSTANCE_ROLE}
    answer = subprocess.run(["docker-credential-ecr-login", "get"], input=registry, env=env,
                            capture_output=True, text=True, check=False, timeout=60)
    assert answer.returncode == 0, answer.stderr
    credentials = json.loads(answer.stdout)
    ecr = boto3.client("ecr", region_name="us-east-1", endpoint_url=f"https://{ECR_API_HOST}", verify=ecr_api,
                       aws_access_key_id=INSTANCE_ROLE["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=INSTANCE_ROLE["AWS_SECRET_ACCESS_KEY"])
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, secret = base64.b64decode(token).decode().partition(":")
    assert credentials == {"ServerURL": registry, "Username": user, "Secret": secret}
    assert user == "AWS" and secret
    assert not (tmp_path / ".docker").exists()  # nothing was logged in or stored


def test_host_deploy_pulls_from_ecr_through_the_helper_without_docker_login(docker_engine, ecr_registry, ecr_api,
                                                                            test_base, run_id, tmp_path):
    """What a provisioned host does: its Docker config maps the registry to ecr-login."""
    ref = docker_env.build_and_push(f"{ecr_registry}/credential-helper-{run_id}")
    docker_config = docker_env.with_compose_plugin(tmp_path / "docker-config")
    config = json.dumps({"credHelpers": {ecr_registry: "ecr-login"}})
    (docker_config / "config.json").write_text(config)
    home = tmp_path / "home"
    home.mkdir()
    app = make_project(tmp_path / "app", f"helper-{run_id}")
    try:
        assert not image_present(ref)
        result = app.deploy(ref, env={"HOME": str(home), "DOCKER_CONFIG": str(docker_config),
                                      "AWS_CA_BUNDLE": ecr_api, "AWS_ECR_DISABLE_CACHE": "1", **INSTANCE_ROLE})
        assert result.code == 0, result.stderr
        assert f"pulling from {ecr_registry} with the ECR credential helper" in result.stderr
        assert "logging in to" not in result.stderr
        assert_running_on(result, ref)
        assert (docker_config / "config.json").read_text() == config  # no login stored anything
        # The stand-in registry refuses anonymous pulls; the helper's own log
        # shows that docker asked it and that it got the token.
        log = (home / ".ecr" / "log" / "ecr-login.log").read_text()
        assert f"serverURL={ecr_registry}" in log and "Calling ECR.GetAuthorizationToken" in log
        assert "level=error" not in log
    finally:
        docker_env.compose_down(app.name, app.dir)
