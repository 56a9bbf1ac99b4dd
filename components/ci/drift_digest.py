"""The drift check's last question: does the host run the digest its stack deployed?

scripts/host-status ends with host-deploy's JSON line, whose `digest` is the
image the host recorded; the stack's `deployedDigest` output is what its last
deploy verified. They differ after a deploy or a `host-deploy rollback` done
outside Pulumi, which the stack's next deploy would silently undo.

    bash scripts/host-status STACK | python -m components.ci.drift_digest DEPLOYED_DIGEST
"""

from __future__ import annotations

import sys

from components.digests import parse_report


def host_digest(status_output: str) -> str | None:
    """The `digest` of the last line host-deploy printed; None without a JSON report."""
    try:
        return parse_report(status_output).get("digest", "")
    except ValueError:  # no line, not JSON, or not an object
        return None


def mismatch(deployed_digest: str, status_output: str) -> str | None:
    """Why the host disagrees with the stack, naming both digests; None when
    it runs the stack's."""
    running = host_digest(status_output)
    if not deployed_digest:
        return ("the stack has no deployedDigest output: it deployed nothing yet, or has deploy: false, "
                "or the output could not be read (see above)")
    if running is None:
        return "host-deploy status printed no JSON report (see the host-status output above)"
    if running != deployed_digest:
        return (f"the host runs {running or 'no recorded digest'}, the stack's deployedDigest is {deployed_digest}: "
                "deployed or rolled back outside Pulumi? Pin the digest that should run "
                "(pulumi config set whatsapp-miner:imageDigest sha256:... -s <stack>) and run pulumi up")
    return None


def main(argv: list[str], stdin: str) -> int:
    if len(argv) != 1:
        print("usage: python -m components.ci.drift_digest DEPLOYED_DIGEST < host-status-output", file=sys.stderr)
        return 2
    problem = mismatch(argv[0], stdin)
    if problem:
        print(f"::error::{problem}")
        return 1
    print(f"the host runs the stack's deployedDigest {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], sys.stdin.read()))
