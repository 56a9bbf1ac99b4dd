"""One stack of each shape the program has, run under Pulumi mocks, for the
tests that must hold for all of them (AWS's input rules, the policy pack,
the preview policy); conftest.py's `every_shape` runs them once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.pulumi_program import ProgramRun, run_stack
from tests.test_program import doppler_env

PROVISIONED = {
    "whatsapp-miner:provisionHost": "true",
    "whatsapp-miner:hostAwsCredentials": "instance-role",
    "whatsapp-miner:hostSshCidrs": '["203.0.113.0/24", "2001:db8::/48"]',
}
EVERY_HOST_OPTION = {
    **PROVISIONED,
    "whatsapp-miner:hostSubnetId": "subnet-0abc",
    "whatsapp-miner:hostElasticIp": "true",
    "whatsapp-miner:hostSsm": "true",
}
SHAPES = {
    # shape: (stack, config added to its stack file)
    "registry": ("registry", {}),
    "existing host (dev)": ("dev", {}),
    "existing host, promoted (prd)": ("prd", {}),
    "provisioned host": ("dev", PROVISIONED),
    "provisioned host, every option": ("dev", EVERY_HOST_OPTION),
    "ecs": ("ecs-example", {}),
}


def run_every_shape(key_dir: Path, preview: bool = False) -> dict[str, ProgramRun]:
    """Each shape's stack, run once; a provisioned host gets a deploy key to install."""
    key = key_dir / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    environ = doppler_env(SSH_PRIVATE_KEY=key.read_text())
    # A stack that creates its host is refused an address for it.
    without_host = {variable: value for variable, value in environ.items() if variable != "WHATSAPP_MINER_EC2_HOST"}
    return {shape: run_stack(stack, without_host if config.get("whatsapp-miner:provisionHost") else environ, config,
                             preview=preview)
            for shape, (stack, config) in SHAPES.items()}
