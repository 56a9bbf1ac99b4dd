"""host/host-deploy against a real Docker engine and a real registry."""

from __future__ import annotations

import base64
import json
import math
import os
import shlex
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from components.targets.host import cloud_init
from tests.support import docker_env, sshd_host

REPO = Path(__file__).resolve().parent.parent
HOST_DEPLOY = REPO / "host" / "host-deploy"
SECRET = "s3cr3t value # with $dollar and \"quotes\""


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def report(self) -> dict:
        return json.loads(self.stdout.strip().splitlines()[-1])


@dataclass
class HostProject:
    """A compose project directory on this machine, as host-deploy sees it."""

    dir: Path
    name: str

    def run(self, action: str, *args: str, background: bool = False, env: dict[str, str | None] | None = None):
        """host-deploy ACTION; ENV adds to the environment, a None value removes the variable."""
        argv = [str(HOST_DEPLOY), action, "--dir", str(self.dir), "--project", self.name, *args]
        merged = {**os.environ, "DEPLOY_ACTOR": "pytest", **self.host_env(), **(env or {})}
        env = {name: value for name, value in merged.items() if value is not None}
        if background:  # in its own process group, every signal at its default, like a deploy over SSH
            # (a runner started under nohup would hand down an ignored SIGHUP, which bash cannot trap)
            return subprocess.Popen(["env", "--default-signal", *argv], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True, start_new_session=True)
        started = time.monotonic()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        return Result(done.returncode, done.stdout, done.stderr, time.monotonic() - started)

    def host_env(self) -> dict[str, str]:
        """The test host's engine, and a Docker config of the project's own (no login in it)."""
        return docker_env.host_env(self.dir.parent / f"{self.dir.name}.docker-config")

    def deploy(self, image: str, *args: str, env: dict[str, str | None] | None = None) -> Result:
        return self.run("deploy", "--image", image, "--timeout", "60", *args, env=env)

    def start_holding_lock(self, image: str) -> subprocess.Popen:
        """Start a deploy in the background; return once it holds the lock."""
        deploy = self.run("deploy", "--image", image, "--timeout", "60", background=True)
        deadline = time.monotonic() + 60
        while not self.holds_lock(deploy) and time.monotonic() < deadline:
            time.sleep(0.2)
        return deploy

    def holds_lock(self, run: subprocess.Popen) -> bool:
        """Whether RUN took the lock: it names itself in the state's `lock.owner`."""
        try:
            owner = json.loads((self.dir / ".deploy" / "state.json").read_text()).get("lock.owner", "")
        except (FileNotFoundError, json.JSONDecodeError):
            return False
        return owner.startswith(f"pid {run.pid} ")

    def container_ids(self) -> dict[str, str]:
        listing = docker_env.host(
            "ps", "-a", "--filter", f"label=com.docker.compose.project={self.name}",
            "--format", '{{.Label "com.docker.compose.service"}} {{.ID}}',
        )
        return dict(line.split() for line in listing.stdout.splitlines())

    def migrations(self) -> list[str]:
        """Versions the migrate service recorded on the project's volume."""
        volume = docker_env.host("volume", "inspect", "--format", "{{.Mountpoint}}", f"{self.name}_data")
        marker = Path(volume.stdout.strip()) / "migrations"
        return marker.read_text().split() if marker.exists() else []


def state(app: HostProject) -> dict:
    """host-deploy's state: .deploy/state.json."""
    return json.loads((app.dir / ".deploy" / "state.json").read_text())


