"""The drift check compares the digest the host runs (host-deploy status's
JSON line, through scripts/host-status) with the stack's deployedDigest."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from components.ci import drift_digest

ROOT = Path(__file__).resolve().parent.parent
STACK_DIGEST = "sha256:" + "a" * 64
OTHER_DIGEST = "sha256:" + "b" * 64


def status_output(digest: str) -> str:
    """What host-status prints: host-deploy's report as its last line."""
    report = {"project": "whatsapp-miner-prd", "image": f"repo@{digest}" if digest else "", "digest": digest,
              "verified": True, "result": "status", "services": {}}
    return f"some banner the host printed\n{json.dumps(report)}\n"


def test_a_host_on_the_stacks_digest_is_no_drift():
    assert drift_digest.mismatch(STACK_DIGEST, status_output(STACK_DIGEST)) is None


def test_a_host_on_another_digest_is_drift_naming_both_digests():
    problem = drift_digest.mismatch(STACK_DIGEST, status_output(OTHER_DIGEST))
    assert f"the host runs {OTHER_DIGEST}, the stack's deployedDigest is {STACK_DIGEST}" in problem
    assert "pulumi config set whatsapp-miner:imageDigest" in problem


def test_a_host_that_recorded_no_digest_is_drift():
    problem = drift_digest.mismatch(STACK_DIGEST, status_output(""))
    assert f"the host runs no recorded digest, the stack's deployedDigest is {STACK_DIGEST}" in problem


def test_no_json_report_from_the_host_is_drift_not_a_crash():
    for output in ("", "ssh: connect to host 203.0.113.7 port 22: Connection refused\n", "[1, 2]\n"):
        assert "printed no JSON report" in drift_digest.mismatch(STACK_DIGEST, output)


def test_a_stack_without_deployed_digest_is_drift():
    assert "no deployedDigest output" in drift_digest.mismatch("", status_output(STACK_DIGEST))


def run_module(*argv: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "components.ci.drift_digest", *argv], input=stdin, cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=30)


def test_the_step_fails_with_an_error_annotation_naming_both_digests():
    done = run_module(STACK_DIGEST, stdin=status_output(OTHER_DIGEST))
    assert done.returncode == 1
    assert done.stdout.startswith("::error::the host runs ")
    assert OTHER_DIGEST in done.stdout and STACK_DIGEST in done.stdout


def test_the_step_passes_when_the_host_runs_the_stacks_digest():
    done = run_module(STACK_DIGEST, stdin=status_output(STACK_DIGEST))
    assert (done.returncode, done.stdout) == (0, f"the host runs the stack's deployedDigest {STACK_DIGEST}\n")


def test_the_step_without_the_deployed_digest_argument_is_a_usage_error():
    assert run_module(stdin=status_output(STACK_DIGEST)).returncode == 2
