"""The container .env: values reach the container intact through compose, and its writer on the host
replaces it whole."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from components.targets.host import commands
from components.targets.host.env_file import EnvFileError, render_env_file

AWKWARD_VALUES = {
    "SPACES": "two words  and more",
    "HASH": "before # after",
    "DOLLAR": "cost $5 and $HOME and $$",
    "DOUBLE_QUOTES": 'say "hi"',
    "SINGLE_QUOTE": "it's fine",
    "EQUALS": "a=b=c",
    "EMPTY": "",
}


def test_awkward_values_reach_the_container_unchanged(tmp_path, test_base, run_id):
    (tmp_path / ".env").write_text(render_env_file(AWKWARD_VALUES))
    (tmp_path / "docker-compose.yml").write_text(
        f"services:\n  show:\n    image: {test_base}\n    env_file: .env\n    command: [env]\n"
    )
    shown = subprocess.run(
        ["docker", "compose", "-p", f"envfile-{run_id}", "run", "--rm", "-T", "show"],
        cwd=tmp_path, capture_output=True, text=True, check=True, env={**os.environ, "HOME": "/nowhere"},
    )
    container_env = dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line)
    for name, value in AWKWARD_VALUES.items():
        assert container_env[name] == value, name
    subprocess.run(["docker", "compose", "-p", f"envfile-{run_id}", "down"], cwd=tmp_path, capture_output=True,
                   check=False)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("line\nbreak", "newlines"),
        ("back\\slash", "backslashes"),
        ("it's $5", "single quote"),
        ("it's \"x\"", "single quote"),
        ("a ${HOME} b", "expands"),
    ],
)
def test_values_compose_v1_and_v2_would_read_differently_are_refused_by_name(value, reason):
    with pytest.raises(EnvFileError) as error:
        render_env_file({"API_TOKEN": value})
    assert str(error.value).startswith("API_TOKEN: ")
    assert reason in str(error.value)
    assert value not in str(error.value)


def test_invalid_variable_names_are_refused():
    with pytest.raises(EnvFileError, match="'1BAD'"):
        render_env_file({"1BAD": "x"})


def write_on_host(command: str, secret: str) -> None:
    """Run a writer's shell text as the host runs it: bash, the secret on stdin."""
    subprocess.run(["bash", "-c", command], input=secret, text=True, check=True, timeout=30)


def test_a_rewritten_env_file_replaces_the_old_one_whole_by_rename_with_mode_0600(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("ENV_NAME='dev'\nWHATSAPP_API_TOKEN='old'\n")
    env_file.chmod(0o644)
    old_inode = env_file.stat().st_ino
    with env_file.open() as held_by_a_reader:
        write_on_host(commands.write_env_file(str(tmp_path)), "ENV_NAME='dev'\nWHATSAPP_API_TOKEN='new'\n")
        # A reader that opened the old file (compose, mid-deploy) still reads it whole.
        assert held_by_a_reader.read() == "ENV_NAME='dev'\nWHATSAPP_API_TOKEN='old'\n"
    assert env_file.stat().st_ino != old_inode
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert env_file.read_text() == "ENV_NAME='dev'\nWHATSAPP_API_TOKEN='new'\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == [".env"]  # no .partial left behind


def test_a_secret_file_whose_directory_is_missing_is_written_with_its_directory(tmp_path):
    write_on_host(commands.write_credentials_file(str(tmp_path / "whatsapp-miner" / "dev")),
                  "export AWS_ACCESS_KEY_ID=AKIAEXAMPLE\n")
    written = tmp_path / "whatsapp-miner" / "dev" / commands.CREDENTIALS_FILE
    assert written.read_text() == "export AWS_ACCESS_KEY_ID=AKIAEXAMPLE\n"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
