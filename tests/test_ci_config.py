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
    keys = set(re.findall(r'read\.(?:text|required|choice|boolean|integer|names)\("(\w+)"', source))
    assert len(keys) > 20
    for key in keys:
        assert f"| `{key}` |" in README, f"whatsapp-miner:{key} is missing from the README's config reference"
