"""Benchmark: `pulumi up` for an app change beside the old scripts' flow done by hand.

On this machine, in one run, against the rehearsal's host (a test-owned sshd
in front of the test host's Docker engine, which pulls everything it runs),
the ECR stand-ins and the real Pulumi CLI with the tests' stand-in plugins:

- an app change deployed with `pulumi up` on a dev stack (build, push, tag,
  copy the files, host-deploy over SSH, as the program declares them);
- the same change deployed the way the old scripts did it, by hand: `docker
  build`, ECR login and `docker push`, `scp` of the compose file and the host
  tool, then host-deploy over `ssh`, into a project of its own on the same host;
- a no-op `pulumi up` and a `pulumi preview`.

Each is run ROUNDS times, alternating, and the median kept (2 cores make
single runs noisy). Writes bench/results/end-to-end.json. Needs what the
tests need: run it through `bash scripts/test`'s environment, or start
scripts/services.sh with DOCKER_CONFIG holding the compose plugin and the
Pulumi CLI on PATH.
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
from collections.abc import Callable
from pathlib import Path

from tests.support import docker_env, sshd_host
from tests.support.pulumi_cli import ROOT, PulumiProject, copy_program, require_cli

RESULTS = ROOT / "bench" / "results" / "end-to-end.json"
ROUNDS = 3
GOAL = 1.2  # `pulumi up` at most this many times the manual flow
AWS_KEYS = {"AWS_ACCESS_KEY_ID": "AKIABENCH", "AWS_SECRET_ACCESS_KEY": "bench-secret",
            "AWS_DEFAULT_REGION": "us-east-1"}
CHANGED_FILE = "app/classifier.py"
CHANGED_LINE = '"greeting": ("hello",'


def timed(action: Callable[[], object]) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def change_app(program: Path, label: str) -> None:
    """A code change that gives the image a new digest."""
    source = program / CHANGED_FILE
    text = source.read_text()
    assert CHANGED_LINE in text
    source.write_text(text.replace(CHANGED_LINE, f'{CHANGED_LINE} "{label}",', 1))


class ManualFlow:
    """The old scripts' full deploy, step by step, into its own project."""

    def __init__(self, work: Path, host: sshd_host.SshHost, repository_url: str, python_base: str, moto: str):
        self.program = copy_program(work / "manual-program")
        self.host, self.repository_url, self.python_base, self.moto = host, repository_url, python_base, moto
        self.host_dir = work / "host" / "manual"
        self.project = f"bench-manual-{uuid.uuid4().hex[:6]}"
        self.docker_config = work / "manual-docker-config"
        key = work / "manual-ssh-key"
        key.write_text(host.private_key)
        key.chmod(0o600)
        self.ssh_options = ["-i", str(key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"]
        self.ssh("mkdir -p " + str(self.host_dir / ".deploy"))
        credentials = "".join(f"export {name}='{value}'\n" for name, value in AWS_KEYS.items())
        self.ssh(f"umask 077 && cat > {self.host_dir}/.deploy/aws-credentials", stdin=credentials)
        self.ssh(f"umask 077 && cat > {self.host_dir}/.env", stdin="ENV_NAME=bench\n")

    def ssh(self, command: str, stdin: str | None = None) -> None:
        docker_env.run("ssh", *self.ssh_options, "-p", str(self.host.port), f"{self.host.user}@127.0.0.1", command,
                       input=stdin)

    def deploy(self) -> None:
        tag = f"{self.repository_url}:manual-{uuid.uuid4().hex[:8]}"
        docker_env.run("docker", "build", "--quiet", "--build-arg", f"BASE_IMAGE={self.python_base}", "-t", tag,
                       str(self.program))
        env = {**os.environ, **AWS_KEYS, "AWS_ENDPOINT_URL": self.moto, "DOCKER_CONFIG": str(self.docker_config)}
        password = docker_env.run("aws", "ecr", "get-login-password", env=env).stdout
        registry = tag.partition("/")[0]
        docker_env.run("docker", "login", "--username", "AWS", "--password-stdin", registry, input=password, env=env)
        docker_env.run("docker", "push", "--quiet", tag, env=env)
        digests = docker_env.run("docker", "image", "inspect", "--format",
                                 "{{range .RepoDigests}}{{println .}}{{end}}", tag).stdout.split()
        ref = next(line for line in digests if line.startswith(self.repository_url + "@"))
        docker_env.run("scp", *self.ssh_options, "-P", str(self.host.port),
                       str(self.program / "docker-compose.yml"), str(self.program / "host" / "host-deploy"),
                       f"{self.host.user}@127.0.0.1:{self.host_dir}/")
        self.ssh(f". {self.host_dir}/.deploy/aws-credentials && bash {self.host_dir}/host-deploy deploy "
                 f"--dir {self.host_dir} --project {self.project} --image {ref} --timeout 90")

    def down(self) -> None:
        self.ssh(f"bash {self.host_dir}/host-deploy down --dir {self.host_dir} --project {self.project} "
                 "--purge --volumes")


def dev_stack(work: Path, host: sshd_host.SshHost, python_base: str, moto: str) -> tuple[PulumiProject, str]:
    """The registry stack and a dev stack (the rehearsal's stack file), both up."""
    env_name = f"bench-{uuid.uuid4().hex[:6]}"
    cli = PulumiProject(copy_program(work / "program"), work / "state", environ={
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY_ID": AWS_KEYS["AWS_ACCESS_KEY_ID"],
        "AWS_IAM_WHATSAPP_MINER_ACCESS_KEY": AWS_KEYS["AWS_SECRET_ACCESS_KEY"],
        "AWS_EC2_REGION": AWS_KEYS["AWS_DEFAULT_REGION"],
        "AWS_ENDPOINT_URL": moto,
        "SSH_PRIVATE_KEY": host.private_key,
        "WHATSAPP_API_TOKEN": "bench-token",
        "GREETING": "hello",
    })
    shutil.copy(ROOT / "Pulumi.registry.yaml", cli.workdir / "Pulumi.registry.yaml")
    cli.init("registry", {"whatsapp-miner:repositoryName": f"whatsapp-miner-{env_name}",
                          "whatsapp-miner:environmentTags": json.dumps([env_name])})
    cli.up("registry")
    shutil.copy(ROOT / "tests" / "rehearsal" / "Pulumi.rehearsal.yaml", cli.workdir / "Pulumi.bench.yaml")
    cli.init("bench", sshd_host.stack_config(host, python_base, env_name, work / "host" / env_name))
    cli.up("bench")
    return cli, cli.outputs("registry")["repositoryUrl"]


def median(seconds: list[float]) -> dict:
    return {"seconds": round(statistics.median(seconds), 2), "runs": [round(value, 2) for value in seconds]}


def main() -> None:
    docker_env.require_docker()
    require_cli()
    moto = docker_env.moto_endpoint()
    docker_env.ecr_standin_registry()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        python_base = sshd_host.python_base_image(work / "debootstrap")
        host = sshd_host.start_rehearsal_host(work / "sshd", moto)
        cli, repository_url = dev_stack(work, host, python_base, moto)
        manual = ManualFlow(work, host, repository_url, python_base, moto)
        manual.deploy()  # both start from a deployed version
        ups, manuals = [], []
        try:
            for round_number in range(ROUNDS):
                change_app(cli.workdir, f"pulumi-{round_number}")
                ups.append(timed(lambda: cli.up("bench")))
                change_app(manual.program, f"manual-{round_number}")
                manuals.append(timed(manual.deploy))
            noops = [timed(lambda: cli.up("bench")) for _ in range(ROUNDS)]
            previews = [timed(lambda: cli.preview("bench")) for _ in range(ROUNDS)]
        finally:
            cli.destroy("bench")
            manual.down()
            host.stop()
    results = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "compose": docker_env.host("compose", "version", "--short").stdout.strip(),
                    "pulumi": subprocess.run(["pulumi", "version"], capture_output=True, text=True,
                                             check=True).stdout.strip()},
        "app_change": {"pulumi_up": median(ups), "manual_old_scripts_flow": median(manuals)},
        "noop_pulumi_up": median(noops),
        "pulumi_preview": median(previews),
    }
    ratio = results["app_change"]["pulumi_up"]["seconds"] / results["app_change"]["manual_old_scripts_flow"]["seconds"]
    results["app_change"]["ratio"] = round(ratio, 2)
    results["app_change"]["goal"] = f"pulumi up at most {GOAL}x the manual flow"
    results["app_change"]["goal_met"] = ratio <= GOAL
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
