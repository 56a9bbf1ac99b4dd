"""How a Pulumi job in CI loads its secrets: from Doppler (a local HTTP
server stands in for its API) or from the GitHub secrets, into $GITHUB_ENV,
masked, multi-line values whole, and never printed."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from components.ci import load_secrets
from components.config import doppler, environment

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "dp.st.dev.0123456789abcdef"  # made up
SSH_KEY = "\n".join(
    [
        "-----BEGIN OPENSSH PRIVATE KEY-----", "b3BlbnNzaC1rZXktdjEAAAAA", "AAAAC2VkMjU1MTk",
        "-----END OPENSSH PRIVATE KEY-----",
    ],
)
# As Doppler stores them: aliases, one value quoted, plus names the jobs do not need.
DOPPLER_SECRETS = {
    "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": '"AKIADOPPLER"',
    "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": "doppler/secret+key",
    "AWS_EC2_REGION": "eu-west-1",
    "SSH_PRIVATE_KEY": SSH_KEY,
    "WHATSAPP_API_TOKEN": "wa-100%-token",
    "UNRELATED_SECRET": "not-exported",
    "DOPPLER_CONFIG": "dev",
}


class DopplerStandIn(BaseHTTPRequestHandler):
    """Stand-in for api.doppler.com, shaped as https://docs.doppler.com/reference/api
    and the secrets-fetch-action's doppler.js read it: the download answers a flat
    JSON object; a bad token answers 401 with `{"messages": [...]}`."""

    answer: object = DOPPLER_SECRETS

    def do_GET(self) -> None:
        if self.path != "/v3/configs/config/secrets/download?format=json":
            self._send(404, {"messages": ["no such endpoint"]})
        elif self.headers["Authorization"] != f"Bearer {TOKEN}":
            self._send(401, {"messages": ["Invalid Service token"], "success": False})
        else:
            self._send(200, self.answer)

    def _send(self, status: int, body: object) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        """Quiet: the test output stays readable."""


@pytest.fixture
def doppler_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), DopplerStandIn)
    # A short poll: shutdown() waits for it, half a second per test by default.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v3/configs/config/secrets/download?format=json"
    server.shutdown()
    server.server_close()


def read_github_env(path) -> dict[str, str]:
    """Parse an env file the way the runner does: NAME=VALUE or NAME<<DELIMITER heredocs."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().split("\n"))
    for line in lines:
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            body = []
            for body_line in lines:
                if body_line == delimiter:
                    break
                body.append(body_line)
            else:
                raise AssertionError(f"{name}: heredoc never closed")
            values[name] = "\n".join(body)
        elif line:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def test_doppler_download_sends_the_token_as_bearer_and_returns_the_flat_secrets(doppler_api):
    assert doppler.download(TOKEN, url=doppler_api) == DOPPLER_SECRETS


def test_a_refused_token_fails_with_dopplers_message_and_without_the_token(doppler_api):
    with pytest.raises(doppler.DopplerError, match="Doppler answered 401: Invalid Service token") as error:
        doppler.download("dp.st.wrong-token", url=doppler_api)
    assert "wrong-token" not in str(error.value)


def test_an_answer_that_is_not_a_flat_object_of_strings_is_refused(doppler_api, monkeypatch):
    monkeypatch.setattr(DopplerStandIn, "answer", {"secrets": {"A": {"computed": "x"}}})
    with pytest.raises(doppler.DopplerError, match="not a flat object"):
        doppler.download(TOKEN, url=doppler_api)


@pytest.mark.parametrize("url", ["http://api.doppler.com/v3/x", "file:///etc/passwd", "http://127.0.0.1.evil:80/"])
def test_the_token_goes_nowhere_but_https_or_this_machine(url):
    with pytest.raises(doppler.DopplerError, match="refusing to send the token"):
        doppler.download(TOKEN, url=url)


