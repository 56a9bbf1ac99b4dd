"""The real Pulumi CLI on a copy of the program, with a file:// backend.

The CLI comes from scripts/pulumi-from-source (on PATH in scripts/test);
the plugins it cannot get here are the stand-ins in tests/standins, put on
PATH first, where the CLI looks for plugins. Everything the CLI prints is
kept, so tests can check that no secret ever shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import tiers

ROOT = Path(__file__).resolve().parents[2]
STANDINS = ROOT / "tests" / "standins" / "bin"
PROGRAM_FILES = ("__main__.py", "Pulumi.yaml", "Pulumi.local.yaml", "Dockerfile", ".dockerignore",
                 "docker-compose.yml", "app", "components", "host", "scripts")
STACK_FILES = ("Pulumi.local.yaml",)
PASSPHRASE = "rehearsal passphrase"


def require_cli() -> str:
    tiers.refuse_in_fast_tier("the Pulumi CLI", tiers.PULUMI_CLI)
    cli = shutil.which("pulumi")
    if cli is None:
        raise RuntimeError("the Pulumi CLI is not on PATH: run the tests with scripts/test "
                           "(it builds the CLI with scripts/pulumi-from-source)")
    return cli


def copy_program(destination: Path, revision: str | None = None) -> Path:
    """The program's files in DESTINATION, replacing any there (stack files
    stay), with the repository's virtualenv: the working tree's files, or
    those of REVISION, a commit of this repository."""
    destination.mkdir(parents=True, exist_ok=True)
    # A stack file there holds that stack's config, as a user's checkout does.
    names = [name for name in PROGRAM_FILES if not (name in STACK_FILES and (destination / name).exists())]
    for name in names:
        old = destination / name
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink(missing_ok=True)
    if revision is None:
        for name in names:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, destination / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source, destination / name)
    else:
        _extract(revision, destination, names)
    if not (destination / ".venv").exists():
        (destination / ".venv").symlink_to(ROOT / ".venv")
    return destination


def git(*args: str) -> bytes:
    """`git ARGS` in this repository, its stdout."""
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.decode().strip()} "
                           "(the tests need the repository's history: a full clone, not a shallow one)")
    return done.stdout


def _extract(revision: str, destination: Path, names: list[str]) -> None:
    """REVISION's files of NAMES (those it has) into DESTINATION, with git archive."""
    present = set(git("ls-tree", "--name-only", revision).decode().split()) & set(names)
    # Modes as a checkout makes them (this process's umask), as the image's context digest hashes them.
    subprocess.run(["tar", "-x", "--no-same-permissions", "-C", str(destination)],
                   input=git("archive", revision, *sorted(present)), check=True)


@dataclass
class PulumiProject:
    """One program copy and one state backend, driven through the CLI."""

    workdir: Path
    backend: Path
    environ: dict[str, str]
    """The whole environment the CLI (and so the program) sees, besides PATH and HOME."""
    transcript: list[str] = field(default_factory=list)
    last_events: list[dict] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(STANDINS), os.environ["PATH"]])
        # DOCKER_CONFIG: where this run's compose v2 plugin is (scripts/test), for the local stack.
        docker_config = {"DOCKER_CONFIG": os.environ["DOCKER_CONFIG"]} if "DOCKER_CONFIG" in os.environ else {}
        return {
            "PATH": path, "HOME": os.environ.get("HOME", "/root"), **docker_config,
            "PULUMI_HOME": str(self.backend / ".pulumi-home"),
            "PULUMI_BACKEND_URL": f"file://{self.backend}",
            "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_COPILOT": "false",
            **self.environ,
        }

    def run(self, *args: str, check: bool = True, timeout: int = 900) -> subprocess.CompletedProcess:
        done = subprocess.run(["pulumi", *args, "--non-interactive"], cwd=self.workdir, env=self.env(),
                              capture_output=True, text=True, check=False, timeout=timeout)
        self.transcript += [" ".join(args), done.stdout, done.stderr]
        if check and done.returncode != 0:
            raise PulumiError(args, done)
        return done

    def init(self, stack: str, config: dict[str, str]) -> None:
        self.backend.mkdir(parents=True, exist_ok=True)
        self.run("stack", "init", stack)
        for key, value in config.items():
            self.run("config", "set", "--stack", stack, key, value)

    def up(self, stack: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("up", "--stack", stack, "--yes", "--skip-preview", *args, check=check)

    def up_changes(self, stack: str, *args: str) -> dict[str, str]:
        """`pulumi up`, and what it did: {resource name: op} for each resource it changed.
        Its events stay in `last_events`."""
        self.last_events = [json.loads(line) for line in self.up(stack, "--json", *args).stdout.splitlines()
                            if line.strip()]
        done = [event["resOutputsEvent"]["metadata"] for event in self.last_events if "resOutputsEvent" in event]
        return _changes(done)

    def messages(self, name: str) -> list[str]:
        """What the last `up_changes` showed for resource NAME (diagnostics, progress lines)."""
        return [event["diagnosticEvent"]["message"] for event in self.last_events
                if event.get("diagnosticEvent", {}).get("urn", "").endswith(f"::{name}")]

    def preview_changes(self, stack: str, *args: str) -> dict[str, str]:
        """What `pulumi preview` plans: {resource name: op} for each resource it would change."""
        return _changes(json.loads(self.run("preview", "--stack", stack, "--json", *args).stdout).get("steps", []))

    def preview(self, stack: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run("preview", "--stack", stack, "--diff", *args, check=check)

    def destroy(self, stack: str, *args: str) -> subprocess.CompletedProcess:
        return self.run("destroy", "--stack", stack, "--yes", "--skip-preview", *args)

    def outputs(self, stack: str) -> dict:
        return json.loads(self.run("stack", "output", "--stack", stack, "--json").stdout)

    def secret_output(self, stack: str, name: str) -> str:
        return self.run("stack", "output", "--stack", stack, name, "--show-secrets").stdout.strip()

    def export(self, stack: str) -> dict:
        return json.loads(self.run("stack", "export", "--stack", stack).stdout)

    def urn(self, stack: str, name: str) -> str:
        resources = self.export(stack)["deployment"]["resources"]
        return next(r["urn"] for r in resources if r["urn"].endswith(f"::{name}"))

    def text(self) -> str:
        return "\n".join(self.transcript)


REPLACE_STEPS = ("replace", "create-replacement", "delete-replaced")


def _changes(steps: list[dict]) -> dict[str, str]:
    """{resource name: op}; the steps of one replacement count as one `replace`. A `--refresh`
    plan's refresh steps change nothing: what the refresh found shows in the steps after them."""
    changes: dict[str, str] = {}
    for step in steps:
        if step["op"] not in ("same", "read", "refresh"):
            name = step["urn"].rsplit("::", 1)[1]
            changes[name] = "replace" if step["op"] in REPLACE_STEPS else step["op"]
    return changes


class PulumiError(AssertionError):
    def __init__(self, args: tuple[str, ...], done: subprocess.CompletedProcess):
        output = done.stdout
        if "--json" in args:  # an event stream: its error diagnostics say what failed
            output = "\n".join(line for line in output.splitlines() if '"severity":"error"' in line)
        super().__init__(f"pulumi {' '.join(args)} exited {done.returncode}:\n{output}\n{done.stderr}")
        self.done = done
