"""The resource graph of each real stack, under Pulumi mocks."""

from __future__ import annotations

import json
import re

import pytest

from components.config import environment
from components.config.settings import SettingsError
from components.digests import verified_digest
from tests.support.pulumi_program import ACCOUNT, DEV_DIGEST, UNKNOWN, ProgramRun, default_stack_outputs, run_stack

SECRET_KEY = "wJalr/XUtnFEMI+K7MDENG"
API_TOKEN = 'tok en # with $HOME and "quotes"'
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


def doppler_env(**overrides: str) -> dict[str, str]:
    """Secrets as Doppler and the CI secrets deliver them: aliases, quoted."""
    return {
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": '"AKIAEXAMPLE"',
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": f"'{SECRET_KEY}'",
        "AWS_EC2_REGION": '"eu-west-1"',
        "SSH_PRIVATE_KEY": SSH_KEY,
        "WHATSAPP_MINER_EC2_HOST": "10.0.0.5",
        "WHATSAPP_API_TOKEN": f'"{API_TOKEN}"',
        **overrides,
    }


@pytest.fixture(scope="module", params=["dev", "prd"])
def remote_stack(request) -> tuple[str, ProgramRun]:
    return request.param, run_stack(request.param, doppler_env())


@pytest.fixture(scope="module")
def local_stack() -> ProgramRun:
    return run_stack("local", {})


@pytest.fixture(scope="module")
def dev_stack() -> ProgramRun:
    return run_stack("dev", doppler_env())


@pytest.fixture(scope="module")
def prd_stack() -> ProgramRun:
    return run_stack("prd", doppler_env())


@pytest.fixture(scope="module")
def registry_stack() -> ProgramRun:
    return run_stack("registry", doppler_env())


SHARED_REPOSITORY = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/whatsapp-miner"


def test_each_stack_tags_names_project_and_dir_after_its_environment(remote_stack):
    env, run = remote_stack
    assert run.named("app-tags").inputs["environment"]["TAGS"].endswith(f" {env}")
    deploy = run.named("app-deploy").inputs["create"]
    assert f"--project whatsapp-miner-{env}" in deploy
    assert f"--dir /home/ec2-user/whatsapp-miner/{env} " in deploy
    assert run.named("app-env-file").inputs["stdin"].startswith(f"ENV_NAME='{env}'\n")


def test_doppler_aliases_are_mapped_unquoted_and_given_to_an_explicit_provider(registry_stack):
    provider = registry_stack.named("aws")
    assert provider.type == "pulumi:providers:aws"
    assert provider.inputs["accessKey"] == "AKIAEXAMPLE"
    assert provider.inputs["secretKey"] == SECRET_KEY
    assert provider.inputs["region"] == "eu-west-1"
    for name in ("shared-key", "shared-repository", "shared-lifecycle"):
        assert registry_stack.named(name).provider.startswith(provider.urn), name


