"""Benchmark: host-deploy beside the naive `pull && down && up -d`.

Measures, on this machine and in the same run, wall time and container
restarts for a no-op redeploy and for a new-digest deploy (the naive flow
waits for every service to be healthy, as a deploy must), their ratio, and
the time until a crash-looping service is detected. Writes bench/results/host-deploy.json.
Both run on the test host's engine (scripts/services.sh), which holds no
image until it pulls it, with compose v2. Needs what the tests need (run
`bash scripts/test` once, or start scripts/services.sh yourself with
DOCKER_CONFIG holding the compose plugin).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.support import docker_env

ROOT = Path(__file__).resolve().parent.parent
HOST_DEPLOY = ROOT / "host" / "host-deploy"
RESULTS = ROOT / "bench" / "results" / "host-deploy.json"
HOST = {**os.environ, **docker_env.host_env()}


class Project:
    def __init__(self, root: Path, name: str):
        self.dir, self.name = root, name
        root.mkdir(parents=True)
        shutil.copy(docker_env.WORKLOAD / "docker-compose.yml", root / "docker-compose.yml")
        (root / ".env").write_text("ENV_NAME=bench\n")

    def containers(self) -> dict[str, tuple[str, int]]:
        """service -> (container id, restart count)."""
        ids = docker_env.host("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}")
        found = {}
        for container in ids.stdout.split():
            line = docker_env.host("inspect", "--format",
                                  '{{index .Config.Labels "com.docker.compose.service"}} {{.Id}} {{.RestartCount}}',
                                  container).stdout.split()
            found[line[0]] = (line[1], int(line[2]))
        return found

    def host_deploy(self, image: str) -> float:
        started = time.monotonic()
        subprocess.run([str(HOST_DEPLOY), "deploy", "--dir", str(self.dir), "--project", self.name,
                        "--image", image, "--timeout", "120"], env=HOST, capture_output=True, check=False)
        return time.monotonic() - started

    def naive(self, image: str) -> float:
        """pull, down, up -d, then wait until every service is healthy."""
        started = time.monotonic()
        env = {**HOST, "IMAGE": image}
        for step in (["pull", "--quiet"], ["down"], ["up", "-d"]):
            subprocess.run(["docker", "compose", "-p", self.name, *step], cwd=self.dir, env=env,
                           capture_output=True, check=False)
        self.wait_healthy()
        return time.monotonic() - started

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ids = docker_env.host("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}",
                                 "--filter", "label=com.docker.compose.oneoff=False").stdout.split()
            health = docker_env.host("inspect", "--format",
                                    "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
                                    *ids).stdout.split() if ids else []
            if health and all(status in ("healthy", "running") for status in health):
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not healthy after {timeout}s")

    def crash_detection(self, image: str) -> float | None:
        """Seconds from the start of the deploy (pull and migration included)
        until host-deploy reports the failing health gate."""
        started = time.monotonic()
        process = subprocess.Popen([str(HOST_DEPLOY), "deploy", "--dir", str(self.dir), "--project", self.name,
                                    "--image", image, "--timeout", "120"], env=HOST,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        detected = None
        for line in process.stderr:
            if detected is None and "health gate:" in line:
                detected = time.monotonic() - started
        process.wait()
        return detected

    def down(self) -> None:
        docker_env.compose_down(self.name, self.dir)


def restarts(before: dict, after: dict) -> int:
    """Containers recreated or restarted between two snapshots."""
    count = 0
    for service, (container, restart_count) in after.items():
        old = before.get(service)
        count += old is None or old[0] != container or restart_count > old[1]
    return count


def measure(project: Project, deploy, first: str, second: str, rounds: int = 5) -> dict:
    """Median wall time of ROUNDS no-op redeploys and ROUNDS switches between
    FIRST and SECOND (2 cores make single runs noisy); most restarts seen."""
    deploy(first)
    current, noop, new, noop_restarts, new_restarts = first, [], [], 0, 0
    for _ in range(rounds):
        before = project.containers()
        noop.append(deploy(current))
        after = project.containers()
        current = second if current == first else first
        new.append(deploy(current))
        noop_restarts = max(noop_restarts, restarts(before, after))
        new_restarts = max(new_restarts, restarts(after, project.containers()))
    return {
        "noop_redeploy": {"seconds": round(statistics.median(noop), 2), "restarts": noop_restarts, "runs": rounds},
        "new_digest": {"seconds": round(statistics.median(new), 2), "restarts": new_restarts, "runs": rounds},
    }


def naive_crash_detection(project: Project, good: str, crash: str) -> dict:
    """The naive path reports success whatever the new image does."""
    project.naive(good)
    env = {**HOST, "IMAGE": crash}
    up = subprocess.run(["docker", "compose", "-p", project.name, "up", "-d"], cwd=project.dir, env=env,
                        capture_output=True, check=False)
    return {"seconds": None, "exit_code": up.returncode, "note": "up -d exits 0; nothing watches the crash loop"}


def main() -> None:
    docker_env.require_docker()
    registry = docker_env.registry_address()
    docker_env.import_busybox_base()
    run_id = uuid.uuid4().hex[:8]
    repo = f"{registry}/bench-{run_id}"
    v1, v2, crash = (docker_env.build_and_push(repo, mode, version)
                     for mode, version in (("ok", "1"), ("ok", "2"), ("crash", "1")))
    with tempfile.TemporaryDirectory() as tmp:
        ours = Project(Path(tmp) / "ours", f"bench-{run_id}-ours")
        naive = Project(Path(tmp) / "naive", f"bench-{run_id}-naive")
        try:
            results = {
                "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                            "compose": docker_env.host("compose", "version", "--short").stdout.strip()},
                "host_deploy": measure(ours, ours.host_deploy, v1, v2),
                "naive_pull_down_up": measure(naive, naive.naive, v1, v2),
            }
            results["ratio_to_naive"] = {
                case: round(results["host_deploy"][case]["seconds"] / results["naive_pull_down_up"][case]["seconds"], 2)
                for case in ("noop_redeploy", "new_digest")
            }
            results["host_deploy"]["crash_detected_after"] = {"seconds": round(ours.crash_detection(crash), 2)}
            results["naive_pull_down_up"]["crash_detected_after"] = naive_crash_detection(naive, v1, crash)
        finally:
            ours.down()
            naive.down()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
