"""A wrong deploy key or host key fails `pulumi up` quickly, saying which.

pulumi-command 1.2.1 retries every failed dial with backoff, an authentication
or host key refusal included, until `sshDialErrorLimit` dials have failed
(tests/standins/command_provider.py: `_dial`). Here against a test-owned
sshd, with the real CLI and a dev stack that deploys nothing (`deploy:
false`): its first host command, the teardown marker, is what dials.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import sshd_host
from tests.support.aws_rehearsal import World, start_world
from tests.support.pulumi_cli import ROOT, PulumiError

DIAL_ERROR_LIMIT = 3


@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    host = sshd_host.start_sshd(tmp_path_factory.mktemp("sshd"))
    yield host
    host.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory, aws_api, run_id, pulumi_cli) -> World:
    return start_world(tmp_path_factory.mktemp("dial"), aws_api, f"whatsapp-miner-dial-{run_id}", ["dev"])


@pytest.fixture(scope="module")
def dev(world, sshd) -> str:
    shutil.copy(ROOT / "Pulumi.dev.yaml", world.cli.workdir / "Pulumi.dev.yaml")
    world.cli.init("dev", {
        "whatsapp-miner:deploy": "false", "whatsapp-miner:imageDigest": world.push("dial image"),
        "whatsapp-miner:host": "127.0.0.1", "whatsapp-miner:sshPort": str(sshd.port),
        "whatsapp-miner:sshUser": sshd.user, "whatsapp-miner:sshDialErrorLimit": str(DIAL_ERROR_LIMIT),
    })
    return "dev"


def another_key(directory: Path) -> Path:
    path = directory / "another"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def failed_up(world: World, stack: str) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(PulumiError) as failed:
        world.cli.up(stack)
    return str(failed.value), time.monotonic() - started


def test_an_unauthorized_deploy_key_fails_after_the_dial_limit(world, dev, tmp_path):
    world.cli.environ["SSH_PRIVATE_KEY"] = another_key(tmp_path).read_text()
    error, seconds = failed_up(world, dev)
    assert f"after {DIAL_ERROR_LIMIT} failed attempts" in error
    assert "Permission denied (publickey)" in error
    assert seconds < 60


def test_a_wrong_host_key_fails_after_the_dial_limit(world, dev, sshd, tmp_path):
    world.cli.environ["SSH_PRIVATE_KEY"] = sshd.private_key
    other = another_key(tmp_path).with_suffix(".pub").read_text().split()
    world.cli.run("config", "set", "--stack", dev, "whatsapp-miner:sshHostKey", " ".join(other[:2]))
    error, seconds = failed_up(world, dev)
    assert f"after {DIAL_ERROR_LIMIT} failed attempts" in error
    assert "Host key verification failed" in error
    assert seconds < 60


def test_the_right_keys_dial_at_once(world, dev, sshd):
    world.cli.run("config", "set", "--stack", dev, "whatsapp-miner:sshHostKey", sshd.host_key)
    world.cli.up(dev)