def test_ci_loads_doppler_secrets_under_standard_names_masked_and_whole(doppler_api, tmp_path, capsys):
    github_env = tmp_path / "github_env"
    environ = {"GITHUB_ENV": str(github_env), "DOPPLER_TOKEN": TOKEN, "PULUMI_CONFIG_PASSPHRASE": "pass phrase"}
    load_secrets.main(environ, fetch=functools.partial(doppler.download, url=doppler_api))

    assert read_github_env(github_env) == {
        "PULUMI_CONFIG_PASSPHRASE": "pass phrase",
        "AWS_ACCESS_KEY_ID": "AKIADOPPLER",
        "AWS_SECRET_ACCESS_KEY": "doppler/secret+key",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SSH_PRIVATE_KEY": SSH_KEY,
        "WHATSAPP_API_TOKEN": "wa-100%-token",
    }
    printed = capsys.readouterr().out.splitlines()
    # Every line of every value is masked, escaped as the runner reads commands; nothing else is printed.
    assert set(printed) == {
        "::add-mask::pass phrase", "::add-mask::AKIADOPPLER", "::add-mask::doppler/secret+key", "::add-mask::eu-west-1",
        "::add-mask::wa-100%25-token", *(f"::add-mask::{line}" for line in SSH_KEY.split("\n")),
    }


def test_ci_without_a_doppler_token_maps_the_github_secrets_aliases_unquoted(tmp_path, capsys):
    github_env = tmp_path / "github_env"
    environ = {
        "GITHUB_ENV": str(github_env),
        "DOPPLER_TOKEN": "",  # the input is empty when secrets come from GitHub
        "PULUMI_ACCESS_TOKEN": "pul-abc",
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": "'AKIAGITHUB'",
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": '"github-secret"',
        "AWS_EC2_REGION": "us-east-2",
        "SSH_PRIVATE_KEY": SSH_KEY,
        "WHATSAPP_API_TOKEN": "",
    }

    def no_doppler(token: str) -> dict[str, str]:
        raise AssertionError("Doppler was called without a token")

    load_secrets.main(environ, fetch=no_doppler)
    assert read_github_env(github_env) == {
        "PULUMI_ACCESS_TOKEN": "pul-abc",
        "AWS_ACCESS_KEY_ID": "AKIAGITHUB",
        "AWS_SECRET_ACCESS_KEY": "github-secret",
        "AWS_DEFAULT_REGION": "us-east-2",
        "SSH_PRIVATE_KEY": SSH_KEY,
    }
    assert "github-secret" not in capsys.readouterr().out.replace("::add-mask::github-secret", "")


def test_ci_stops_with_dopplers_message_when_the_token_is_refused(doppler_api, tmp_path):
    github_env = tmp_path / "github_env"
    environ = {"GITHUB_ENV": str(github_env), "DOPPLER_TOKEN": "dp.st.revoked"}
    with pytest.raises(SystemExit, match="Doppler answered 401: Invalid Service token"):
        load_secrets.main(environ, fetch=functools.partial(doppler.download, url=doppler_api))
    assert not github_env.exists()


def test_ci_refuses_to_run_outside_github_actions():
    with pytest.raises(SystemExit, match="GITHUB_ENV is not set"):
        load_secrets.main({"DOPPLER_TOKEN": TOKEN})



def test_ci_loads_every_secret_a_stack_puts_in_its_containers():
    # The stacks' containerEnv names are the source; CI's list and the setup action's mapping follow it.
    wanted = set()
    for stack in sorted(ROOT.glob("Pulumi.*.yaml")):
        config = yaml.safe_load(stack.read_text()).get("config") or {}
        wanted |= set(config.get("whatsapp-miner:containerEnv") or [])
    assert wanted, "the stacks name their container secrets in containerEnv"
    assert wanted <= set(environment.PROGRAM_SECRETS)
    action = (ROOT / ".github" / "actions" / "pulumi-setup" / "action.yml").read_text()
    for name in sorted(wanted):
        assert f"        {name}: ${{{{ inputs." in action, f"{name}: not passed to the secrets step"
