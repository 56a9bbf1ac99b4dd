"""The three test tiers, by what a test needs (docs/testing.md, "Tiers"):

1. nothing but this checkout, its virtualenv and local tools (bash,
   ssh-keygen, shellcheck, cloud-init): Pulumi mocks, pure functions, file
   checks (`scripts/test --fast`);
2. `services`: the Docker engines, registries, sshd or moto that
   scripts/test starts;
3. `pulumi_cli`: the real Pulumi CLI (the rehearsal, end to end).

A test is in the tier of the fixtures it requests (tests/conftest.py marks
it), so its mark cannot say other than what it uses. Under `--fast` nothing
is started, and whatever reaches for a service or the CLI anyway fails here,
naming the fixture to request, even when another run's services answer.
"""

from __future__ import annotations

# The fixtures that make a test tier 2 or 3 (tests/conftest.py defines them).
SERVICES = frozenset({"docker_engine", "registry", "ecr_registry", "ecr_api", "moto", "aws_api", "aws_iam_api",
                       "test_base"})
PULUMI_CLI = frozenset({"pulumi_cli"})

_fast = False


def enter_fast_tier() -> None:
    global _fast  # noqa: PLW0603 - one switch per test process, set once by tests/conftest.py
    _fast = True


def refuse_in_fast_tier(what: str, fixtures: frozenset[str]) -> None:
    """Fail when a fast-tier run reaches for WHAT, which only a test requesting one of FIXTURES may use."""
    if _fast:
        raise TierError(f"{what}: the fast tier (--fast) starts no service and no CLI; a test that needs it requests "
                        f"one of the fixtures {', '.join(sorted(fixtures))}, which puts it in the tier that has it "
                        "(tests/support/tiers.py)")


class TierError(RuntimeError):
    pass
