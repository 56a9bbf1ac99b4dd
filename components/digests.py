"""Image digests and the reports that verify them, for every target and tool.

A deployment ends with one JSON report on its last line (host-deploy on a
host, `components.ecs_rollout verify` on ecs); the stack's `deployedDigest`
is the digest that report verified, and the drift check reads the same
report from `host-deploy status`.
"""

from __future__ import annotations

import json
import re

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def digest_of(ref: str) -> str:
    """The digest of `repository@sha256:...`; a local image ID is its own."""
    return ref.rpartition("@")[2]


def build_tag(digest: str) -> str:
    """The immutable tag every image gets: its own digest, as a tag may spell it."""
    return digest.replace(":", "-")


def parse_report(stdout: str) -> dict:
    """The JSON object a deployment printed as its last line."""
    lines = stdout.strip().splitlines()
    if not lines:
        raise ValueError("the deployment printed no report")
    report = json.loads(lines[-1])
    if not isinstance(report, dict):
        raise ValueError(f"the deployment's last line is not a JSON object: {lines[-1]!r}")
    return report


def verified_digest(stdout: str, image_ref: str, reporter: str = "host-deploy") -> str:
    """The digest the deployment verified; fails when it is not the one pushed."""
    report = parse_report(stdout)
    running = report.get("digest") or report.get("image_id")
    expected = digest_of(image_ref)
    if not report.get("verified") or running != expected:
        raise ValueError(f"{reporter} verified {running!r}, but the program pushed {expected!r}")
    return running
