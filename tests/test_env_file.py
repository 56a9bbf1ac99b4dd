"""The container .env: values reach the container intact through compose."""

from __future__ import annotations

import os
import subprocess

import pytest

from components.env_file import EnvFileError, render_env_file

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