def test_the_tag_move_holds_no_credential_and_the_host_gets_the_mapped_ones(remote_stack):
    _, run = remote_stack
    tags = run.named("app-tags")
    assert tags.inputs["create"] == ".venv/bin/python -m components.ecr_tags"
    # Its credentials are the ones Pulumi runs with: in no input, so a rotated
    # key or a preview under other keys changes nothing here.
    assert set(tags.inputs["environment"]) == {"REPOSITORY", "DIGEST", "TAGS", "AWS_DEFAULT_REGION"}
    assert tags.inputs["environment"]["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "AKIAEXAMPLE" not in json.dumps(tags.inputs) and not tags.secret_inputs
    assert run.named("app-host-credentials").inputs["stdin"] == (
        f"export AWS_ACCESS_KEY_ID=AKIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n"
    )


def test_the_commands_read_the_credentials_pulumi_runs_with_under_either_name():
    assert environment.boto3_credentials(doppler_env(AWS_SESSION_TOKEN="token")) == {
        "aws_access_key_id": "AKIAEXAMPLE", "aws_secret_access_key": SECRET_KEY,
        "aws_session_token": "token", "region_name": "eu-west-1"}
    standard = {"AWS_ACCESS_KEY_ID": "AKIASTANDARD", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-2"}
    assert environment.boto3_credentials(standard)["aws_access_key_id"] == "AKIASTANDARD"
    assert environment.boto3_credentials({})["aws_access_key_id"] is None  # boto3's own chain then


@pytest.mark.parametrize(
    ("delivered", "read"),
    [
        ('"AKIA"', "AKIA"),
        ("'AKIA'", "AKIA"),
        ("\"'AKIA'\"", "'AKIA'"),  # one pair only
        ("\"AKIA'", "\"AKIA'"),  # quotes that differ are part of the value
        ("'AKIA\"", "'AKIA\""),
        ('"AKIA', '"AKIA'),  # a lone quote too
        ("AKIA'", "AKIA'"),
        ('"', '"'),
    ],
)
def test_a_value_is_unquoted_only_when_one_pair_of_the_same_quotes_surrounds_it(delivered, read):
    assert environment.read({"AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": delivered}, "AWS_ACCESS_KEY_ID") == read


def test_standard_names_work_without_the_aliases():
    run = run_stack("dev", {
        "AWS_ACCESS_KEY_ID": "AKIASTANDARD", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_DEFAULT_REGION": "us-east-2",
        "SSH_PRIVATE_KEY": SSH_KEY, "WHATSAPP_MINER_EC2_HOST": "10.0.0.5", "WHATSAPP_API_TOKEN": "t",
    })
    assert run.named("aws").inputs["accessKey"] == "AKIASTANDARD"
    assert run.named("aws").inputs["region"] == "us-east-2"
    assert run.named("app-tags").inputs["environment"]["AWS_DEFAULT_REGION"] == "us-east-2"


def test_missing_credentials_fail_with_both_accepted_names_before_any_resource():
    env = {key: value for key, value in doppler_env().items() if not key.startswith("AWS_")}
    declared: list = []
    with pytest.raises(SettingsError) as error:
        run_stack("prd", env, record_into=declared)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]
    for name, alias in (
        ("AWS_ACCESS_KEY_ID", "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID"),
        ("AWS_SECRET_ACCESS_KEY", "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY"),
        ("AWS_DEFAULT_REGION", "AWS_EC2_REGION"),
    ):
        assert f"{name} (or {alias})" in str(error.value)


def test_the_shared_repository_passes_the_four_defsec_ecr_checks(registry_stack):
    repository = registry_stack.named("shared-repository").inputs
    key = registry_stack.named("shared-key")
    assert repository["imageScanningConfiguration"] == {"scanOnPush": True}  # AVD-AWS-0030
    assert repository["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"  # AVD-AWS-0031
    assert repository["imageTagMutabilityExclusionFilters"] == [
        {"filter": "dev", "filterType": "WILDCARD"}, {"filter": "prd", "filterType": "WILDCARD"}]
    assert not registry_stack.of_type("aws:ecr/repositoryPolicy:RepositoryPolicy")  # AVD-AWS-0032
    assert repository["encryptionConfigurations"] == [  # AVD-AWS-0033
        {"encryptionType": "KMS", "kmsKey": registry_stack.outputs["kmsKeyArn"]}]
    assert key.inputs["enableKeyRotation"] is True
    assert repository["forceDelete"] is False
    assert registry_stack.outputs["environmentTags"] == ["dev", "prd"]
    assert registry_stack.outputs["repositoryName"] == "whatsapp-miner"


def test_a_given_kms_key_is_used_and_none_is_created():
    arn = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    run = run_stack("registry", doppler_env(), {"whatsapp-miner:kmsKeyArn": arn})
    assert not run.of_type("aws:kms/key:Key")
    assert run.named("shared-repository").inputs["encryptionConfigurations"][0]["kmsKey"] == arn


def test_the_lifecycle_never_expires_an_environment_image_only_untagged_and_old_builds(registry_stack):
    rules = sorted(json.loads(registry_stack.named("shared-lifecycle").inputs["policy"])["rules"],
                   key=lambda rule: rule["rulePriority"])
    # ECR: an image a higher-priority rule selects is never expired by a lower one.
    for rule, tag in zip(rules[:2], ("dev", "prd"), strict=True):
        assert rule["selection"]["tagPatternList"] == [tag]
        assert rule["selection"]["countNumber"] >= 1  # one image per tag: never more than the count
    assert rules[2]["selection"]["tagStatus"] == "untagged"
    assert rules[3]["selection"] == {"tagStatus": "tagged", "tagPatternList": ["sha256-*"],
                                     "countType": "imageCountMoreThan", "countNumber": 30}
    assert all(rule["selection"]["tagStatus"] != "any" for rule in rules)


def test_dev_builds_pushes_its_tag_and_tags_the_build_by_digest(dev_stack):
    run = dev_stack
    assert run.named("app-image").inputs["imageName"] == f"{SHARED_REPOSITORY}:dev"
    digest = run.outputs["deployedDigest"]
    environment = run.named("app-tags").inputs["environment"]
    assert (environment["REPOSITORY"], environment["DIGEST"]) == ("whatsapp-miner", digest)
    assert environment["TAGS"] == f"{digest.replace(':', '-')} dev"
    assert run.named("app-tags").inputs["triggers"] == ["whatsapp-miner", digest, environment["TAGS"]]
    base_name_tag = run.named("app-base-name-tag").inputs["create"]
    assert base_name_tag == f"docker tag {SHARED_REPOSITORY}@{digest} whatsapp-miner:dev"
    assert run.depends_on("app-deploy", "app-tags")


def test_prd_promotes_the_digest_dev_verified_and_builds_nothing(prd_stack):
    run = prd_stack
    assert not run.of_type("docker:index/image:Image")
    assert not run.of_type("pulumi:providers:aws") and not run.invokes  # no ECR token: no push
    references = [r.inputs["name"] for r in run.of_type("pulumi:pulumi:StackReference")]
    assert sorted(references) == ["organization/whatsapp-miner/dev", "organization/whatsapp-miner/registry"]
    environment = run.named("app-tags").inputs["environment"]
    assert (environment["DIGEST"], environment["TAGS"]) == (DEV_DIGEST, f"{DEV_DIGEST.replace(':', '-')} prd")
    assert run.outputs["imageRef"] == f"{SHARED_REPOSITORY}@{DEV_DIGEST}"
    assert f"--image {SHARED_REPOSITORY}@{DEV_DIGEST} " in run.named("app-deploy").inputs["create"]
    assert run.depends_on("app-deploy", "app-tags")
    assert run.outputs["deployedDigest"] == DEV_DIGEST


def test_prd_fails_naming_the_stack_and_output_when_dev_verified_nothing_yet():
    outputs = {**default_stack_outputs(), "organization/whatsapp-miner/dev": {}}
    with pytest.raises(ValueError, match="stack organization/whatsapp-miner/dev has no output deployedDigest"):
        run_stack("prd", doppler_env(), stack_outputs=outputs)


def test_an_environment_tag_the_registry_keeps_immutable_is_refused_naming_the_key():
    message = ("whatsapp-miner:imageTag 'staging' in Pulumi.dev.yaml is not one of the environment tags "
               "['dev', 'prd'] of stack organization/whatsapp-miner/registry")
    for stack in ("dev", "prd"):
        declared: list = []
        with pytest.raises(ValueError, match=re.escape(message.replace("dev.yaml", f"{stack}.yaml"))):
            run_stack(stack, doppler_env(), {"whatsapp-miner:imageTag": "staging"}, record_into=declared)
        assert not {"app-image", "app-tags", "app-deploy"} & {r.name for r in declared}  # nothing pushed or tagged


def test_image_is_pushed_with_ecr_auth_and_deployed_by_digest_never_by_tag(dev_stack):
    run = dev_stack
    image = run.named("app-image").inputs
    assert image["skipPush"] is False
    assert image["registry"]["username"] == "AWS"
    assert "registry.password" in run.named("app-image").secret_inputs
    assert image["build"]["args"] == {"BASE_IMAGE": "python:3.12-slim"}
    ref = run.outputs["imageRef"]
    assert ref.startswith(f"{SHARED_REPOSITORY}@sha256:")
    assert f"--image {ref} " in run.named("app-deploy").inputs["create"]
    assert run.outputs["deployedDigest"] == ref.split("@")[1]
    assert json.loads(run.outputs["status"])["verified"] is True


def test_files_and_env_are_in_place_before_the_deploy_runs(remote_stack):
    _, run = remote_stack
    for prerequisite in ("app-compose-file", "app-host-tool", "app-env-file", "app-tags"):
        assert run.depends_on("app-deploy", prerequisite), prerequisite
    assert run.named("app-compose-file").inputs["remotePath"].endswith("/docker-compose.yml")
    assert run.named("app-host-tool").inputs["remotePath"].endswith("/host-deploy")


def test_env_file_is_written_from_stdin_with_mode_0600_and_logs_nothing(remote_stack):
    env, run = remote_stack
    writer = run.named("app-env-file")
    assert writer.inputs["create"].startswith("umask 077 && ")
    assert "stdin" in writer.secret_inputs
    assert writer.inputs["logging"] == "none"
    assert "triggers[1]" in writer.secret_inputs and "delete" not in writer.inputs
    assert writer.inputs["stdin"] == f"ENV_NAME='{env}'\nWHATSAPP_API_TOKEN='{API_TOKEN}'\n"


def test_no_secret_value_appears_outside_secret_inputs_or_in_outputs(remote_stack):
    _, run = remote_stack
    secrets = ("AKIAEXAMPLE", SECRET_KEY, API_TOKEN, "b3BlbnNzaC1rZXktdjE=", "ecr-token")
    for registration in run.registrations:
        text = json.dumps(registration.plain_inputs())
        for secret in secrets:
            assert secret not in text, f"{registration.name} shows a secret in plaintext"
    exported = json.dumps(run.outputs)
    assert not any(secret in exported for secret in secrets)


def test_remote_commands_avoid_setenv_and_previous_output(remote_stack):
    _, run = remote_stack
    commands = run.of_type("command:remote:Command")
    assert {c.name for c in commands} == {"app-env-file", "app-host-credentials", "app-deploy", "app-teardown"}
    for command in commands:
        assert "environment" not in command.inputs, command.name
        assert command.inputs["addPreviousOutputInEnv"] is False, command.name


def test_only_the_teardown_takes_the_project_down_and_only_when_the_project_moves(remote_stack):
    env, run = remote_stack
    deletes = {r.name for r in run.registrations if r.inputs.get("delete")}
    assert deletes == {"app-teardown", "app-host-credentials"}
    assert "triggers" not in run.named("app-host-credentials").inputs  # never replaced: rewritten in place
    assert "down" not in run.named("app-host-credentials").inputs["delete"]  # it only removes its file
    teardown = run.named("app-teardown").inputs
    home = f"/home/ec2-user/whatsapp-miner/{env}"
    assert teardown["triggers"] == ["10.0.0.5:22", home, f"whatsapp-miner-{env}"]
    # Its create marks the project as the stack's: an older version's teardown leaves it running, and a
    # deploy of the same name from another stack's directory is refused on the host.
    assert teardown["create"] == (f"mkdir -p {home}/.deploy && printf '%s\\n' organization/whatsapp-miner/{env} "
                                  f"> {home}/.deploy/teardown.whatsapp-miner-{env}")
    assert teardown["delete"] == (
        f"if [ -f {home}/host-deploy ]; then bash {home}/host-deploy down --dir {home} "
        f"--project whatsapp-miner-{env} --purge --from-stack; fi && rm -f {home}/.deploy/aws-credentials"
    )
    kept = run_stack(env, doppler_env(), {"whatsapp-miner:removeDataOnDestroy": "true"})
    assert "--purge --volumes --from-stack;" in kept.named("app-teardown").inputs["delete"]


def test_the_deploy_carries_no_secret_shows_its_progress_and_is_replaced_by_what_it_runs(remote_stack):
    env, run = remote_stack
    deploy = run.named("app-deploy")
    home = f"/home/ec2-user/whatsapp-miner/{env}"
    assert "stdin" not in deploy.inputs
    assert deploy.inputs["logging"] == "stdoutAndStderr"
    assert deploy.inputs["create"].startswith(f". {home}/.deploy/aws-credentials && bash {home}/host-deploy deploy ")
    host, create, compose_digest, env_content = deploy.inputs["triggers"]
    assert host == "10.0.0.5:22"
    assert create == deploy.inputs["create"]
    assert compose_digest.startswith("sha256:")
    assert "triggers[3]" in deploy.secret_inputs and env_content.startswith("ENV_NAME=")
    # An update is only ever a new connection (a rotated SSH key): it checks, it changes nothing.
    assert deploy.inputs["update"] == (
        f". {home}/.deploy/aws-credentials && "
        f"bash {home}/host-deploy status --dir {home} --project whatsapp-miner-{env}"
    )


def test_forwarded_credentials_are_written_to_a_file_only_the_deploy_user_reads(remote_stack):
    _, run = remote_stack
    writer = run.named("app-host-credentials")
    assert writer.inputs["create"].startswith("umask 077 && ")
    assert writer.inputs["create"].endswith("/.deploy/aws-credentials")
    assert "stdin" in writer.secret_inputs and writer.inputs["logging"] == "none"
    assert run.depends_on("app-deploy", "app-host-credentials")


def test_a_second_run_declares_the_same_host_commands_so_a_no_op_up_runs_nothing():
    first, second = run_stack("prd", doppler_env()), run_stack("prd", doppler_env())
    for registration in first.registrations:
        if registration.type.startswith("command:"):
            assert registration.inputs == second.named(registration.name).inputs, registration.name


def test_connection_retries_are_bounded_and_the_host_key_is_pinned_when_configured():
    run = run_stack("prd", doppler_env(), {"whatsapp-miner:sshHostKey": HOST_KEY})
    connection = run.named("app-deploy").inputs["connection"]
    assert connection["hostKey"] == HOST_KEY
    assert (connection["dialErrorLimit"], connection["perDialTimeout"]) == (30, 10)  # documented defaults
    tuned = run_stack("prd", doppler_env(), {"whatsapp-miner:sshDialErrorLimit": "7",
                                             "whatsapp-miner:sshPerDialTimeout": "4"})
    tuned_connection = tuned.named("app-deploy").inputs["connection"]
    assert (tuned_connection["dialErrorLimit"], tuned_connection["perDialTimeout"]) == (7, 4)
    assert connection["privateKey"] == SSH_KEY
    assert connection["host"] == "10.0.0.5"


def test_instance_role_sends_no_credentials_to_the_host():
    run = run_stack("prd", doppler_env(), {"whatsapp-miner:hostAwsCredentials": "instance-role"})
    deploy = run.named("app-deploy").inputs
    assert deploy["create"].startswith("bash ") and deploy["update"].startswith("bash ")
    assert "app-host-credentials" not in {r.name for r in run.registrations}
    assert "aws-credentials" not in json.dumps([r.inputs for r in run.registrations if r.name != "app-teardown"])


def test_local_stack_builds_without_pushing_and_deploys_on_this_machine(local_stack):
    run = local_stack
    assert not run.of_type("pulumi:providers:aws") and not run.of_type("aws:ecr/repository:Repository")
    image = run.named("app-image").inputs
    assert image["skipPush"] is True and "registry" not in image
    assert not run.of_type("command:remote:Command") and not run.of_type("command:remote:CopyToRemote")
    assert {c.name for c in run.of_type("command:local:Command")} == {
        "app-files", "app-env-file", "app-deploy", "app-teardown"}
    assert run.depends_on("app-deploy", "app-files")
    assert run.named("app-env-file").inputs["logging"] == "none"  # its stdin is the .env
    assert run.named("app-deploy").inputs["logging"] == "stdoutAndStderr"
    assert run.outputs["host"] == "localhost"
    assert run.outputs["deployedDigest"] == run.outputs["imageRef"]
    assert "--project whatsapp-miner-local" in run.named("app-deploy").inputs["create"]


def test_a_pinned_digest_is_deployed_without_building():
    digest = "sha256:" + "ab" * 32
    run = run_stack("prd", doppler_env(), {"whatsapp-miner:imageDigest": digest})
    assert not run.of_type("docker:index/image:Image")
    assert [r.inputs["name"] for r in run.of_type("pulumi:pulumi:StackReference")] == [
        "organization/whatsapp-miner/registry"]  # the pin overrides the promotion
    assert run.named("app-tags").inputs["environment"]["DIGEST"] == digest  # prd names what it runs
    assert run.outputs["imageRef"] == f"{SHARED_REPOSITORY}@{digest}"
    assert f"@{digest} " in run.named("app-deploy").inputs["create"]


def test_deploy_false_builds_and_pushes_and_keeps_only_the_teardown_declared():
    run = run_stack("dev", doppler_env(), {"whatsapp-miner:deploy": "false"})
    assert run.of_type("docker:index/image:Image")
    commands = sorted(r.name for r in run.registrations if r.type.startswith("command:"))
    assert commands == ["app-base-name-tag", "app-tags", "app-teardown"]  # on the host: only the teardown
    assert "deployedDigest" not in run.outputs and run.outputs["hostDir"]


@pytest.mark.parametrize(
    ("config", "env", "message"),
    [
        ({"whatsapp-miner:target": "k8s"}, {},
         "whatsapp-miner:target in Pulumi.dev.yaml: expected one of ec2, local, ecs, got 'k8s'"),
        ({"whatsapp-miner:healthTimeout": "ten"}, {},
         "whatsapp-miner:healthTimeout in Pulumi.dev.yaml: expected a positive whole number, got 'ten'"),
        ({"whatsapp-miner:promoteFrom": "dev"}, {},
         "whatsapp-miner:promoteFrom in Pulumi.dev.yaml: expected another stack than this one, got 'dev'"),
        ({"whatsapp-miner:push": "false"}, {}, "whatsapp-miner:push in Pulumi.dev.yaml: expected true"),
        ({"whatsapp-miner:imageDigest": "latest"}, {}, "whatsapp-miner:imageDigest in Pulumi.dev.yaml"),
        ({"whatsapp-miner:containerEnv": "WHATSAPP_API_TOKEN"}, {}, "whatsapp-miner:containerEnv in Pulumi.dev.yaml"),
        ({"whatsapp-miner:environment": ""}, {}, "whatsapp-miner:environment in Pulumi.dev.yaml"),
        ({}, {"WHATSAPP_API_TOKEN": ""}, "WHATSAPP_API_TOKEN not set in the environment"),
        ({}, {"WHATSAPP_MINER_EC2_HOST": ""}, "whatsapp-miner:host in Pulumi.dev.yaml (or WHATSAPP_MINER_EC2_HOST"),
        ({}, {"SSH_PRIVATE_KEY": ""}, "SSH_PRIVATE_KEY is not set"),
        ({}, {"WHATSAPP_API_TOKEN": "a'b$c"}, "WHATSAPP_API_TOKEN: a value holding a single quote"),
        ({"whatsapp-miner:containerEnv": '["COMPOSE_PROFILES", "IMAGE", "DOCKER_HOST"]'}, {},
         "whatsapp-miner:containerEnv in Pulumi.dev.yaml: expected names other than IMAGE, COMPOSE_* and DOCKER_*"),
    ],
)
def test_bad_config_fails_naming_key_and_stack_file_before_any_resource(config, env, message):
    declared: list = []
    with pytest.raises(SettingsError) as error:
        run_stack("dev", doppler_env(**env), config, record_into=declared)
    assert message in str(error.value)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]
    assert "a'b$c" not in str(error.value)  # errors never show a value that may be secret


@pytest.mark.parametrize("name", ["COMPOSE_PROFILES", "DOCKER_HOST"])
def test_container_env_refuses_a_variable_compose_or_docker_reads_even_when_it_is_set(name):
    with pytest.raises(SettingsError) as error:
        run_stack("dev", doppler_env(**{name: "set"}), {"whatsapp-miner:containerEnv": json.dumps([name])})
    assert str(error.value).startswith(
        "whatsapp-miner:containerEnv in Pulumi.dev.yaml: expected names other than IMAGE, COMPOSE_* and DOCKER_*")
    assert str(error.value).endswith(f"got '{name}'")


@pytest.mark.parametrize(("organization", "itself"), [
    ("organization", "prd"), ("organization", "organization/whatsapp-miner/prd"),
    ("acme", "acme/whatsapp-miner/prd"),  # Pulumi Cloud: the organization's own name
])
def test_a_stack_cannot_promote_from_itself_under_either_spelling_of_its_name(organization, itself):
    with pytest.raises(SettingsError, match=re.escape(
            f"whatsapp-miner:promoteFrom in Pulumi.prd.yaml: expected another stack than this one, got '{itself}'")):
        run_stack("prd", doppler_env(), {"whatsapp-miner:promoteFrom": itself}, organization=organization)


def test_the_update_fails_when_the_host_verified_another_digest_than_was_pushed():
    pushed = "registry/whatsapp-miner-prd@sha256:" + "a" * 64
    report = json.dumps({"digest": "sha256:" + "b" * 64, "verified": True})
    with pytest.raises(ValueError, match=r"host-deploy verified 'sha256:b+', but the program pushed 'sha256:a+'"):
        verified_digest(f"progress\n{report}\n", pushed)
    unverified = json.dumps({"digest": "sha256:" + "a" * 64, "verified": False})
    with pytest.raises(ValueError):
        verified_digest(unverified, pushed)


def test_preview_shows_the_deploy_as_computed_until_the_image_is_built():
    run = run_stack("dev", doppler_env(), preview=True)
    assert run.named("app-deploy").inputs["create"] == UNKNOWN
    assert run.named("app-env-file").inputs["create"].startswith("umask 077")
    assert run.named("app-compose-file").inputs["remotePath"].endswith("/docker-compose.yml")
    assert "deployedDigest" not in run.outputs


@pytest.mark.parametrize(
    ("host_key", "message"),
    [
        ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "(an ssh-rsa key would be checked with SHA-1"),
        ("ssh-ed25519", "expected an ssh-ed25519 or ecdsa-sha2-nistp* public host key"),
        ("ssh-ed25519 not-base64!", "whose key data is a ssh-ed25519 key"),
        (HOST_KEY.replace("ssh-ed25519", "ecdsa-sha2-nistp256"), "whose key data is a ecdsa-sha2-nistp256 key"),
    ],
)
def test_a_host_key_the_connection_cannot_verify_is_refused_at_config_time(host_key, message):
    declared: list = []
    with pytest.raises(SettingsError, match=re.escape(message)) as error:
        run_stack("prd", doppler_env(), {"whatsapp-miner:sshHostKey": host_key}, record_into=declared)
    assert "whatsapp-miner:sshHostKey in Pulumi.prd.yaml" in str(error.value)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]


@pytest.mark.parametrize("key", ["sshPort", "sshDialErrorLimit", "healthTimeout", "keepHostImages"])
def test_zero_is_refused_for_positive_whole_numbers(key):
    with pytest.raises(SettingsError, match=f"whatsapp-miner:{key} in Pulumi.prd.yaml: expected a positive whole"):
        run_stack("prd", doppler_env(), {f"whatsapp-miner:{key}": "0"})


def test_registry_settings_are_checked_naming_key_and_stack_file():
    with pytest.raises(SettingsError, match=r"whatsapp-miner:ecrKeepBuilds in Pulumi\.registry\.yaml: expected a pos"):
        run_stack("registry", doppler_env(), {"whatsapp-miner:ecrKeepBuilds": "0"})
    with pytest.raises(SettingsError, match=r"whatsapp-miner:environmentTags in Pulumi.registry.yaml: expected a list"):
        run_stack("registry", doppler_env(), {"whatsapp-miner:environmentTags": '["dev", "no spaces"]'})


def test_the_ecr_token_is_looked_up_with_the_explicit_provider():
    run = run_stack("dev", doppler_env())
    provider = run.named("aws")
    lookup = "aws:ecr/getAuthorizationToken:getAuthorizationToken"
    token_lookups = [ref for token, ref in run.invokes if token == lookup]
    assert token_lookups and all(ref.startswith(provider.urn + "::") for ref in token_lookups)
