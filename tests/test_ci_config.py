"""CI configuration keeps to what docs/ci.md (and the README's two commands) document."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support import docs

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_FILES = sorted((ROOT / ".github").glob("**/*.yml"))
# `uses: owner/repo@<commit>  # vX.Y.Z`: the commit runs, the comment names the
# release it was checked against (docs/ci.md: "Pins").
PINNED_USES = re.compile(r"^\s*(- )?uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$")
PINNED_IMAGE = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")


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


def test_every_repo_command_a_workflow_runs_is_the_one_the_ci_page_documents():
    checked = 0
    for path, step in steps():
        for line in step.get("run", "").splitlines():
            if refers_to_this_repo(line):
                checked += 1
                assert docs.mentions("ci.md", line.strip()), f"{path.name}: `{line.strip()}` is not in docs/ci.md"
    assert checked >= 4


def test_every_action_is_pinned_to_a_commit_with_its_exact_version_named():
    pinned = 0
    for path in WORKFLOW_FILES:
        for line in path.read_text().splitlines():
            if re.match(r"^\s*(- )?uses: ", line) and "uses: ./" not in line:
                assert PINNED_USES.match(line), f"{path.name}: `{line.strip()}` is not `owner/repo@<sha>  # vX.Y.Z`"
                pinned += 1
    assert pinned == len([step for _, step in steps() if not step.get("uses", "./").startswith("./")])


def test_every_container_image_is_pinned_by_digest_with_its_tag():
    images = [
        container["image"] if isinstance(container, dict) else container
        for _, _, job in jobs()
        for container in [job.get("container"), *job.get("services", {}).values()]
        if container
    ]
    assert images, "test.yml runs in a container"
    for image in images:
        assert PINNED_IMAGE.match(image), f"{image} is not `name:tag@sha256:<digest>`"


def test_ci_runs_the_readme_test_command():
    assert "bash scripts/test" in docs.code_blocks("README.md", "The two commands")[0].splitlines()
    assert "exec bash scripts/test" in (ROOT / ".ci" / "run").read_text()


def jobs():
    for path in WORKFLOW_FILES:
        for name, job in yaml.safe_load(path.read_text()).get("jobs", {}).items():
            yield path, name, job


def test_every_pulumi_step_runs_the_cli_of_the_sdk_pin_from_a_v6_action():
    pin = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE).group(1)
    pulumi_steps = [(path, step) for path, step in steps() if step.get("uses", "").startswith("pulumi/actions@")]
    assert len(pulumi_steps) == 5  # preview, two applies, drift, the smoke run's CLI install
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


def test_applies_queue_instead_of_cancelling_a_pending_apply():
    applies = [job for path, _, job in jobs() if path.name == "deploy.yml"]
    assert len(applies) == 2
    for job in applies:
        assert job["concurrency"]["cancel-in-progress"] is False
        assert job["concurrency"]["queue"] == "max"


def test_pull_requests_reach_only_the_preview_environments():
    for path, name, job in jobs():
        triggers = yaml.safe_load(path.read_text())[True]  # YAML 1.1 reads the key `on` as True
        environment = job.get("environment", "")
        if "pull_request" in triggers and path.name != "test.yml":
            assert environment.endswith("-preview"), f"{path.name}:{name} runs on pull requests with {environment!r}"
        if environment in ("dev", "prd"):
            assert "pull_request" not in triggers and "pull_request_target" not in triggers, f"{path.name}:{name}"
    assert {job.get("environment") for path, _, job in jobs() if path.name == "deploy.yml"} == {"dev", "prd"}


def test_no_secret_sits_in_a_job_wide_env():
    for path, name, job in jobs():
        for variable, value in job.get("env", {}).items():
            assert "secrets." not in str(value), f"{path.name}:{name} puts {variable} in the job's env"


def test_the_setup_action_installs_before_any_step_sees_a_secret():
    action = yaml.safe_load((ROOT / ".github" / "actions" / "pulumi-setup" / "action.yml").read_text())
    secret_inputs = {name for name in action["inputs"]}
    runs = action["runs"]["steps"]
    seeing = [
        index for index, step in enumerate(runs)
        if any(f"inputs.{name} }}" in str(value) for value in step.get("env", {}).values() for name in secret_inputs)
    ]
    installing = [index for index, step in enumerate(runs) if "pip install" in step.get("run", "") or "uses" in step]
    assert seeing == [len(runs) - 1], "only the last step, which loads them, sees the secrets"
    assert runs[-1]["run"] == ".venv/bin/python -m components.ci.load_secrets"
    assert installing and max(installing) < seeing[0]


def test_drift_previews_with_the_apply_secrets_in_a_main_only_environment_of_its_own():
    # Every input is diffed: read-only preview values would always show drift.
    [(_, _, job)] = [(path, name, job) for path, name, job in jobs() if path.name == "drift.yml"]
    assert job["environment"] == "${{ matrix.stack }}-drift"
    assert docs.mentions("ci.md", "`dev-drift` and `prd-drift`", "Setting it up")
    assert docs.mentions("ci.md", "deployment branches `main` only")


def test_prd_deploys_the_digest_its_own_runs_dev_job_verified():
    deploy = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]
    [dev_up] = [step for step in deploy["up-dev"]["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
    assert deploy["up-dev"]["outputs"]["digest"] == f"${{{{ steps.{dev_up['id']}.outputs.deployedDigest }}}}"
    [prd_up] = [step for step in deploy["up-prd"]["steps"] if step.get("uses", "").startswith("pulumi/actions@")]
    pinned = yaml.safe_load(prd_up["with"]["config-map"])
    assert pinned == {"whatsapp-miner:imageDigest": {"value": "${{ needs.up-dev.outputs.digest }}"}}


def test_every_job_that_passes_the_key_pair_passes_the_session_token_to_the_load_step():
    setups = [step for _, step in steps() if step.get("uses") == "./.github/actions/pulumi-setup"]
    assert len(setups) >= 3
    for step in setups:
        assert step["with"]["aws-session-token"] == "${{ secrets.AWS_SESSION_TOKEN }}"
    action = yaml.safe_load((ROOT / ".github" / "actions" / "pulumi-setup" / "action.yml").read_text())
    assert action["runs"]["steps"][-1]["env"]["AWS_SESSION_TOKEN"] == "${{ inputs.aws-session-token }}"


def test_drift_fails_when_the_host_runs_another_digest_than_the_stacks_deployed_digest():
    [(_, _, job)] = [(path, name, job) for path, name, job in jobs() if path.name == "drift.yml"]
    steps_run = [step.get("run", "") for step in job["steps"]]
    [check] = [step for step in job["steps"] if "-m components.ci.drift_digest" in step.get("run", "")]
    preview = next(index for index, step in enumerate(job["steps"]) if step.get("uses", "").startswith("pulumi/"))
    assert job["steps"].index(check) > preview  # the CLI the pulumi action installed reads the output
    assert check["if"] == "${{ !cancelled() }}"  # also when the preview found drift
    assert check["shell"] == "bash"  # -o pipefail: host-status's own failure counts
    read_output, compare = check["run"].splitlines()
    assert read_output == 'deployed="$(pulumi stack output deployedDigest --stack "$STACK" || true)"'
    assert compare.startswith('bash scripts/host-status "$STACK" | ')
    assert compare.endswith('| .venv/bin/python -m components.ci.drift_digest "$deployed"')
    assert sum('scripts/host-status' in run for run in steps_run) == 1


def test_every_preview_and_apply_runs_the_policy_pack_which_the_setup_action_installs():
    pulumi_steps = [(path.name, step) for path, step in steps() if path.name in ("preview.yml", "deploy.yml")
                    and step.get("uses", "").startswith("pulumi/actions@")]
    assert {step["with"]["command"] for _, step in pulumi_steps} == {"preview", "up"}
    for name, step in pulumi_steps:
        assert step["with"].get("policyPacks") == "policy", f"{name}: {step['with'].get('stack-name')}"
    action = yaml.safe_load((ROOT / ".github" / "actions" / "pulumi-setup" / "action.yml").read_text())
    assert any("-r policy/requirements.txt" in step.get("run", "") for step in action["runs"]["steps"])
    assert (ROOT / "policy" / "PulumiPolicy.yaml").is_file()


def smoke_job() -> dict:
    return yaml.safe_load((ROOT / ".github" / "workflows" / "smoke.yml").read_text())["jobs"]["smoke"]


def test_the_smoke_run_is_manual_or_weekly_from_main_never_a_pull_request():
    triggers = yaml.safe_load((ROOT / ".github" / "workflows" / "smoke.yml").read_text())[True]
    assert set(triggers) == {"workflow_dispatch", "schedule"}
    assert smoke_job()["if"] == "github.ref == 'refs/heads/main'"


def test_the_smoke_run_names_its_stacks_for_the_run_and_destroys_them_even_after_a_failure():
    job = smoke_job()
    assert job["env"]["SMOKE_RUN"] == "${{ github.run_id }}-${{ github.run_attempt }}"
    runs = [step.get("run", "") for step in job["steps"]]
    assert runs[-3:] == [f'bash scripts/smoke {action} "$SMOKE_RUN"' for action in ("up", "check", "down")]
    assert job["steps"][-1]["if"] == "always()"
    script = (ROOT / "scripts" / "smoke").read_text()
    assert all(f'"smoke-$run-{kind}"' in script for kind in ("registry", "host", "ecs"))
    assert "--policy-pack policy" in script and "scripts/host-status" in script
    assert 0 < job["timeout-minutes"] <= 60
    assert docs.mentions("ci.md", f"`timeout-minutes: {job['timeout-minutes']}`", "Smoke run")


def test_the_smoke_run_has_least_privilege_and_secrets_only_in_its_load_step():
    job = smoke_job()
    assert job["permissions"] == {"contents": "read"}
    assert job["environment"] == "sandbox"
    seeing = [step for step in job["steps"] if "secrets." in str(step)]
    assert [step["uses"] for step in seeing] == ["./.github/actions/pulumi-setup"]