def image_id(ref: str) -> str:
    return docker_env.host("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()


def volume_exists(name: str) -> bool:
    return docker_env.host("volume", "inspect", name, check=False).returncode == 0


def image_present(ref: str) -> bool:
    return docker_env.host("image", "inspect", ref, check=False).returncode == 0


def assert_running_on(result: Result, ref: str) -> None:
    report = result.report
    assert report["verified"] is True, result.stderr
    assert report["image"] == ref
    assert set(report["services"]) == {"miner", "classifier"}
    for name, service in report["services"].items():
        assert service["state"] == "running", name
        assert service["health"] == "healthy", name
        assert service["image_id"] == image_id(ref), name


@pytest.fixture(scope="module")
def images(registry, test_base, run_id):
    """Pushed digest references of the test workload, one per behaviour."""
    repo = f"{registry}/host-deploy-test-{run_id}"
    return {
        "v1": docker_env.build_and_push(repo, "ok", "1"),
        "v2": docker_env.build_and_push(repo, "ok", "2"),
        "v3": docker_env.build_and_push(repo, "ok", "3"),
        "unhealthy": docker_env.build_and_push(repo, "unhealthy"),
        "crash": docker_env.build_and_push(repo, "crash"),
        "crash-later": docker_env.build_and_push(repo, "crash-later"),
        "slow": docker_env.build_and_push(repo, "slow"),
        "slow-start": docker_env.build_and_push(repo, "slow-start"),
        "migrate-fail": docker_env.build_and_push(repo, "migrate-fail"),
    }


def make_project(root: Path, name: str) -> HostProject:
    root.mkdir(parents=True)
    shutil.copy(docker_env.WORKLOAD / "docker-compose.yml", root / "docker-compose.yml")
    env_file = root / ".env"
    env_file.write_text(f"ENV_NAME=test\nAPI_TOKEN='{SECRET}'\n")
    env_file.chmod(0o600)
    return HostProject(root, name)


@pytest.fixture
def project(tmp_path, run_id):
    projects = []

    def create(label: str = "app") -> HostProject:
        made = make_project(tmp_path / label, f"hd-{run_id}-{label}-{uuid.uuid4().hex[:6]}")
        projects.append(made)
        return made

    yield create
    for made in projects:
        docker_env.compose_down(made.name, made.dir)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert "s3cr3t" not in text


def test_first_deploy_runs_migrations_and_verifies_both_services(project, images):
    app = project()
    result = app.deploy(images["v1"])
    assert result.code == 0, result.stderr
    assert_running_on(result, images["v1"])
    assert result.report["changed"] is True
    assert result.report["digest"] == images["v1"].split("@")[1]
    assert app.migrations() == ["1"]
    status = app.run("status")
    assert status.code == 0, status.stderr
    assert_running_on(status, images["v1"])
    assert_no_secret(result.stdout, result.stderr, status.stdout, (app.dir / ".deploy" / "audit.log").read_text())


def test_second_deploy_of_same_digest_restarts_nothing(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    again = app.deploy(images["v1"])
    assert again.code == 0, again.stderr
    assert again.report["changed"] is False
    assert again.report["result"] == "unchanged"
    assert app.container_ids() == before
    assert app.migrations() == ["1"]


def test_new_digest_replaces_both_services_and_records_previous(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    result = app.deploy(images["v2"])
    assert result.code == 0, result.stderr
    assert_running_on(result, images["v2"])
    assert result.report["previous_image"] == images["v1"]
    after = app.container_ids()
    assert all(after[name] != before[name] for name in ("miner", "classifier"))
    assert app.migrations() == ["1", "2"]
    assert app.run("status").code == 0


def test_failing_migration_leaves_the_running_version_untouched(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    result = app.deploy(images["migrate-fail"])
    assert result.code == 4, result.stderr
    assert "migration failed on purpose" in result.stderr
    assert app.container_ids() == before
    status = app.run("status")
    assert status.code == 0
    assert_running_on(status, images["v1"])


def test_unhealthy_image_rolls_back_to_the_previous_one(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    result = app.run("deploy", "--image", images["unhealthy"], "--timeout", "120")
    assert result.code == 5, result.stderr
    assert result.seconds < 60, result.seconds  # at the first unhealthy answer, not at the timeout
    assert "unhealthy" in result.stderr
    assert result.report["result"] == "rolled_back"
    status = app.run("status")
    assert status.code == 0, status.stderr
    assert_running_on(status, images["v1"])


def test_crash_looping_image_rolls_back_well_before_the_timeout(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    result = app.run("deploy", "--image", images["crash"], "--timeout", "120")
    assert result.code == 5, result.stderr
    # Fail fast: a crash must not wait out the health timeout.
    assert result.seconds < 60, result.seconds
    assert_running_on(app.run("status"), images["v1"])


def test_failed_first_deploy_has_nothing_to_restore(project, images):
    app = project()
    result = app.deploy(images["crash"])
    assert result.code == 6
    assert result.report["verified"] is False
    assert app.run("status").code == 1


def test_rollback_on_demand_restores_and_verifies_the_previous_image(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    assert app.deploy(images["v2"]).code == 0
    result = app.run("rollback", "--timeout", "60")
    assert result.code == 0, result.stderr
    assert_running_on(result, images["v1"])
    assert result.report["previous_image"] == images["v2"]
    assert app.migrations() == ["1", "2"]  # rollback runs no migrations
    # No teardown marker: the stack is not known here.
    assert f"pulumi config set whatsapp-miner:imageDigest {result.report['digest']} -s <stack>" in result.stderr


def test_a_rollback_prints_the_pin_that_makes_the_stack_agree(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    assert app.deploy(images["v2"]).code == 0
    # What the stack's teardown resource writes when it claims the project.
    (app.dir / ".deploy" / f"teardown.{app.name}").write_text("organization/whatsapp-miner/prd\n")
    result = app.run("rollback", "--timeout", "60")
    assert result.code == 0, result.stderr
    digest = "sha256:" + images["v1"].split("@sha256:")[1]
    pin = f"pulumi config set whatsapp-miner:imageDigest {digest} -s organization/whatsapp-miner/prd"
    assert pin in result.stderr


def test_services_removed_from_compose_are_removed_as_orphans(project, images):
    app = project()
    compose = app.dir / "docker-compose.yml"
    original = compose.read_text()
    compose.write_text(original.replace("  classifier: *app\n", "  classifier: *app\n  extra: *app\n"))
    assert app.deploy(images["v1"]).code == 0
    assert "extra" in app.container_ids()
    compose.write_text(original)
    result = app.deploy(images["v1"])
    assert result.code == 0, result.stderr
    assert set(app.container_ids()) == {"miner", "classifier"}


def test_concurrent_deploy_of_the_same_dir_is_refused_with_the_holder(project, images):
    app = project()
    first = app.start_holding_lock(images["slow"])
    second = app.deploy(images["v1"])
    _, first_err = first.communicate(timeout=300)
    assert second.code == 3, second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert "by pytest" in second.stderr
    assert images["slow"] in second.stderr
    assert first.returncode == 0, first_err


def test_a_killed_deploy_leaves_no_lock_behind(project, images):
    app = project()
    first = app.start_holding_lock(images["slow"])
    os.killpg(first.pid, signal.SIGKILL)  # the whole run, as a dropped SSH session would
    first.communicate(timeout=60)
    result = app.deploy(images["v1"])
    assert result.code == 0, result.stderr


def test_dev_and_prd_side_by_side_stay_separate_and_prune_only_their_own(project, images, registry, run_id):
    dev, prd = project("dev"), project("prd")
    prd_image = docker_env.build_and_push(f"{registry}/host-deploy-test-{run_id}-prd", "ok", "1")
    assert prd.deploy(prd_image).code == 0
    for version in ("v1", "v2", "v3"):
        assert dev.deploy(images[version], "--keep", "1").code == 0, version
    # v1 is neither kept, current nor previous: pruned. v2 stays for rollback.
    assert not image_present(images["v1"])
    assert image_present(images["v2"]) and image_present(images["v3"])
    assert image_present(prd_image)
    assert_running_on(prd.run("status"), prd_image)
    assert_running_on(dev.run("status"), images["v3"])
    assert set(dev.container_ids().values()).isdisjoint(prd.container_ids().values())


# ---------------------------------------------------------------- pulls and registries that demand credentials

def test_a_deploy_pulls_the_image_the_host_does_not_hold(project, registry, run_id):
    # The test host's engine holds only what it pulled; compose runs with
    # --pull never, so a deploy that skipped its own pull would fail here.
    ref = docker_env.build_and_push(f"{registry}/host-deploy-pull-{run_id}", "ok", "pulled")
    app = project()
    assert not image_present(ref)
    result = app.deploy(ref)
    assert result.code == 0, result.stderr
    assert f"pulling {ref}" in result.stderr
    assert_running_on(result, ref)


def with_sidecar(app: HostProject, image: str) -> None:
    """Add to APP's compose file a service that runs IMAGE, not the deployed one."""
    workload = (docker_env.WORKLOAD / "docker-compose.yml").read_text()
    (app.dir / "docker-compose.yml").write_text(workload.replace("  migrate:\n", f"""  sidecar:
    image: {image}
    command: ["/app.sh", "serve"]
    restart: unless-stopped
    healthcheck: {{test: ["CMD", "/app.sh", "health"], interval: 1s, timeout: 2s, retries: 3}}
  migrate:
""", 1))


def test_a_service_from_another_image_is_pulled_gated_and_verified_against_its_own_reference(
        project, images, registry, run_id):
    sidecar = docker_env.build_and_push(f"{registry}/host-deploy-sidecar-{run_id}", "ok", "sidecar")
    app = project()
    with_sidecar(app, sidecar)
    assert not image_present(sidecar)
    first = app.deploy(images["v1"])
    assert first.code == 0, first.stderr
    assert f"pulling {sidecar}" in first.stderr
    services = first.report["services"]
    assert services["sidecar"]["image_id"] == image_id(sidecar) and services["sidecar"]["health"] == "healthy"
    assert services["miner"]["image_id"] == services["classifier"]["image_id"] == image_id(images["v1"])
    before = app.container_ids()
    second = app.deploy(images["v2"])
    assert second.code == 0, second.stderr
    assert app.container_ids()["sidecar"] == before["sidecar"]  # its image did not change
    assert app.run("status").code == 0
    with_sidecar(app, images["v1"])  # the file now wants another image than the one the sidecar runs
    status = app.run("status")
    assert status.code == 1 and status.report["verified"] is False
    assert status.report["services"]["sidecar"]["image_id"] == image_id(sidecar)


def test_a_service_whose_own_image_cannot_be_pulled_is_refused_before_anything_changes(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    with_sidecar(app, "127.0.0.1:9/nowhere/sidecar:1")
    result = app.deploy(images["v2"])
    assert result.code == 2
    assert "service sidecar: its image 127.0.0.1:9/nowhere/sidecar:1 cannot be found or pulled" in result.stderr
    assert result.report["result"] == "pull_failed" and app.container_ids() == before


@pytest.fixture(scope="module")
def ecr_images(ecr_registry, moto, test_base, run_id) -> dict[str, str]:
    """Two versions in the ECR stand-in, which refuses anonymous pulls."""
    repo = f"{ecr_registry}/host-deploy-ecr-{run_id}"
    return {"v1": docker_env.build_and_push(repo, "ok", "1"), "v2": docker_env.build_and_push(repo, "ok", "2")}


def aws_cli_env(moto: str, docker_config: Path, **credentials: str) -> dict[str, str]:
    """A host that logs in with the AWS CLI: its credentials (none unless
    given; no shared files) and a Docker config of its own."""
    return {"AWS_ENDPOINT_URL": moto, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
            "DOCKER_CONFIG": str(docker_env.with_compose_plugin(docker_config)), **credentials}


HOST_KEYS = {"AWS_ACCESS_KEY_ID": "AKIAHOSTDEPLOY", "AWS_SECRET_ACCESS_KEY": "host-secret"}


def test_the_ecr_standin_refuses_an_anonymous_pull(ecr_images, ecr_registry, tmp_path):
    repository, _, digest = ecr_images["v1"].removeprefix(f"{ecr_registry}/").partition("@")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://{ecr_registry}/v2/{repository}/manifests/{digest}", timeout=10)
    assert refused.value.code == 401
    pulled = docker_env.run("docker", "pull", ecr_images["v1"], check=False,
                            env={**os.environ, **docker_env.host_env(tmp_path / "docker-config")})
    assert pulled.returncode != 0 and "no basic auth credentials" in pulled.stderr


def test_prune_keeps_the_newest_images_and_removes_the_oldest(project, images):
    app = project()
    for version in ("v1", "v2", "v3"):
        assert app.deploy(images[version], "--keep", "2").code == 0, version
    assert not image_present(images["v1"])
    assert image_present(images["v2"]) and image_present(images["v3"])
    history = state(app)["history"].split()
    assert history == [images["v2"], images["v3"]]  # oldest first, as deploys append


def test_ecr_image_is_pulled_after_logging_in_with_the_aws_cli(project, ecr_images, ecr_registry, moto, tmp_path):
    app = project()
    docker_config = tmp_path / "docker-config"
    env = aws_cli_env(moto, docker_config, **HOST_KEYS)
    result = app.deploy(ecr_images["v1"], env=env)
    assert result.code == 0, result.stderr
    assert f"logging in to {ecr_registry}" in result.stderr
    assert_running_on(result, ecr_images["v1"])
    # The credential docker stored is the token moto issued to the AWS CLI.
    token = docker_env.run("aws", "ecr", "get-login-password", "--region", "us-east-1", env={**os.environ, **env})
    stored = json.loads((docker_config / "config.json").read_text())["auths"][ecr_registry]["auth"]
    assert base64.b64decode(stored).decode() == f"AWS:{token.stdout.strip()}"


def other_account_keys(moto: str) -> dict[str, str]:
    """Credentials of a role in another account: moto maps an assumed role's
    keys to the role's account (moto/core/utils get_account_id_from), whose
    ECR token the registry of account 123456789012 does not accept."""
    sts = boto3.client("sts", endpoint_url=moto, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    assumed = sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/elsewhere", RoleSessionName="host")
    keys = assumed["Credentials"]
    return {"AWS_ACCESS_KEY_ID": keys["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
            "AWS_SESSION_TOKEN": keys["SessionToken"]}


@pytest.mark.parametrize(("credentials", "message"), [
    (None, "the AWS CLI got no token for us-east-1; check the host's AWS credentials"),
    (other_account_keys, "refused: the AWS credentials are not for this registry's account"),
])
def test_a_refused_ecr_login_fails_before_anything_stops(project, ecr_images, ecr_registry, moto, tmp_path,
                                                          credentials, message):
    app = project()
    assert app.deploy(ecr_images["v1"], env=aws_cli_env(moto, tmp_path / "first", **HOST_KEYS)).code == 0
    before = app.container_ids()
    keys = credentials(moto) if credentials else {}
    result = app.deploy(ecr_images["v2"], env=aws_cli_env(moto, tmp_path / "second", **keys))
    assert result.code == 2, result.stderr
    assert f"ECR login to {ecr_registry}" in result.stderr and message in result.stderr
    assert "services untouched" in result.stderr
    assert not image_present(ecr_images["v2"])
    assert app.container_ids() == before
    assert_running_on(app.run("status"), ecr_images["v1"])


def test_audit_log_has_one_json_line_per_action(project, images):
    app = project()
    runs = [app.deploy(images["v1"]), app.deploy(images["migrate-fail"])]
    lines = [json.loads(line) for line in (app.dir / ".deploy" / "audit.log").read_text().splitlines()]
    assert [(line["action"], line["result"], line["image"]) for line in lines] == [
        ("deploy", "deployed", images["v1"]), ("deploy", "migration_failed", images["migrate-fail"]),
    ]
    assert {line["actor"] for line in lines} == {"pytest"}
    for line, run in zip(lines, runs, strict=True):
        assert line["time"].endswith("Z")
        assert 0 <= line["seconds"] <= math.ceil(run.seconds), (line["seconds"], run.seconds)


def test_down_removes_the_project_containers(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    result = app.run("down")
    assert result.code == 0, result.stderr
    assert app.container_ids() == {}
    assert (app.dir / ".env").exists() and (app.dir / "docker-compose.yml").exists()


def test_an_older_versions_teardown_leaves_the_project_the_stacks_teardown_owns(project, images):
    # An upgrade replaces the teardown resource; the engine runs the old one's
    # delete (`down` without --from-stack) after the new deploy.
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    marker = app.dir / ".deploy" / f"teardown.{app.name}"
    marker.touch()  # what the stack's teardown resource writes when it is created
    result = app.run("down", "--purge")
    assert result.code == 0, result.stderr
    assert app.container_ids() == before and (app.dir / ".env").exists()
    assert json.loads((app.dir / ".deploy" / "audit.log").read_text().splitlines()[-1])["result"] == "superseded"
    result = app.run("down", "--purge", "--from-stack")  # the stack's own teardown: destroy, or a move
    assert result.code == 0, result.stderr
    assert app.container_ids() == {} and not marker.exists() and not (app.dir / ".env").exists()


def test_down_purge_removes_the_files_and_keeps_the_data_unless_asked(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    (app.dir / "host-deploy").write_text("copied by the program\n")
    result = app.run("down", "--purge")
    assert result.code == 0, result.stderr
    assert app.container_ids() == {}
    assert sorted(path.name for path in app.dir.iterdir()) == [".deploy"]
    assert "current" not in state(app)
    assert volume_exists(f"{app.name}_data")
    wiped = project("wiped")
    assert wiped.deploy(images["v1"]).code == 0
    assert wiped.run("down", "--purge", "--volumes").code == 0
    assert not volume_exists(f"{wiped.name}_data")
    assert not (wiped.dir / ".env").exists()


def test_down_purge_of_a_renamed_project_keeps_the_files_of_the_project_that_replaced_it(project, images):
    old = project()
    assert old.deploy(images["v1"]).code == 0
    new = HostProject(old.dir, f"{old.name}-renamed")
    deployed = new.deploy(images["v1"])
    assert deployed.code == 0 and "deploying" in deployed.stderr and "afresh" in deployed.stderr
    assert new.migrations() == ["1"]  # its own volume, migrated though the image did not change
    result = old.run("down", "--purge")
    assert result.code == 0, result.stderr
    assert old.container_ids() == {}
    assert (old.dir / ".env").exists()
    assert set(new.container_ids()) == {"miner", "classifier"}
    new.run("down", "--volumes")


def claim(app: HostProject, owner: str) -> None:
    """What the stack's teardown resource writes when it is created (commands.claim_project)."""
    (app.dir / ".deploy").mkdir(exist_ok=True)
    (app.dir / ".deploy" / f"teardown.{app.name}").write_text(f"{owner}\n")


def test_down_leaves_a_project_that_now_runs_from_another_directory(project, images, tmp_path):
    first = project()
    claim(first, "organization/whatsapp-miner/dev")
    assert first.deploy(images["v1"]).code == 0
    moved = make_project(tmp_path / "moved", first.name)
    claim(moved, "organization/whatsapp-miner/dev")  # the same stack, its hostDir changed
    deployed = moved.deploy(images["v1"])
    assert deployed.code == 0, deployed.stderr  # recreated from the new directory
    assert "moves from" in deployed.stderr
    result = first.run("down", "--purge", "--from-stack")
    assert result.code == 0, result.stderr
    assert "runs from" in result.stderr and result.report["result"] == "moved"
    assert set(moved.container_ids()) == {"miner", "classifier"}
    assert not (first.dir / ".env").exists()
    moved.run("down", "--volumes")


@pytest.mark.parametrize("owner", ["organization/whatsapp-miner/dev-alice", None])
def test_a_project_name_another_directory_runs_is_refused_before_anything_changes(project, images, tmp_path,
                                                                                  owner):
    first = project()
    claim(first, "organization/whatsapp-miner/dev")
    assert first.deploy(images["v1"]).code == 0
    before = first.container_ids()
    second = make_project(tmp_path / "second", first.name)
    if owner:
        claim(second, owner)
    result = second.deploy(images["v2"])
    assert result.code == 2
    assert f"project {first.name} already runs from {first.dir}" in result.stderr
    assert "(owner: organization/whatsapp-miner/dev)" in result.stderr and "services untouched" in result.stderr
    assert result.report["result"] == "owned_elsewhere"
    assert last_audit(second)["result"] == "owned_elsewhere"
    assert first.container_ids() == before
    assert_running_on(first.run("status"), images["v1"])


def test_a_project_whose_directory_is_gone_is_taken_over(project, images, tmp_path):
    first = project()
    assert first.deploy(images["v1"]).code == 0
    (first.dir / "docker-compose.yml").unlink()
    second = make_project(tmp_path / "second", first.name)
    result = second.deploy(images["v1"])
    assert result.code == 0, result.stderr
    assert "which is gone: it moves to" in result.stderr
    assert_running_on(result, images["v1"])


def test_a_redeploy_of_the_running_image_brings_back_a_service_stopped_by_hand(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    docker_env.host("stop", app.container_ids()["miner"])
    result = app.deploy(images["v1"])
    assert result.code == 0, result.stderr
    assert_running_on(result, images["v1"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["launch"], "unknown action 'launch'"),
        (["deploy", "--project", "p", "--image", "x"], "--dir is required"),
        (["deploy", "--dir", "/nonexistent", "--project", "p", "--image", "x"], "no docker-compose.yml"),
        (["status", "--dir", "{dir}", "--project", "Bad Name"], "--project 'Bad Name'"),
        (["status", "--dir", "{dir}", "--project", "p" * 64], "expected at most 63"),
        (["deploy", "--dir", "{dir}", "--project", "p"], "--image is required"),
        (["deploy", "--dir", "{dir}", "--project", "p", "--image", "x", "--timeout", "soon"], "--timeout 'soon'"),
        (["status", "--dir", "{dir}", "--project", "p", "--image", "x"], "unknown option '--image'"),
        (["deploy", "--dir", "{dir}", "--project", "p", "--image", "nosuch.invalid/x:1"], "cannot be found or pulled"),
        (["deploy", "--dir", "{dir}", "--project", "p", "--image", "--help"], "--image needs a value, got the option"),
        (["deploy", "--dir", "{dir}", "--project", "p", "--image", "x", "--migrate-timeout", "0"],
         "--migrate-timeout '0'"),
        (["deploy", "--dir", "{dir}", "--project", "p", "--image", "x", "--timeout", "9" * 20],
         f"--timeout '{'9' * 20}': expected a number of seconds from 1 to 86400"),
        (["deploy", "--dir", "{dir}", "--project", "p", "--image", "x", "--keep", "101"],
         "--keep '101': expected a number of images from 1 to 100"),
    ],
)
def test_bad_arguments_exit_2_naming_the_problem(tmp_path, docker_engine, argv, message):
    (tmp_path / "docker-compose.yml").write_text(
        (docker_env.WORKLOAD / "docker-compose.yml").read_text()
    )
    argv = [arg.replace("{dir}", str(tmp_path)) for arg in argv]
    result = subprocess.run([str(HOST_DEPLOY), *argv], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2
    assert message in result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["result"] == ("pull_failed" if "pulled" in message else "refused")
    assert message in report.get("message", result.stderr) and report["verified"] is False


def test_a_usage_error_in_a_directory_with_state_is_audited(tmp_path, docker_engine):
    app = make_project(tmp_path / "app", "usage-audited")
    (app.dir / ".deploy").mkdir()
    result = app.deploy("x", "--keep", "none")
    assert result.code == 2 and result.report["message"] == "--keep 'none': expected a number of images from 1 to 100"
    assert last_audit(app)["result"] == "refused"
    assert sorted(path.name for path in (app.dir / ".deploy").iterdir()) == ["audit.log"]


def test_the_tests_run_the_compose_version_provisioned_hosts_install(docker_engine):
    found = docker_env.host("compose", "version", "--short").stdout.strip()
    assert f"v{found}" == cloud_init.COMPOSE_VERSION


def test_compose_v1_is_refused_up_front_naming_what_was_found(tmp_path, docker_engine):
    assert shutil.which("docker-compose"), "Debian's docker-compose (v1) is installed by scripts/setup"
    v1 = docker_env.run("docker-compose", "version", "--short").stdout.strip()
    assert v1.startswith("1.")
    app = make_project(tmp_path / "app", "compose-v1")
    no_plugin = tmp_path / "docker-config-without-compose"
    no_plugin.mkdir()
    result = app.deploy("x", env={"DOCKER_CONFIG": str(no_plugin)})
    assert result.code == 2
    assert f"docker compose v2 is required, found docker-compose {v1}: install the compose v2 plugin" in result.stderr
    assert not (app.dir / ".deploy").exists()  # refused before anything was written


# ---------------------------------------------------------------- faults (docs/host-deploy.md, "Faults")

def one_off_containers(app: HostProject) -> list[str]:
    return docker_env.host("ps", "-aq", "--filter", f"label=com.docker.compose.project={app.name}",
                          "--filter", "label=com.docker.compose.oneoff=True").stdout.split()


def wait_for_migration(app: HostProject, deploy: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not one_off_containers(app):
        assert deploy.poll() is None and time.monotonic() < deadline, "the migration never started"
        time.sleep(0.1)


def running_images(app: HostProject) -> set[str]:
    """The images of the project's service containers (not its migration's)."""
    containers = docker_env.host("ps", "-aq", "--filter", f"label=com.docker.compose.project={app.name}",
                                 "--filter", "label=com.docker.compose.oneoff=False").stdout.split()
    inspected = docker_env.host("inspect", "--format", "{{.Image}}", *containers, check=False)
    return set(inspected.stdout.split()) if containers else set()


def last_audit(app: HostProject) -> dict:
    return json.loads((app.dir / ".deploy" / "audit.log").read_text().splitlines()[-1])


@pytest.mark.parametrize(("signum", "group"), [(signal.SIGHUP, True), (signal.SIGTERM, False), (signal.SIGINT, True)])
def test_a_deploy_interrupted_mid_migration_restores_and_verifies_what_ran(project, images, signum, group):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    deploy = app.run("deploy", "--image", images["slow"], "--timeout", "60", background=True)
    wait_for_migration(app, deploy)
    if group:  # a dropped SSH session hangs up the whole group
        os.killpg(deploy.pid, signum)
    else:
        os.kill(deploy.pid, signum)
    stdout, _ = deploy.communicate(timeout=120)
    assert deploy.returncode == 5
    assert json.loads(stdout.splitlines()[-1])["result"] == "interrupted_restored"
    assert last_audit(app)["result"] == "interrupted_restored"
    assert state(app)["current"] == images["v1"]
    assert_running_on(app.run("status"), images["v1"])
    assert app.container_ids() == before
    assert one_off_containers(app) == []
    assert app.deploy(images["v2"]).code == 0  # the lock is free


def test_a_deploy_hung_up_during_the_health_gate_restores_and_verifies_what_ran(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    deploy = app.run("deploy", "--image", images["unhealthy"], "--timeout", "60", background=True)
    new_image, deadline = images["unhealthy"], time.monotonic() + 60
    while not (image_present(new_image) and image_id(new_image) in running_images(app)):
        assert deploy.poll() is None and time.monotonic() < deadline, "the new image never started"
        time.sleep(0.1)
    os.killpg(deploy.pid, signal.SIGHUP)  # still "starting": the gate is waiting
    stdout, _ = deploy.communicate(timeout=120)
    assert deploy.returncode == 5
    assert json.loads(stdout.splitlines()[-1])["result"] == "interrupted_restored"
    assert_running_on(app.run("status"), images["v1"])
    assert "interrupted by SIGHUP" in (app.dir / ".deploy" / "interrupted.log").read_text()


def test_a_hanging_migration_is_stopped_and_removed_and_the_lock_freed(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    result = app.deploy(images["slow"], "--migrate-timeout", "1")
    assert result.code == 4, result.stderr
    assert "still running after 1s" in result.stderr
    assert one_off_containers(app) == []
    assert_running_on(app.run("status"), images["v1"])
    assert app.deploy(images["v2"]).code == 0


def test_a_rollback_whose_target_fails_its_gate_restores_what_ran(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    assert app.deploy(images["v2"]).code == 0
    # The recorded previous image no longer passes its gate.
    (app.dir / ".deploy" / "state.json").write_text(json.dumps({**state(app), "previous": images["crash"]}))
    result = app.run("rollback", "--timeout", "60")
    assert result.code == 5, result.stderr
    assert result.report["result"] == "restored"
    assert_running_on(app.run("status"), images["v2"])


def test_an_unwritable_state_is_found_before_anything_changes(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    audit = app.dir / ".deploy" / "audit.log"
    audit.unlink()
    audit.mkdir()  # cannot be appended to, whoever runs this (root included)
    result = app.deploy(images["v2"])
    assert result.code == 2
    assert "cannot write the state" in result.stderr and "nothing was changed" in result.stderr
    assert app.container_ids() == before


def test_compose_settings_in_env_do_not_steer_what_runs(project, images):
    app = project()
    with (app.dir / ".env").open("a") as env_file:
        env_file.write("COMPOSE_PROFILES=migrate\nCOMPOSE_PROJECT_NAME=hijacked\n")
    assert app.deploy(images["v1"]).code == 0
    assert set(app.container_ids()) == {"miner", "classifier"}
    assert app.run("status").code == 0


def test_status_fails_when_a_service_runs_another_image(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    subprocess.run(["docker", "compose", "-p", app.name, "up", "-d", "--no-deps", "miner"], cwd=app.dir,
                   env={**os.environ, **app.host_env(), "IMAGE": images["v2"]}, capture_output=True, check=True)
    deadline = time.monotonic() + 60
    while "(healthy)" not in docker_env.host("ps", "--filter", f"id={app.container_ids()['miner']}",
                                             "--format", "{{.Status}}").stdout:
        assert time.monotonic() < deadline, "the miner on v2 never turned healthy"
        time.sleep(0.5)
    status = app.run("status")  # every service running and healthy: only the image is wrong
    assert status.code == 1
    assert status.report["verified"] is False
    assert status.report["services"]["miner"]["image_id"] == image_id(images["v2"])


def test_status_fails_when_a_service_was_stopped(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    docker_env.host("stop", app.container_ids()["classifier"])
    status = app.run("status")
    assert status.code == 1
    assert status.report["services"]["classifier"]["state"] == "exited"


def without_healthchecks(app: HostProject) -> None:
    compose = app.dir / "docker-compose.yml"
    text = compose.read_text()
    healthcheck = text[text.index("    healthcheck:"):text.index("  classifier:")]
    compose.write_text(text.replace(healthcheck, "    healthcheck:\n      disable: true\n"))


def test_a_service_without_healthcheck_that_crashes_soon_after_start_fails_the_gate(project, images):
    app = project()
    without_healthchecks(app)
    assert app.deploy(images["v1"], "--soak", "4").code == 0
    result = app.deploy(images["crash-later"], "--soak", "4")
    assert result.code == 5, result.stderr
    assert "health gate:" in result.stderr
    assert_running_on_image(app, images["v1"])


def test_status_counts_a_restart_since_the_deploy_as_unhealthy(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    miner = app.container_ids()["miner"]
    # It exits, and its restart policy brings it back; the exec may be killed with it (137).
    docker_env.host("exec", miner, "sh", "-c", "kill 1", check=False)
    deadline = time.monotonic() + 60
    while docker_env.host("inspect", "--format", "{{.RestartCount}}", miner).stdout.strip() == "0":
        assert time.monotonic() < deadline, "the container was never restarted"
        time.sleep(0.2)
    status = app.run("status")
    assert status.code == 1
    assert "miner restarted 1 times since the deploy" in status.stderr


def assert_running_on_image(app: HostProject, ref: str) -> None:
    report = app.run("status").report
    assert report["image"] == ref and report["verified"] is True


# ---------------------------------------------------------------- how production ends a run (issue: host faults)

def audits(app: HostProject) -> list[dict]:
    audit = app.dir / ".deploy" / "audit.log"
    return [json.loads(line) for line in audit.read_text().splitlines()] if audit.exists() else []


def wait_for_audit(app: HostProject, count: int, timeout: float = 120) -> dict:
    """The audit line of a run that goes on with nobody watching."""
    deadline = time.monotonic() + timeout
    while len(audits(app)) < count:
        assert time.monotonic() < deadline, "the run never audited its end"
        time.sleep(0.2)
    return audits(app)[-1]


def assert_one_verified_version(app: HostProject, ref: str) -> None:
    status = app.run("status")
    assert status.code == 0, status.stderr
    assert_running_on(status, ref)
    states = docker_env.host("ps", "-a", "--filter", f"label=com.docker.compose.project={app.name}",
                             "--format", "{{.State}}").stdout.split()
    assert states == ["running", "running"]  # no container of the old version left behind


@pytest.fixture
def ssh_host(tmp_path, docker_engine):
    """A real sshd whose sessions reach the test host's engine, as a deploy over SSH does."""
    host = sshd_host.start_sshd(tmp_path / "sshd", session_env={
        **docker_env.host_env(tmp_path / "sshd" / "docker-config"), "PATH": os.environ["PATH"],
        "DEPLOY_ACTOR": "ssh-client"})
    yield host
    host.stop()


def test_a_deploy_whose_ssh_client_is_killed_without_a_terminal_finishes_verified(project, images, ssh_host,
                                                                                  tmp_path):
    # pulumi-command runs commands without a terminal: when the client dies,
    # sshd closes the session and host-deploy gets no SIGHUP, only failing writes.
    app = project()
    assert app.deploy(images["v1"]).code == 0
    key = tmp_path / "client_key"
    key.write_text(ssh_host.private_key)
    key.chmod(0o600)
    command = shlex.join([str(HOST_DEPLOY), "deploy", "--dir", str(app.dir), "--project", app.name,
                          "--image", images["slow"], "--timeout", "60"])
    client = subprocess.Popen(["ssh", "-T", "-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                               "-o", "UserKnownHostsFile=/dev/null", "-p", str(ssh_host.port),
                               f"{ssh_host.user}@127.0.0.1", command],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for_migration(app, client)
    client.kill()
    client.communicate(timeout=30)
    audit = wait_for_audit(app, 2)
    assert (audit["result"], audit["image"]) == ("deployed", images["slow"])
    assert_one_verified_version(app, images["slow"])
    last_run = app.run("status").report["last_run"]
    assert (last_run["result"], last_run["verified"]) == ("deployed", True)
    assert "running migrations with" in (app.dir / ".deploy" / "last.log").read_text()


def test_a_deploy_whose_output_is_closed_early_finishes_verified(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    command = shlex.join([str(HOST_DEPLOY), "deploy", "--dir", str(app.dir), "--project", app.name,
                          "--image", images["v2"], "--timeout", "60"])
    subprocess.run(["bash", "-c", f"{command} 2>&1 | head -n 1"], env={**os.environ, **app.host_env()},
                   capture_output=True, check=True, timeout=300)
    audit = wait_for_audit(app, 2)
    assert (audit["result"], audit["image"]) == ("deployed", images["v2"])
    assert_one_verified_version(app, images["v2"])


def test_down_hung_up_midway_takes_the_project_down_and_audits(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    down = app.run("down", background=True)
    deadline = time.monotonic() + 60
    while not app.holds_lock(down):
        assert time.monotonic() < deadline and down.poll() is None, "down never took the lock"
        time.sleep(0.05)
    os.killpg(down.pid, signal.SIGHUP)
    down.communicate(timeout=120)
    assert app.container_ids() == {}
    assert last_audit(app)["result"] == "stopped"


def test_a_refused_deploy_leaves_an_audit_line_and_a_report(project, images):
    app = project()
    holder = app.start_holding_lock(images["slow"])
    locked = app.deploy(images["v1"])
    holder.communicate(timeout=300)
    assert locked.code == 3
    assert locked.report["result"] == "locked"
    unreachable = app.deploy("nosuch.invalid/app@sha256:" + "0" * 64)
    assert unreachable.code == 2
    assert unreachable.report["result"] == "pull_failed"
    results = [line["result"] for line in audits(app)]
    assert "locked" in results and results[-1] == "pull_failed"


def test_a_symlinked_dir_is_the_same_project_for_deploy_and_down(project, images, tmp_path):
    app = project()
    link = tmp_path / "link-to-app"
    link.symlink_to(app.dir)
    through_link = HostProject(link, app.name)
    assert through_link.deploy(images["v1"]).code == 0
    assert app.run("status").code == 0  # the real path sees what the link deployed
    assert app.deploy(images["v2"]).code == 0  # compose records the directory it ran in
    result = through_link.run("down", "--purge", "--from-stack")
    assert result.code == 0, result.stderr
    assert app.container_ids() == {}
    assert not (app.dir / ".env").exists()


def test_a_tag_and_digest_reference_is_verified_by_its_digest(project, images):
    repository, _, digest = images["v1"].partition("@")
    ref = f"{repository}:ok-1@{digest}"
    app = project()
    result = app.deploy(ref)
    assert result.code == 0, result.stderr
    assert result.report["verified"] is True and result.report["digest"] == digest


def test_an_ecr_deploy_with_home_unset_logs_in_and_verifies(project, ecr_images, moto, tmp_path):
    app = project()
    env = {**aws_cli_env(moto, tmp_path / "docker-config", **HOST_KEYS), "HOME": None}
    result = app.deploy(ecr_images["v1"], env=env)
    assert result.code == 0, result.stderr
    assert_running_on(result, ecr_images["v1"])


def test_a_rerun_after_a_kill_mid_up_does_not_migrate_the_same_image_again(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    deploy = app.run("deploy", "--image", images["v2"], "--timeout", "60", background=True)
    deadline = time.monotonic() + 60
    while not (image_present(images["v2"]) and image_id(images["v2"]) in running_images(app)):
        assert time.monotonic() < deadline and deploy.poll() is None, "the new version never started"
        time.sleep(0.05)
    os.killpg(deploy.pid, signal.SIGKILL)  # mid-`up` or in the gate: no trap runs
    deploy.communicate(timeout=60)
    assert app.migrations() == ["1", "2"]
    result = app.deploy(images["v2"])
    assert result.code == 0, result.stderr
    assert app.migrations() == ["1", "2"]


def test_a_state_write_failing_after_a_verified_switch_says_what_runs(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    (app.dir / ".deploy" / "state.json.tmp").mkdir()  # every state write fails; the lock's probe does not
    result = app.deploy(images["v2"])
    assert result.code == 6, result.stderr
    assert "could not be written: current is stale" in result.stderr
    assert (result.report["result"], result.report["verified"]) == ("state_unwritable", True)
    assert result.report["image"] == images["v2"]
    assert {service["image_id"] for service in result.report["services"].values()} == {image_id(images["v2"])}



def test_status_fails_when_a_running_service_turns_unhealthy(project, images):
    app = project()
    compose = app.dir / "docker-compose.yml"
    compose.write_text(compose.read_text().replace('test: ["CMD", "/app.sh", "health"]',
                                                   'test: ["CMD", "sh", "-c", "test ! -f /data/sick"]'))
    assert app.deploy(images["v1"]).code == 0
    volume = docker_env.host("volume", "inspect", "--format", "{{.Mountpoint}}", f"{app.name}_data").stdout.strip()
    (Path(volume) / "sick").touch()
    deadline = time.monotonic() + 60
    while "unhealthy" not in docker_env.host("ps", "--filter", f"label=com.docker.compose.project={app.name}",
                                             "--format", "{{.Status}}").stdout:
        assert time.monotonic() < deadline, "the services never turned unhealthy"
        time.sleep(0.5)
    status = app.run("status")
    assert status.code == 1
    assert status.report["verified"] is False
    assert {service["state"] for service in status.report["services"].values()} == {"running"}


def test_an_image_built_for_another_architecture_is_refused_before_anything_changes(project, images, registry,
                                                                                   run_id):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    before = app.container_ids()
    host_architecture = docker_env.host("version", "--format", "{{.Server.Arch}}").stdout.strip()
    other = "arm64" if host_architecture != "arm64" else "amd64"
    ref = docker_env.push_foreign_image(registry, f"host-deploy-foreign-{run_id}", other)
    result = app.deploy(ref)
    assert result.code == 2, result.stderr
    assert f"is built for linux/{other}, this host runs linux/{host_architecture}" in result.stderr
    assert result.report["result"] == "wrong_platform"
    assert app.container_ids() == before and app.migrations() == ["1"]
    assert_running_on(app.run("status"), images["v1"])


def wait_for_the_gate(app: HostProject, deploy: subprocess.Popen, ref: str, engine: dict[str, str]) -> None:
    """Until both services run REF (by image ID: `docker ps` shows no digest): the deploy is in its gate."""
    def docker(*args: str) -> list[str]:
        done = subprocess.run(["docker", *args], env={**os.environ, **engine}, capture_output=True, text=True,
                              check=False)
        return done.stdout.split()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and deploy.poll() is None:
        expected = docker("image", "inspect", "--format", "{{.Id}}", ref)
        ids = docker("ps", "-q", "--filter", f"label=com.docker.compose.project={app.name}",
                     "--filter", "label=com.docker.compose.oneoff=False")
        if expected and len(ids) == 2 and docker("inspect", "--format", "{{.Image}}", *ids) == expected * 2:
            return
        time.sleep(0.2)
    pytest.fail(f"{ref} never started: {deploy.stderr.read() if deploy.poll() is not None else 'still deploying'}")


FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"  # Debian's faketime


def with_long_start_period(app: HostProject) -> None:
    """Health `starting` until the first passing check: without a start period,
    3 failing checks (3 s) turn a slow starter unhealthy; an unhealthy image
    then stays `starting` and only the gate's deadline ends its gate."""
    compose = app.dir / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("retries: 3\n", "retries: 3\n      start_period: 600s\n"))


@pytest.mark.parametrize(("image", "step", "code", "result"), [
    ("slow-start", "+2h", 0, "deployed"),  # a forward step must not end a gate that is about to pass
    ("unhealthy", "-2h", 5, "rolled_back"),  # nor a backward one stretch a gate that ends at its deadline
])
def test_a_wall_clock_step_during_the_health_gate_moves_neither_its_deadline_nor_the_audit(
        project, images, tmp_path, image, step, code, result):
    assert Path(FAKETIME).exists(), "faketime is installed by scripts/setup"
    app = project()
    with_long_start_period(app)
    assert app.deploy(images["v1"]).code == 0
    clock = tmp_path / "wall-clock"
    clock.write_text("+0\n")
    # libfaketime moves what date and gettimeofday say, read anew from CLOCK on every call.
    stepped = {"LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_NO_CACHE": "1"}
    deploy = app.run("deploy", "--image", images[image], "--timeout", "20", background=True, env=stepped)
    wait_for_the_gate(app, deploy, images[image], app.host_env())
    clock.write_text(f"{step}\n")
    out, err = deploy.communicate(timeout=120)
    assert deploy.returncode == code, err
    assert json.loads(out.splitlines()[-1])["result"] == result
    assert 0 <= last_audit(app)["seconds"] < 60


def services(command: str) -> None:
    """Run COMMAND with scripts/services.sh's functions, as CI does."""
    subprocess.run(["bash", "-c", f"source scripts/services.sh && {command}"], cwd=REPO, check=True, timeout=120)


RESTARTED_ENGINE = "start_host_engine restart-docker wm-restart0 10.213.254.1/24"


@pytest.fixture
def restartable_engine(docker_engine) -> dict[str, str]:
    """A Docker engine of the test's own (scripts/services.sh), to restart
    without disturbing the tests that use the test host's engine."""
    services(RESTARTED_ENGINE)
    yield {"DOCKER_HOST": f"unix://{os.environ.get('CI_LOG_DIR', '/tmp/whatsapp-miner-ci')}/restart-docker/docker.sock"}
    services("stop_host_engine restart-docker")


def test_an_engine_restart_during_the_health_gate_is_waited_for_and_what_it_brings_back_verified(
        tmp_path, images, restartable_engine, run_id):
    app = make_project(tmp_path / "app", f"hd-{run_id}-restart")
    with_long_start_period(app)
    engine = {**app.host_env(), **restartable_engine}
    try:
        assert app.deploy(images["v1"], env=restartable_engine).code == 0
        deploy = app.run("deploy", "--image", images["slow-start"], "--timeout", "90", background=True,
                         env=restartable_engine)
        wait_for_the_gate(app, deploy, images["slow-start"], engine)  # healthy 5 s after it starts
        services(f"stop_host_engine restart-docker && {RESTARTED_ENGINE}")
        out, err = deploy.communicate(timeout=180)
        assert deploy.returncode == 0, err
        assert "the Docker engine is not answering: waiting for it" in err and "the Docker engine is back" in err
        report = json.loads(out.splitlines()[-1])
        assert report["verified"] is True and report["image"] == images["slow-start"]
        status = app.run("status", env=restartable_engine)
        assert status.code == 0 and status.report["image"] == images["slow-start"], status.stderr
    finally:
        docker_env.compose_down(app.name, app.dir, engine)


def test_every_character_of_a_message_survives_the_json_report(tmp_path):
    odd = tmp_path / 'a "quoted"\\path\twith a tab, ünïcode and a\nnewline'
    result = subprocess.run([str(HOST_DEPLOY), "status", "--dir", str(odd), "--project", "p"],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert json.loads(result.stdout.splitlines()[-1])["message"] == f"--dir {odd}: no docker-compose.yml there"


def test_an_older_versions_state_files_are_read_into_the_state_once(project, images):
    app = project()
    assert app.deploy(images["v1"]).code == 0
    assert app.deploy(images["v2"]).code == 0
    recorded = state(app)
    (app.dir / ".deploy" / "state.json").unlink()
    for name, value in recorded.items():  # one file per value, as host-deploy kept them before
        (app.dir / ".deploy" / name).write_text(value + "\n")
    result = app.deploy(images["v2"])
    assert result.code == 0, result.stderr
    assert result.report["result"] == "unchanged" and result.report["previous_image"] == images["v1"]
    assert {name: value for name, value in state(app).items() if name != "lock.owner"} == {
        name: value for name, value in recorded.items() if name != "lock.owner"}
    assert not any((app.dir / ".deploy" / name).exists() for name in recorded)


def test_the_callers_shell_settings_change_no_path_and_no_compose_call(project, images):
    app = project()
    # compose would prefer this file, and these settings would steer every compose call.
    (app.dir / "compose.yaml").write_text("services:\n  intruder:\n    image: ${IMAGE}\n")
    decoy = app.dir.parent / "decoy"
    (decoy / app.dir.name).mkdir(parents=True)  # where `cd app` would go with CDPATH
    steering = {"CDPATH": str(decoy), "COMPOSE_FILE": "compose.yaml",
                "COMPOSE_PROFILES": "migrate", "COMPOSE_PROJECT_NAME": "intruder"}
    argv = [str(HOST_DEPLOY), "deploy", "--dir", app.dir.name, "--project", app.name, "--image", images["v1"]]
    done = subprocess.run(argv, cwd=app.dir.parent, env={**os.environ, **app.host_env(), **steering},
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])  # CDPATH would also have printed a directory
    assert report["verified"] is True and set(report["services"]) == {"miner", "classifier"}
    assert set(app.container_ids()) == {"miner", "classifier"}  # no migrate, no intruder
