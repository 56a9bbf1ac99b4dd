"""scripts/with-aws-env, run as `doppler run` would start it: the command it
runs (`env`, `sh`) sees the standard AWS names, by the program's rules."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRAPPER = str(ROOT / "scripts" / "with-aws-env")
USAGE = "usage: scripts/with-aws-env [--] COMMAND [ARGUMENT...]"
# As Doppler hands them over: aliases, two of them quoted.
DOPPLER = {
    "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": '"AKIADOPPLER"',
    "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": "'doppler/secret+key'",
    "AWS_EC2_REGION": "eu-west-1",
}


def run(*command: str, cwd: Path = ROOT, **variables: str) -> subprocess.CompletedProcess[str]:
    """The wrapper in an environment of PATH and VARIABLES only."""
    return subprocess.run([WRAPPER, *command], env={"PATH": os.environ["PATH"], **variables}, cwd=cwd,
                          capture_output=True, text=True, check=False, timeout=30)


def environment_seen(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """What `env -0` printed, as a mapping (values may hold newlines)."""
    assert result.returncode == 0, result.stderr
    return dict(entry.split("=", 1) for entry in result.stdout.split("\0") if entry)


def test_doppler_aliases_arrive_under_the_standard_names_unquoted():
    seen = environment_seen(run("--", "env", "-0", **DOPPLER))
    assert seen["AWS_ACCESS_KEY_ID"] == "AKIADOPPLER"
    assert seen["AWS_SECRET_ACCESS_KEY"] == "doppler/secret+key"
    assert seen["AWS_DEFAULT_REGION"] == "eu-west-1"


def test_standard_names_alone_arrive_unquoted_and_an_unset_one_stays_unset():
    seen = environment_seen(run("env", "-0", AWS_ACCESS_KEY_ID="'AKIASHELL'", AWS_SECRET_ACCESS_KEY='"shell-key"'))
    assert (seen["AWS_ACCESS_KEY_ID"], seen["AWS_SECRET_ACCESS_KEY"]) == ("AKIASHELL", "shell-key")
    assert "AWS_DEFAULT_REGION" not in seen


def test_a_set_alias_wins_and_the_warning_names_both_variables_and_no_value():
    result = run("env", "-0", **DOPPLER, AWS_ACCESS_KEY_ID="AKIASHELL", AWS_DEFAULT_REGION="eu-west-1")
    seen = environment_seen(result)
    assert seen["AWS_ACCESS_KEY_ID"] == "AKIADOPPLER"
    assert result.stderr == (
        "with-aws-env: warning: AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID and AWS_ACCESS_KEY_ID are both set and differ;"
        " AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID is used, as the old scripts did\n"
    )


def test_nothing_the_wrapper_prints_holds_a_value():
    result = run("true", **DOPPLER, AWS_ACCESS_KEY_ID="AKIASHELL", AWS_SECRET_ACCESS_KEY="shell-key",
                 AWS_DEFAULT_REGION="us-east-1", AWS_SESSION_TOKEN="shell-session")
    assert result.stderr.count("warning:") == 4  # three pairs and the token left behind
    for value in (*DOPPLER.values(), "AKIADOPPLER", "doppler/secret+key", "AKIASHELL", "shell-key", "us-east-1",
                  "shell-session"):
        assert value not in result.stdout + result.stderr


def test_the_session_token_goes_with_its_own_key_pair():
    seen = environment_seen(run("env", "-0", AWS_ACCESS_KEY_ID="ASIASHELL", AWS_SECRET_ACCESS_KEY="shell-key",
                                AWS_SESSION_TOKEN='"shell-session"'))
    assert seen["AWS_SESSION_TOKEN"] == "shell-session"


def test_the_session_token_stays_behind_when_an_alias_key_replaces_its_key():
    result = run("env", "-0", **DOPPLER, AWS_ACCESS_KEY_ID="ASIASHELL", AWS_SESSION_TOKEN="shell-session")
    assert "AWS_SESSION_TOKEN" not in environment_seen(result)
    assert "AWS_SESSION_TOKEN is not used" in result.stderr


def test_the_ssh_key_arrives_unquoted_and_whole_for_host_status():
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----"
    assert environment_seen(run("env", "-0", SSH_PRIVATE_KEY=f'"{key}"'))["SSH_PRIVATE_KEY"] == key


def test_every_other_variable_reaches_the_command_as_it_was():
    seen = environment_seen(run("env", "-0", **DOPPLER, DOPPLER_CONFIG="prd", PULUMI_CONFIG_PASSPHRASE='"kept"'))
    assert seen["DOPPLER_CONFIG"] == "prd"
    assert seen["PULUMI_CONFIG_PASSPHRASE"] == '"kept"'
    assert seen["AWS_EC2_REGION"] == "eu-west-1"
    assert "PYTHONPATH" not in seen


def test_the_command_runs_in_the_callers_directory(tmp_path):
    assert run("pwd", cwd=tmp_path).stdout.strip() == str(tmp_path.resolve())


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_the_commands_exit_code_is_the_wrappers(code):
    assert run("--", "sh", "-c", f"exit {code}").returncode == code


def test_no_command_is_a_usage_error():
    for arguments in ([], ["--"]):
        result = run(*arguments)
        assert result.returncode == 2
        assert result.stderr == f"with-aws-env: no command given\n{USAGE}\n"


def test_a_command_that_is_not_there_exits_127_naming_it():
    result = run("no-such-command-here")
    assert (result.returncode, result.stderr) == (127, "with-aws-env: no-such-command-here: command not found\n")
