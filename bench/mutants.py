"""Mutation run: does each check have a test that fails without it?

Each mutant is one small semantic change (one textual replacement) in one
file, with the area it belongs to and the tests expected to catch it. For
each, the repository is copied (without .git), the change applied to the
copy, and those tests run there; a failing run kills the mutant. Writes the
kill rate by area and every survivor to bench/results/mutants.json.

Needs what the tests need (run inside `bash scripts/test`'s environment, or
with scripts/services.sh started). `--only NAME` runs the mutants whose name
contains NAME and only prints.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "mutants.json"
HOST_TESTS = "tests/test_host_deploy.py"


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]
    """pytest arguments: files and -k selections."""


MUTANTS = (
    Mutant("verify accepts any image", "host-deploy: verify", "host/host-deploy",
           'if [[ $image != "$expected" ]]; then', "if false; then",
           (HOST_TESTS, "-k", "runs_another_image")),
    Mutant("status accepts an unhealthy service", "host-deploy: status", "host/host-deploy",
           "[[ $state == running && $health == @(healthy|none) ]] || verified=false",
           "[[ $state == running ]] || verified=false",
           (HOST_TESTS, "-k", "turns_unhealthy")),
    Mutant("the gate ignores unhealthy", "host-deploy: health gate", "host/host-deploy",
           "if [[ $health == unhealthy ]]; then", "if false; then",
           (HOST_TESTS, "-k", "unhealthy_image_rolls_back")),
    Mutant("the gate ignores the soak window", "host-deploy: health gate", "host/host-deploy",
           "((!unchecked || NOW - ready_since >= SOAK)) && return 0", "return 0",
           (HOST_TESTS, "-k", "crashes_soon_after_start")),
    Mutant("prune scans history oldest first", "host-deploy: prune", "host/host-deploy",
           '"$current" | tac | awk', '"$current" | awk',
           (HOST_TESTS, "-k", "side_by_side or prune_keeps_the_newest")),
    Mutant("a failed state write after the switch is ignored", "host-deploy: state", "host/host-deploy",
           'if ! record_state "$IMAGE_REF" "$previous"; then', "if false; then",
           (HOST_TESTS, "-k", "state_write_failing")),
    Mutant("a migrated image is migrated again", "host-deploy: migrations", "host/host-deploy",
           '[[ $new_id != "$migrated" ]]', "true",
           (HOST_TESTS, "-k", "does_not_migrate_the_same_image")),
    Mutant("migrations are skipped", "host-deploy: migrations", "host/host-deploy",
           'run_migrations "$IMAGE_REF" ||', "true ||",
           (HOST_TESTS, "-k", "first_deploy_runs_migrations")),
    Mutant("the pull is skipped", "host-deploy: pull", "host/host-deploy",
           'docker pull "$1" >&2 && return 0', "return 0",
           (HOST_TESTS, "-k", "pulls_the_image_the_host")),
    Mutant("no ECR login", "host-deploy: pull", "host/host-deploy",
           'ecr_login "$1" || return 1', "true",
           (HOST_TESTS, "-k", "logging_in_with_the_aws_cli")),
    Mutant("orphans are kept", "host-deploy: up", "host/host-deploy",
           "up -d --pull never --remove-orphans", "up -d --pull never",
           (HOST_TESTS, "-k", "removed_as_orphans")),
    Mutant("a redeploy always runs up", "host-deploy: up", "host/host-deploy",
           'runs_as_configured "$IMAGE_REF"; then', "false; then",
           (HOST_TESTS, "-k", "same_digest_restarts_nothing")),
    Mutant("a signal restores nothing", "host-deploy: signals", "host/host-deploy",
           'if [[ -n $RESTORE ]] && up_and_check "$RESTORE"; then', "if false; then",
           (HOST_TESTS, "-k", "hung_up_during_the_health_gate")),
    Mutant("output stays tied to the session", "host-deploy: signals", "host/host-deploy",
           "  fi\n  detach_output\n", "  fi\n",
           (HOST_TESTS, "-k", "closed_early or ssh_client_is_killed")),
    Mutant("down gives in to a hang-up", "host-deploy: signals", "host/host-deploy",
           "  trap '' HUP\n  local current result", "  local current result",
           (HOST_TESTS, "-k", "down_hung_up")),
    Mutant("--dir taken logically", "host-deploy: paths", "host/host-deploy",
           'DIR="$(cd "$DIR" && pwd -P)"', 'DIR="$(cd "$DIR" && pwd)"',
           (HOST_TESTS, "-k", "symlinked_dir")),
    Mutant("no lock", "host-deploy: lock", "host/host-deploy",
           "if ! flock -n 9; then", "if false; then",
           (HOST_TESTS, "-k", "concurrent_deploy")),
    Mutant("a refusal is not audited", "host-deploy: audit", "host/host-deploy",
           '  finish "$ACTION" "$result" "${IMAGE_REF:-$(read_state current)}" false false "$code"',
           '  exit "$code"',
           (HOST_TESTS, "-k", "refused_deploy_leaves")),
    Mutant("any platform accepted", "host-deploy: pull", "host/host-deploy",
           '  [[ $image == "$host" ]] ||', "  true ||",
           (HOST_TESTS, "-k", "another_architecture")),
    Mutant("another directory's project is taken over", "host-deploy: ownership", "host/host-deploy",
           'elif [[ -n $owner && $owner == "$(owner_of "$elsewhere")" ]]; then', "elif true; then",
           (HOST_TESTS, "-k", "another_directory_runs_is_refused")),
    Mutant("an engine restart fails the gate", "host-deploy: health gate", "host/host-deploy",
           "if [[ $state == @(exited|dead|missing) ]] && engine_restarting; then", "if false; then",
           (HOST_TESTS, "-k", "engine_restart_during")),
    Mutant("durations on the wall clock", "host-deploy: health gate", "host/host-deploy",
           'if read -r up _ 2>/dev/null </proc/uptime; then NOW="${up%.*}"; else NOW="$SECONDS"; fi',
           'NOW="$(date +%s)"',
           (HOST_TESTS, "-k", "wall_clock_step")),
    Mutant("a usage error is not audited", "host-deploy: audit", "host/host-deploy",
           '[[ -z $STATE_DIR || ! -d $STATE_DIR ]] || audit', "true || audit",
           (HOST_TESTS, "-k", "usage_error_in_a_directory")),
    Mutant("containerEnv refuses only IMAGE", "program: settings", "components/config/settings.py",
           'name == "IMAGE" or name.startswith(RESERVED_PREFIXES)', 'name == "IMAGE"',
           ("tests/test_program.py", "-k", "container_env_refuses_a_variable")),
    Mutant("a stack promotes from itself by its full name", "program: settings", "components/config/settings.py",
           'if promote_from in (stack, f"{organization}/{NAMESPACE}/{stack}"):', "if promote_from == stack:",
           ("tests/test_program.py", "-k", "promote_from_itself")),
    Mutant("mismatched quotes are stripped", "program: environment", "components/config/environment.py",
           "value[0] == value[-1] and value[0] in", "value[0] in",
           ("tests/test_program.py", "-k", "unquoted_only_when_one_pair")),
    Mutant("a secret file is written in place", "program: host commands", "components/targets/host/commands.py",
           "cat > {partial} && mv -f {partial} {target}", "cat > {target}",
           ("tests/test_env_file.py", "-k", "replaces_the_old_one_whole")),
    Mutant("an immutable tag on another image passes", "program: ECR tags", "components/ecr_tags.py",
           'raise TagError(f"{repository}:{tag} is immutable and names another image") from error', "continue",
           ("tests/test_ecr_tags.py", "-k", "immutable_tag_on_another_image")),
    Mutant("a migration without exit code passes", "program: ecs rollout", "components/ecs_rollout.py",
           'c.get("exitCode")', 'c.get("exitCode", 0)',
           ("tests/test_ecs_rollout.py", "-k", "reports_no_exit_code")),
    Mutant(":ro mounts dropped on ecs", "program: ecs conversion", "components/targets/ecs/compose_to_ecs.py",
           'read_only=len(parts) == 3 and parts[2] == "ro"', "read_only=False",
           ("tests/test_compose_to_ecs.py", "-k", "read_only_volume")),
)


def copy_repository(destination: Path) -> None:
    shutil.copytree(ROOT, destination, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".pulumi-cli"))
    (destination / ".venv").symlink_to(ROOT / ".venv")


def run(mutant: Mutant, work: Path) -> dict:
    copy = work / "repo"
    shutil.rmtree(copy, ignore_errors=True)
    copy_repository(copy)
    target = copy / mutant.path
    text = target.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(f"mutant '{mutant.name}': {mutant.path} holds its text {text.count(mutant.old)} times, "
                         "not once")
    target.write_text(text.replace(mutant.old, mutant.new))
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
                          cwd=copy, capture_output=True, text=True, check=False, timeout=1800)
    # pytest exit 5: nothing collected, a selection that no longer matches: not a kill.
    if done.returncode == 5:
        raise SystemExit(f"mutant '{mutant.name}': its tests {mutant.tests} select nothing")
    return {"name": mutant.name, "area": mutant.area, "killed": done.returncode != 0,
            "tests": " ".join(mutant.tests), "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the mutants whose name contains this")
    chosen = [mutant for mutant in MUTANTS if parser.parse_args().only in mutant.name]
    results = []
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        for mutant in chosen:
            results.append(run(mutant, Path(tmp)))
            print(f"{'killed ' if results[-1]['killed'] else 'SURVIVED'} {mutant.name}", flush=True)
    areas: dict[str, list[dict]] = defaultdict(list)
    for result in results:
        areas[result["area"]].append(result)
    summary = {
        "killed": sum(result["killed"] for result in results), "mutants": len(results),
        "by_area": {area: f"{sum(r['killed'] for r in rs)}/{len(rs)}" for area, rs in sorted(areas.items())},
        "survivors": [result["name"] for result in results if not result["killed"]],
        "runs": results,
    }
    if len(chosen) == len(MUTANTS):  # a partial run (--only) leaves the full run's results alone
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({key: summary[key] for key in ("killed", "mutants", "by_area", "survivors")}, indent=2))


if __name__ == "__main__":
    main()
