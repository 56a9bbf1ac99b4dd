"""A provisioned host's user-data and keys, checked offline by the real tools:
Debian's cloud-init validates the document, shellcheck its script, ssh-keygen
the key handling."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from components.targets.host import cloud_init, ssh_keys

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Path:
    """ed25519, ecdsa and passphrase-protected keys made by ssh-keygen."""
    directory = tmp_path_factory.mktemp("keys")
    for name, options in (("ed25519", ["-t", "ed25519", "-N", ""]), ("ecdsa", ["-t", "ecdsa", "-N", ""]),
                          ("protected", ["-t", "ed25519", "-N", "passphrase"]),
                          ("rsa-pem", ["-t", "rsa", "-m", "PEM", "-N", ""])):
        assert run("ssh-keygen", "-q", *options, "-f", str(directory / name)).returncode == 0
    return directory


@pytest.fixture(scope="module")
def host_key() -> tuple[str, str]:
    generated = run("sh", "-c", ssh_keys.GENERATE_HOST_KEY)
    assert generated.returncode == 0, generated.stderr
    return ssh_keys.split_generated_host_key(generated.stdout)


def user_data(keys: Path, host_key: tuple[str, str], architecture: str = "x86_64") -> str:
    return cloud_init.render(cloud_init.HostConfig(
        user="ec2-user",
        authorized_key=ssh_keys.public_key_of_private((keys / "ed25519").read_text()),
        host_key_private=host_key[0],
        host_key_public=host_key[1],
        registry=REGISTRY,
        architecture=architecture,
    ))


@pytest.mark.parametrize("architecture", ["x86_64", "aarch64"])
def test_the_rendered_user_data_is_valid_cloud_config(keys, host_key, tmp_path, architecture):
    document = tmp_path / "user-data"
    document.write_text(user_data(keys, host_key, architecture))
    result = run("cloud-init", "schema", "--config-file", str(document))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout
    # The same validator refuses a document with a mistake in it.
    broken = yaml.safe_load(document.read_text()) | {"ssh_deletekeys": "yes please"}
    document.write_text("#cloud-config\n" + yaml.safe_dump(broken))
    assert run("cloud-init", "schema", "--config-file", str(document)).returncode != 0


def test_the_shell_in_the_user_data_passes_shellcheck_and_commands_run_without_a_shell(keys, host_key):
    config = yaml.safe_load(user_data(keys, host_key))
    scripts = [entry["content"] for entry in config["write_files"] if entry["content"].startswith("#!")]
    assert scripts == [(ROOT / "host" / "host-provision").read_text()]
    for script in scripts:
        result = run("shellcheck", "--shell=bash", "-", input=script)
        assert result.returncode == 0, result.stdout
    assert all(isinstance(command, list) for command in config["runcmd"])  # exec form: nothing re-parsed


@pytest.mark.parametrize("architecture", ["x86_64", "aarch64"])
def test_the_host_installs_docker_the_helper_and_the_pinned_compose_for_its_architecture(keys, host_key,
                                                                                         architecture):
    config = yaml.safe_load(user_data(keys, host_key, architecture))
    assert config["packages"] == ["docker", "amazon-ecr-credential-helper", "jq"]
    [command] = config["runcmd"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert command[0] == cloud_init.HOST_PROVISION_PATH
    assert options == {
        "--user": "ec2-user",
        "--registry": REGISTRY,
        "--compose-url": "https://github.com/docker/compose/releases/download/v2.39.2/"
                         f"docker-compose-linux-{architecture}",
        "--compose-sha256": cloud_init.COMPOSE_SHA256[architecture],
    }


def test_the_host_gets_the_stack_host_key_and_the_deploy_user_its_key_and_nothing_else(keys, host_key):
    config = yaml.safe_load(user_data(keys, host_key))
    assert config["ssh_keys"] == {"ed25519_private": host_key[0], "ed25519_public": host_key[1]}
    assert "ssh_genkeytypes" not in config and config["ssh_deletekeys"] is True
    [user] = config["users"]
    expected = run("ssh-keygen", "-y", "-f", str(keys / "ed25519")).stdout.split()[:2]
    assert user["ssh_authorized_keys"] == [" ".join(expected)]
    assert user["lock_passwd"] is True and "sudo" not in user
    assert config["ssh_pwauth"] is False and config["disable_root"] is True


def test_a_compose_download_with_another_digest_is_refused_before_anything_is_installed(tmp_path):
    impostor = tmp_path / "docker-compose"
    impostor.write_text("#!/bin/sh\necho not compose\n")
    result = run("bash", str(ROOT / "host" / "host-provision"), "--user", "ec2-user", "--registry", REGISTRY,
                 "--compose-url", impostor.as_uri(), "--compose-sha256", cloud_init.COMPOSE_SHA256["x86_64"])
    assert result.returncode == 1
    assert result.stderr.startswith(f"host-provision: step install compose: {impostor.as_uri()} does not have sha256")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--registry", 'evil"}, "x": {"', "--registry must be an ECR registry host"),
    ("--compose-sha256", "abc", "--compose-sha256 must be 64 hex digits"),
])
def test_host_provision_refuses_bad_arguments_before_doing_anything(option, value, message):
    arguments = {"--user": "ec2-user", "--registry": REGISTRY, "--compose-url": "file:///nonexistent",
                 "--compose-sha256": cloud_init.COMPOSE_SHA256["x86_64"], option: value}
    argv = [item for pair in arguments.items() for item in pair]
    result = run("bash", str(ROOT / "host" / "host-provision"), *argv)
    assert result.returncode == 1 and message in result.stderr


@pytest.mark.parametrize("name", ["ed25519", "ecdsa", "protected"])
def test_the_public_half_of_an_openssh_private_key_is_the_one_ssh_keygen_derives(keys, name):
    expected = (keys / f"{name}.pub").read_text().split()[:2]
    assert ssh_keys.public_key_of_private((keys / name).read_text()) == " ".join(expected)


def test_a_private_key_in_another_format_is_refused_with_the_way_to_convert_it(keys):
    with pytest.raises(ValueError, match=r"not an OpenSSH private key .*ssh-keygen -p -f KEY"):
        ssh_keys.public_key_of_private((keys / "rsa-pem").read_text())
    with pytest.raises(ValueError):
        ssh_keys.public_key_of_private(ssh_keys.PRIVATE_KEY_BEGIN + "\nb3BlbnNzaA==\n" + ssh_keys.PRIVATE_KEY_END)


def test_the_generated_host_key_is_a_matching_ed25519_pair_with_the_fingerprint_ssh_keygen_shows(host_key, tmp_path):
    private, public = host_key
    assert public.startswith("ssh-ed25519 ") and len(public.split()) == 2
    (tmp_path / "key").write_text(private)
    (tmp_path / "key").chmod(0o600)
    assert run("ssh-keygen", "-y", "-f", str(tmp_path / "key")).stdout.split()[:2] == public.split()
    (tmp_path / "key.pub").write_text(public + "\n")
    shown = run("ssh-keygen", "-l", "-f", str(tmp_path / "key.pub")).stdout.split()[1]
    assert ssh_keys.fingerprint(public) == shown
