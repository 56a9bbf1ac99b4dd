"""A stack that creates its host (`provisionHost: true`), under Pulumi mocks,
from the real dev stack file with the provisioning keys added."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from components.config.settings import SettingsError
from components.targets.host import cloud_init, commands, ssh_keys
from tests.support.pulumi_program import AMI, DEFAULT_VPC, SUBNET_VPC, UNKNOWN, run_stack
from tests.test_program import doppler_env

PROVISIONED = {
    "whatsapp-miner:provisionHost": "true",
    "whatsapp-miner:hostAwsCredentials": "instance-role",
    "whatsapp-miner:hostSshCidrs": '["203.0.113.0/24", "2001:db8::/48"]',
}


@pytest.fixture(scope="module")
def deploy_key(tmp_path_factory) -> str:
    """An OpenSSH private key: the program installs its public half on the host."""
    path = tmp_path_factory.mktemp("deploy-key") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text()


@pytest.fixture(scope="module")
def provisioned(deploy_key):
    return run_stack("dev", provisioned_env(deploy_key), PROVISIONED)


def provisioned_env(deploy_key: str) -> dict[str, str]:
    env = doppler_env(SSH_PRIVATE_KEY=deploy_key)
    del env["WHATSAPP_MINER_EC2_HOST"]  # the program creates the host
    return env


def user_data(run) -> dict:
    document = run.named("host-instance").inputs["userData"]
    assert document.startswith("#cloud-config\n")
    return yaml.safe_load(document)


def test_the_instance_is_al2023_from_ssm_with_imdsv2_hop_limit_1_and_an_encrypted_gp3_root(provisioned):
    instance = provisioned.named("host-instance")
    assert instance.inputs["ami"] == AMI
    parameters = [token for token, _ in provisioned.invokes if token == "aws:ssm/getParameter:getParameter"]
    assert parameters, "the AMI comes from the public SSM parameter"
    assert instance.inputs["instanceType"] == "t3.small"
    assert instance.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    assert instance.inputs["rootBlockDevice"] == {
        "volumeType": "gp3", "volumeSize": 20, "encrypted": True, "deleteOnTermination": True}
    assert instance.provider.startswith(provisioned.named("aws").urn)


def test_a_new_ami_or_user_data_never_replaces_the_running_host_nor_a_code_change_its_key(provisioned):
    # The mock monitor sees the options the engine gets: ignoreChanges on the registration.
    assert set(provisioned.named("host-instance").ignore_changes) == {"ami", "userData"}
    key = provisioned.named("host-key")
    assert set(key.ignore_changes) == set(key.inputs)  # no update, which would run create: a new key
    assert "triggers" not in key.inputs and "update" not in key.inputs


def test_ssh_is_open_only_to_the_configured_cidrs_and_only_https_goes_out(provisioned):
    firewall = provisioned.named("host-firewall").inputs
    assert firewall["vpcId"] == DEFAULT_VPC
    [ssh] = firewall["ingress"]
    assert (ssh["protocol"], ssh["fromPort"], ssh["toPort"]) == ("tcp", 22, 22)
    assert ssh["cidrBlocks"] == ["203.0.113.0/24"] and ssh["ipv6CidrBlocks"] == ["2001:db8::/48"]
    [out] = firewall["egress"]
    assert (out["protocol"], out["fromPort"], out["toPort"]) == ("tcp", 443, 443)
    assert provisioned.named("host-instance").inputs["vpcSecurityGroupIds"] == ["host-firewall-id"]


def test_the_instance_role_may_only_pull_this_stacks_repository(provisioned):
    assume = json.loads(provisioned.named("host-role").inputs["assumeRolePolicy"])
    assert assume["Statement"] == [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                    "Action": "sts:AssumeRole"}]
    policy = json.loads(provisioned.named("host-ecr-pull").inputs["policy"])
    actions = {action: statement["Resource"] for statement in policy["Statement"] for action in statement["Action"]}
    assert not any("*" in action for action in actions)
    repository = "arn:aws:ecr:eu-west-1:123456789012:repository/whatsapp-miner"  # the registry stack's output
    assert actions == {"ecr:GetAuthorizationToken": "*",  # it has no resource-level permissions
                       "ecr:BatchGetImage": repository, "ecr:GetDownloadUrlForLayer": repository}
    assert not provisioned.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")  # SSM is opt-in
    assert provisioned.named("host-profile").inputs["role"] == "host-role-name"
    assert provisioned.named("host-instance").inputs["iamInstanceProfile"] == "host-profile-name"


def test_the_provisioned_stack_forwards_no_aws_keys_and_pulls_with_the_credential_helper(provisioned):
    assert "app-host-credentials" not in {r.name for r in provisioned.registrations}
    host_commands = [r for r in provisioned.registrations if r.type.startswith("command:remote:")]
    assert len(host_commands) >= 5
    for command in host_commands:
        assert "aws-credentials" not in json.dumps(command.inputs.get("create", "")), command.name
        assert "AKIAEXAMPLE" not in json.dumps(command.inputs), command.name
    config = user_data(provisioned)
    [runcmd] = config["runcmd"]
    registry = runcmd[runcmd.index("--registry") + 1]
    assert provisioned.outputs["imageRef"].startswith(registry + "/whatsapp-miner@sha256:")
    assert "amazon-ecr-credential-helper" in config["packages"]


def test_every_host_connection_pins_the_generated_host_key_and_waits_for_cloud_init(provisioned):
    private, public = ssh_keys.split_generated_host_key(provisioned.named("host-key").outputs["stdout"])
    assert public.startswith("ssh-ed25519 ")
    config = user_data(provisioned)
    assert config["ssh_keys"] == {"ed25519_private": private, "ed25519_public": public}
    wait = provisioned.named("host-cloud-init")
    assert wait.inputs["create"] == commands.wait_for_cloud_init(900)
    assert wait.inputs["triggers"] == ["host-instance-id"]
    for command in provisioned.registrations:
        if command.type.startswith("command:remote:"):
            connection = command.inputs["connection"]
            assert connection["hostKey"] == public, command.name
            assert connection["host"] == "203.0.113.10", command.name
            if command.name != "host-cloud-init":
                assert wait.urn in command.dependencies, f"{command.name} does not wait for cloud-init"
    # The host is its instance, whatever its address: a stop and start only updates connections.
    assert provisioned.named("app-deploy").inputs["triggers"][0] == "host-instance-id"
    # A new instance gets its own deploy; the old one is terminated with its data and gets no
    # teardown, which through an Elastic IP would reach the new host.
    home = "/home/ec2-user/whatsapp-miner/dev"
    assert provisioned.named("app-teardown").inputs["triggers"] == [home, "whatsapp-miner-dev"]
    assert provisioned.outputs["hostKey"] == public
    assert provisioned.outputs["hostKeyFingerprint"] == ssh_keys.fingerprint(public)
    assert provisioned.outputs["host"] == provisioned.outputs["publicIp"] == "203.0.113.10"
    assert provisioned.outputs["privateIp"] == "10.0.1.5"
    assert provisioned.outputs["instanceId"] == "host-instance-id"


def test_the_host_private_key_is_secret_everywhere_it_goes(provisioned):
    key = provisioned.named("host-key")
    assert key.additional_secret_outputs == ["stdout"] and key.inputs["logging"] == "none"
    assert "userData" in provisioned.named("host-instance").secret_inputs
    private = ssh_keys.split_generated_host_key(key.outputs["stdout"])[0]
    body = private.splitlines()[1]
    for registration in provisioned.registrations:
        plain = {k: v for k, v in registration.inputs.items() if k not in registration.secret_inputs}
        assert body not in json.dumps(plain), registration.name
    assert body not in json.dumps(provisioned.outputs)


def test_the_deploy_users_key_is_the_public_half_of_the_deploy_key(provisioned, deploy_key):
    [user] = user_data(provisioned)["users"]
    assert user["name"] == "ec2-user"
    assert user["ssh_authorized_keys"] == [ssh_keys.public_key_of_private(deploy_key)]


def test_options_subnet_elastic_ip_ssm_size_and_arm64(deploy_key):
    run = run_stack("dev", provisioned_env(deploy_key), {
        **PROVISIONED,
        "whatsapp-miner:hostSubnetId": "subnet-0abc",
        "whatsapp-miner:hostElasticIp": "true",
        "whatsapp-miner:hostSsm": "true",
        "whatsapp-miner:hostVolumeGb": "40",
        "whatsapp-miner:platform": "linux/arm64",
    })
    instance = run.named("host-instance").inputs
    assert instance["subnetId"] == "subnet-0abc" and run.named("host-firewall").inputs["vpcId"] == SUBNET_VPC
    assert instance["instanceType"] == "t4g.small" and instance["rootBlockDevice"]["volumeSize"] == 40
    assert run.named("host-ip").inputs["instance"] == "host-instance-id"
    assert run.outputs["host"] == run.outputs["publicIp"] == "198.51.100.7"
    assert run.named("host-ssm").inputs["policyArn"] == "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    [runcmd] = user_data(run)["runcmd"]
    assert runcmd[runcmd.index("--compose-sha256") + 1] == cloud_init.COMPOSE_SHA256["aarch64"]
    ami = [args for token, args in run.invoke_args if token == "aws:ssm/getParameter:getParameter"]
    assert ami == [{"name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"}]


def test_preview_of_a_new_host_shows_the_host_and_key_as_computed(deploy_key):
    run = run_stack("dev", provisioned_env(deploy_key), PROVISIONED, preview=True)
    assert run.named("host-instance").inputs["userData"] == UNKNOWN
    for command in ("host-cloud-init", "app-env-file", "app-deploy", "app-teardown"):
        assert run.named(command).inputs["connection"] == UNKNOWN, command  # the host key is not made yet


def test_existing_hosts_are_untouched_by_the_provisioning_code():
    run = run_stack("dev", doppler_env())
    assert not [r for r in run.registrations if r.name.startswith("host-")]
    assert not {"instanceId", "hostKeyFingerprint"} & set(run.outputs)
    assert run.named("app-deploy").inputs["connection"]["host"] == "10.0.0.5"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"whatsapp-miner:hostSshCidrs": ""}, "whatsapp-miner:hostSshCidrs in Pulumi.dev.yaml: expected a list of "
                                              "CIDRs SSH may come from"),
        ({"whatsapp-miner:hostSshCidrs": '["0.0.0.0/0"]'},
         "whatsapp-miner:hostSshCidrs in Pulumi.dev.yaml: expected no world-open CIDR unless hostSshAllowWorld"),
        ({"whatsapp-miner:hostSshCidrs": '["10.0.0.0/8", "::/0"]'}, "got '::/0'"),
        ({"whatsapp-miner:hostSshCidrs": '["10.0.0.300/32"]'}, "whatsapp-miner:hostSshCidrs in Pulumi.dev.yaml"),
        ({"whatsapp-miner:hostSshCidrs": '"10.0.0.0/8"'}, "whatsapp-miner:hostSshCidrs in Pulumi.dev.yaml"),
        ({"whatsapp-miner:hostAwsCredentials": "forwarded"},
         "whatsapp-miner:hostAwsCredentials in Pulumi.dev.yaml: expected instance-role (or unset)"),
        ({"whatsapp-miner:host": "10.0.0.9"}, "whatsapp-miner:host in Pulumi.dev.yaml: expected unset"),
        ({"whatsapp-miner:sshHostKey": "ssh-ed25519 AAAA"},
         "whatsapp-miner:sshHostKey in Pulumi.dev.yaml: expected unset"),
        ({"whatsapp-miner:platform": "linux/s390x"}, "whatsapp-miner:platform in Pulumi.dev.yaml: expected one of"),
        ({"whatsapp-miner:sshPort": "2222"}, "whatsapp-miner:sshPort in Pulumi.dev.yaml: expected 22"),
        ({"whatsapp-miner:sshUser": "root"}, "whatsapp-miner:sshUser in Pulumi.dev.yaml: expected a user other"),
        ({"whatsapp-miner:hostInstanceType": "big"}, "whatsapp-miner:hostInstanceType in Pulumi.dev.yaml"),
        ({"whatsapp-miner:target": "local"}, "whatsapp-miner:provisionHost in Pulumi.dev.yaml: expected false"),
    ],
)
def test_bad_provisioning_config_fails_naming_key_and_stack_file_before_any_resource(deploy_key, config, message):
    declared: list = []
    with pytest.raises(SettingsError) as error:
        run_stack("dev", provisioned_env(deploy_key), {**PROVISIONED, **config}, record_into=declared)
    assert message in str(error.value)
    assert [r.type for r in declared] == ["pulumi:pulumi:Stack"]


def test_the_world_may_reach_ssh_only_when_the_stack_says_so_explicitly(deploy_key):
    run = run_stack("dev", provisioned_env(deploy_key), {
        **PROVISIONED, "whatsapp-miner:hostSshCidrs": '["0.0.0.0/0"]', "whatsapp-miner:hostSshAllowWorld": "true"})
    assert run.named("host-firewall").inputs["ingress"][0]["cidrBlocks"] == ["0.0.0.0/0"]


def test_a_deploy_key_that_is_not_in_openssh_format_is_refused_naming_the_variable(tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-m", "PEM", "-N", "", "-f", str(tmp_path / "key")], check=True)
    with pytest.raises(SettingsError, match=r"^SSH_PRIVATE_KEY: not an OpenSSH private key .*Pulumi\.dev\.yaml"):
        run_stack("dev", provisioned_env((tmp_path / "key").read_text()), PROVISIONED)


def test_waiting_for_cloud_init_is_bounded_and_names_the_step():
    # This machine's real cloud-init never ran, so `status --wait` waits forever.
    result = subprocess.run(["sh", "-c", commands.wait_for_cloud_init(1)], capture_output=True, text=True,
                            check=False, timeout=30)
    assert result.returncode == 1
    assert "provisioned host: cloud-init did not finish within 1s (step: wait for cloud-init)" in result.stderr
    assert "status: not run" in result.stderr
    lint = subprocess.run(["shellcheck", "--shell=sh", "-"], input=commands.wait_for_cloud_init(900),
                          capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout
