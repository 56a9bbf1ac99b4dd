"""AWS credentials as the old scripts had them: a set Doppler alias wins over
the standard name (with a warning naming both, never a value), and a session
token travels, secret, wherever the key pair does."""

from __future__ import annotations

import functools
import json
import logging

import pytest

from components import ecr_tags, ecs_rollout
from components.ci import load_secrets
from components.config import doppler, environment
from tests.support.pulumi_program import run_stack
from tests.test_ci_secrets import DOPPLER_SECRETS, TOKEN, doppler_api, read_github_env  # noqa: F401 (fixture)
from tests.test_program import SECRET_KEY, doppler_env

PAIRS = list(environment.ALIASES.items())
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLEsession+token/="


@pytest.mark.parametrize(("name", "alias"), PAIRS)
@pytest.mark.parametrize(
    ("delivered", "expected"),
    [
        ({"alias": "from-alias"}, "from-alias"),
        ({"alias": '"from-alias"'}, "from-alias"),
        ({"standard": "from-standard"}, "from-standard"),
        ({"standard": "'from-standard'"}, "from-standard"),
        ({"alias": "same", "standard": "same"}, "same"),
        ({"alias": '"same"', "standard": "'same'"}, "same"),  # equal once unquoted
        ({"alias": "from-alias", "standard": "from-standard"}, "from-alias"),
        ({"alias": "'from-alias'", "standard": '"from-standard"'}, "from-alias"),
        ({"alias": '""', "standard": "from-standard"}, "from-standard"),  # empty once unquoted: not set
    ],
)
def test_a_set_alias_wins_over_the_standard_name(name, alias, delivered, expected):
    environ = {{"alias": alias, "standard": name}[which]: value for which, value in delivered.items()}
    assert environment.read(environ, name) == expected


@pytest.mark.parametrize(("name", "alias"), PAIRS)
@pytest.mark.parametrize(
    ("alias_value", "standard_value"),
    [("same", "same"), ('"same"', "same"), ("only-alias", None), (None, "only-standard"), ('""', "standard")],
)
def test_no_warning_unless_both_are_set_and_differ(name, alias, alias_value, standard_value):
    environ = {key: value for key, value in ((alias, alias_value), (name, standard_value)) if value is not None}
    assert environment.alias_conflicts(environ) == []


@pytest.mark.parametrize(("name", "alias"), PAIRS)
@pytest.mark.parametrize(("alias_value", "standard_value"), [("alias-value", "standard-value"),
                                                             ('"alias-value"', "'standard-value'")])
def test_differing_values_warn_naming_both_variables_and_no_value(name, alias, alias_value, standard_value):
    [warning] = environment.alias_conflicts({alias: alias_value, name: standard_value})
    assert alias in warning and name in warning and f"{alias} is used" in warning
    assert "alias-value" not in warning and "standard-value" not in warning


def test_the_program_warns_once_per_differing_pair_and_uses_the_aliases(caplog):
    standard = {"AWS_ACCESS_KEY_ID": "AKIASTANDARD", "AWS_SECRET_ACCESS_KEY": "standard-secret",
                "AWS_DEFAULT_REGION": "us-east-2"}
    with caplog.at_level(logging.WARNING):
        run = run_stack("registry", doppler_env(**standard))
    warnings = [record.getMessage() for record in caplog.records if "both set and differ" in record.getMessage()]
    assert sorted(warnings) == sorted(environment.alias_conflicts(doppler_env(**standard)))
    assert len(warnings) == 3
    assert not any(value in warning for warning in warnings for value in (*standard.values(), SECRET_KEY))
    provider = run.named("aws").inputs
    assert (provider["accessKey"], provider["secretKey"], provider["region"]) == ("AKIAEXAMPLE", SECRET_KEY,
                                                                                  "eu-west-1")


def test_a_session_token_reaches_the_provider_and_the_host_as_a_secret():
    run = run_stack("dev", doppler_env(AWS_SESSION_TOKEN=f'"{SESSION_TOKEN}"'))
    provider = run.named("aws")
    assert provider.inputs["token"] == SESSION_TOKEN and "token" in provider.secret_inputs
    host_credentials = run.named("app-host-credentials")
    assert host_credentials.inputs["stdin"] == (f"export AWS_ACCESS_KEY_ID=AKIAEXAMPLE\n"
                                                f"export AWS_SECRET_ACCESS_KEY={SECRET_KEY}\n"
                                                f"export AWS_SESSION_TOKEN={SESSION_TOKEN}\n")
    assert "stdin" in host_credentials.secret_inputs
    # Nowhere in plain text, not on a command line.
    for registration in run.registrations:
        assert SESSION_TOKEN not in json.dumps(registration.plain_inputs()), registration.name


def test_without_a_session_token_nothing_is_exported_or_passed_for_it():
    run = run_stack("dev", doppler_env(AWS_SESSION_TOKEN=""))
    assert "token" not in run.named("aws").inputs
    assert "AWS_SESSION_TOKEN" not in run.named("app-host-credentials").inputs["stdin"]
    assert environment.boto3_credentials(doppler_env())["aws_session_token"] is None


def test_the_tag_move_and_the_ecs_rollout_take_the_session_token_from_their_environment(monkeypatch):
    clients = []

    class Stop(Exception):
        pass

    def client(service: str, **arguments):
        clients.append((service, arguments))
        raise Stop

    monkeypatch.setattr("boto3.client", client)
    environ = doppler_env(AWS_SESSION_TOKEN=SESSION_TOKEN, REPOSITORY="r", DIGEST="sha256:0", TAGS="dev")
    with pytest.raises(Stop):
        ecr_tags.main(environ)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(Stop):
        ecs_rollout.main(["verify", "--cluster", "c", "--service", "miner=td", "--digest", "sha256:0",
                          "--timeout", "1"])
    assert [(service, arguments["aws_session_token"]) for service, arguments in clients] == [
        ("ecr", SESSION_TOKEN), ("ecs", SESSION_TOKEN)]


def test_the_tag_move_and_rollout_commands_still_hold_no_credential():
    # They read the session token from the environment they inherit, as the key pair.
    dev = run_stack("dev", doppler_env(AWS_SESSION_TOKEN=SESSION_TOKEN))
    ecs = run_stack("ecs-example", doppler_env(AWS_SESSION_TOKEN=SESSION_TOKEN))
    for command in (dev.named("app-tags"), ecs.named("app-migrate"), ecs.named("app-verify")):
        assert set(command.inputs["environment"]) <= {"REPOSITORY", "DIGEST", "TAGS", "AWS_DEFAULT_REGION"}
        assert SESSION_TOKEN not in json.dumps(command.inputs), command.name


def test_a_session_token_stays_behind_when_an_alias_key_replaces_its_key():
    environ = doppler_env(AWS_ACCESS_KEY_ID="ASIASTANDARD", AWS_SESSION_TOKEN=SESSION_TOKEN)
    assert environment.aws_variables(environ)["AWS_ACCESS_KEY_ID"] == "AKIAEXAMPLE"
    assert "AWS_SESSION_TOKEN" not in environment.aws_variables(environ)
    assert environment.boto3_credentials(environ)["aws_session_token"] is None
    token_warning = environment.alias_conflicts(environ)[-1]
    assert token_warning.startswith("AWS_SESSION_TOKEN is not used") and SESSION_TOKEN not in token_warning
    # The same key under both names keeps its token.
    same_key = doppler_env(AWS_ACCESS_KEY_ID="AKIAEXAMPLE", AWS_SESSION_TOKEN=SESSION_TOKEN)
    assert environment.aws_variables(same_key)["AWS_SESSION_TOKEN"] == SESSION_TOKEN


def test_ci_exports_a_session_token_from_doppler_masked(doppler_api, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setitem(DOPPLER_SECRETS, "AWS_SESSION_TOKEN", f"'{SESSION_TOKEN}'")
    github_env = tmp_path / "github_env"
    load_secrets.main({"GITHUB_ENV": str(github_env), "DOPPLER_TOKEN": TOKEN},
                     fetch=functools.partial(doppler.download, url=doppler_api))
    assert read_github_env(github_env)["AWS_SESSION_TOKEN"] == SESSION_TOKEN
    assert f"::add-mask::{SESSION_TOKEN}" in capsys.readouterr().out.splitlines()


def test_ci_exports_no_session_token_when_none_is_given(tmp_path):
    github_env = tmp_path / "github_env"
    load_secrets.main({"GITHUB_ENV": str(github_env), "DOPPLER_TOKEN": "", "AWS_SESSION_TOKEN": "",
                      **doppler_env()}, fetch=doppler.download)
    assert "AWS_SESSION_TOKEN" not in read_github_env(github_env)


def test_ci_warns_naming_a_differing_pair_without_its_values(tmp_path, capsys):
    environ = {"GITHUB_ENV": str(tmp_path / "github_env"), **doppler_env(AWS_DEFAULT_REGION="us-east-2")}
    load_secrets.main(environ, fetch=doppler.download)
    printed = capsys.readouterr().out.splitlines()
    assert "::warning::AWS_EC2_REGION and AWS_DEFAULT_REGION are both set and differ; AWS_EC2_REGION is used, " \
           "as the old scripts did" in printed
    assert read_github_env(tmp_path / "github_env")["AWS_DEFAULT_REGION"] == "eu-west-1"
