"""CI configuration and program settings keep to what the README documents."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILES = sorted((ROOT / ".github").glob("**/*.yml"))
README = (ROOT / "README.md").read_text()
SHA_PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def steps():
    for path in WORKFLOW_FILES:
        document = yaml.safe_load(path.read_text())
        if "runs" in document:
            yield from ((path, step) for step in document["runs"]["steps"])
        for job in document.get("jobs", {}).values():
            yield from ((path, step) for step in job.get("steps", []))


def refers_to_this_repo(line: str) -> bool:
    """A command that runs something of ours: a path or module in the repo."""
    for token in re.split(r"[\s&|;]+", line):
        module = token.replace(".", "/")
        if token and ((ROOT / token).is_file() or (ROOT / f"{module}.py").is_file()):
            return True
    return False


def test_every_repo_command_a_workflow_runs_is_the_one_the_readme_documents():
    checked = 0
    for path, step in steps():
        for line in step.get("run", "").splitlines():
            if refers_to_this_repo(line):
                checked += 1
                assert line.strip() in README, f"{path.name}: `{line.strip()}` is not in the README"
    assert checked >= 4


def test_actions_are_pinned_to_commit_shas():
    for path, step in steps():
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert SHA_PINNED.match(uses), f"{path.name}: {uses} is not pinned to a commit SHA"


def test_ci_runs_the_readme_test_command():
    assert "bash scripts/test" in README
    assert "exec bash scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_every_config_key_the_program_reads_is_in_the_readme_reference():
    source = (ROOT / "components" / "settings.py").read_text()
    keys = set(re.findall(r'read\.(?:text|required|choice|boolean|integer|names|ids|counts)\("(\w+)"', source))
    assert len(keys) > 20
    for key in keys:
        assert f"| `{key}` |" in README, f"whatsapp-miner:{key} is missing from the README's config reference"


def jobs():
    for path in WORKFLOW_FILES:
        for name, job in yaml.safe_load(path.read_text()).get("jobs", {}).items():
            yield path, name, job


def test_every_pulumi_step_runs_the_cli_of_the_sdk_pin_from_a_v6_action():
    pin = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE).group(1)
    pulumi_steps = [(path, step) for path, step in steps() if step.get("uses", "").startswith("pulumi/actions@")]
    assert len(pulumi_steps) == 4
    for path, step in pulumi_steps:
        assert str(step["with"]["pulumi-version"]) == pin, path.name
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            if "pulumi/actions@" in line:  # v6 previews with --refresh; v5 ran a separate, writing refresh
                assert re.search(r"@[0-9a-f]{40}  # v(6|7)\.\d+\.\d+$", line), f"{path.name}: {line.strip()}"


def test_drift_never_shares_a_concurrency_group_with_an_apply():
    groups = {(path.name, name): job.get("concurrency", {}).get("group", "") for path, name, job in jobs()}
    applies = {group for (file, _), group in groups.items() if file == "deploy.yml"}
    assert applies == {"pulumi-dev", "pulumi-prd"}
    assert groups[("drift.yml", "drift")].startswith("drift-")


def test_applies_and_drift_run_only_from_main():
    for path, name, job in jobs():
        if path.name in ("deploy.yml", "drift.yml") and "needs" not in job:
            assert job.get("if") == "github.ref == 'refs/heads/main'", f"{path.name}:{name}"
