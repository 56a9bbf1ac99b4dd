"""The policy pack (policy/): every stack shape keeps it, and each policy stops a stack that breaks it.

The rules run twice: as plain functions on what every stack shape declares
under mocks (fast, every shape, provisioned host and ecs included), and inside
the real CLI (`pulumi preview --policy-pack policy`) through the language host
stand-in's RunPlugin, on tests/policy_cases: compliant, then breaking one
policy at a time. The real program's own previews run with the pack in
tests/test_rehearsal.py.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from policy.rules.catalog import RULES
from tests.support.pulumi_cli import ROOT, PulumiProject
from tests.support.pulumi_program import run_stack
from tests.support.stack_shapes import PROVISIONED
from tests.test_provisioned_host import provisioned_env

POLICY_PACK = ROOT / "policy"
CASES = ROOT / "tests" / "policy_cases"
# policy: what its violation says (resource, property), as the CLI prints it
BREAKS = {
    "imdsv2-hop-limit-1": ["host: metadataOptions.httpTokens is 'optional'; set it to 'required'",
                           "host: metadataOptions.httpPutResponseHopLimit is 2; set it to 1"],
    "no-world-open-ssh": ["host-firewall: ingress[0].cidrBlocks opens port 22 to 0.0.0.0/0, ::/0"],
    "encrypted-storage": ["host: rootBlockDevice.encrypted is False; set it to true",
                          "data: encrypted is False; set it to true"],
    "ecr-immutable-build-tags": ["repository: imageTagMutability is 'MUTABLE'; set it to 'IMMUTABLE_WITH_EXCLUSION'"],
    "ecr-customer-kms-key": ["repository: encryptionConfigurations is encryptionType 'AES256' with kmsKey None"],
    "ecr-scan-on-push": ["repository: imageScanningConfiguration.scanOnPush is False; set it to true"],
    "deploy-by-digest": ["deploy: create deploys --image '123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
                         "whatsapp-miner:prd'; pass the pushed image as repository@sha256:<digest>",
                         "task: containerDefinitions[0].image is '123456789012.dkr.ecr.eu-west-1.amazonaws.com/"
                         "whatsapp-miner:prd'; use repository@sha256:<digest>"],
    "no-plaintext-secrets": ["deploy: environment.WHATSAPP_API_TOKEN holds a secret; send it on stdin as a secret"],
    "ecs-secrets-from-ssm": ["task: containerDefinitions[0].environment.WHATSAPP_API_TOKEN holds a secret in "
                             "plaintext; move it to `secrets` with valueFrom an SSM SecureString parameter ARN"],
}


def violations(registrations) -> list[str]:
    return [message for registration in registrations for rule, _ in RULES.values()
            for message in rule(registration.name, registration.type, registration.inputs)]


def test_every_policy_is_covered_by_a_breaking_case():
    assert set(RULES) == set(BREAKS)


def test_every_stack_shape_keeps_every_policy(every_shape):
    for shape, run in every_shape.items():
        assert violations(run.registrations) == [], shape


def test_a_world_open_ssh_the_config_allows_explicitly_is_still_refused_by_the_pack(tmp_path):
    # hostSshAllowWorld is the program's opt-in; the pack is the organisation's line (docs/ci.md: "Policy pack").
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    world = {"whatsapp-miner:hostSshCidrs": '["0.0.0.0/0"]', "whatsapp-miner:hostSshAllowWorld": "true"}
    run = run_stack("dev", provisioned_env(key.read_text()), {**PROVISIONED, **world})
    assert violations(run.registrations) == [
        "host-firewall: ingress[0].cidrBlocks opens port 22 to 0.0.0.0/0; allow SSH only from known CIDRs "
        "(config hostSshCidrs), or use SSM"]


@pytest.fixture(scope="module")
def cases(tmp_path_factory, pulumi_cli) -> PulumiProject:
    work = tmp_path_factory.mktemp("policy-cases")
    shutil.copytree(CASES, work / "program", ignore=shutil.ignore_patterns("__pycache__"))
    (work / "program" / ".venv").symlink_to(ROOT / ".venv")
    project = PulumiProject(work / "program", work / "state", environ={})
    project.init("cases", {"aws:region": "eu-west-1"})
    return project


def preview_breaking(cases: PulumiProject, policy: str):
    cases.run("config", "set", "--stack", "cases", "breaks", policy)
    return cases.preview("cases", "--policy-pack", str(POLICY_PACK), check=False)


def test_the_compliant_case_passes_the_pack_in_the_real_cli(cases):
    done = preview_breaking(cases, "")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "whatsapp-miner-guardrails" in done.stdout and "[mandatory]" not in done.stdout


@pytest.mark.parametrize("policy", sorted(BREAKS))
def test_a_stack_breaking_a_policy_fails_its_preview_with_that_policys_message(cases, policy):
    done = preview_breaking(cases, policy)
    assert done.returncode != 0
    output = " ".join(done.stdout.split())
    assert f"[mandatory] {policy} " in output
    for message in BREAKS[policy]:
        assert message in output, output
    others = set(BREAKS) - {policy}
    assert not any(f"[mandatory] {other} " in output for other in others), output

