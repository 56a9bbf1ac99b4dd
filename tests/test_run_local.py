"""scripts/run-local on a machine that cannot download what the main job needs:
each stop names the missing piece and the ways to provide it, instead of a
bare `curl: (6)` or the CLI's own plugin error. No network: the machine is a
copy of the scripts with stand-ins on PATH for curl, docker, dpkg and pulumi."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import docs

ROOT = docs.ROOT
SDK = next(line.split("==")[1] for line in (ROOT / "requirements.txt").read_text().splitlines()
           if line.startswith("pulumi=="))
# Debian's tools the scripts use; nothing else (no pulumi) is on the machine's PATH.
TOOLS = ("bash", "sed", "grep", "head", "tee", "mktemp", "rm", "dirname", "cat", "uname", "mkdir", "sha256sum", "tar")


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def machine(tmp_path):
    """A clone with the scripts it runs and a PATH of Debian tools plus stand-ins."""
    clone = tmp_path / "clone"
    (clone / "scripts").mkdir(parents=True)
    for name in ("run-local", "setup", "services.sh"):
        shutil.copy(ROOT / "scripts" / name, clone / "scripts" / name)
    shutil.copy(ROOT / "requirements.txt", clone)
    venv = clone / ".venv" / "bin"
    venv.mkdir(parents=True)
    for name in ("python", "pip"):  # the program's packages: installed already
        executable(venv / name, "#!/bin/sh\nexit 0\n")
    path = tmp_path / "bin"
    path.mkdir()
    for tool in TOOLS:
        (path / tool).symlink_to(shutil.which(tool))
    executable(path / "dpkg", "#!/bin/sh\nexit 0\n")  # every Debian package installed
    # Docker running, with compose v2: setup and run-local leave both alone.
    executable(path / "docker", '#!/bin/sh\n[ "$1 $2" = "compose version" ] && echo 2.39.2\nexit 0\n')
    # No network: as curl fails to resolve Pulumi's download site.
    executable(path / "curl", '#!/bin/sh\necho "curl: (6) Could not resolve host: get.pulumi.com" >&2\nexit 6\n')
    return clone, path


def run_local(clone: Path, path: Path) -> subprocess.CompletedProcess[str]:
    environ = {"PATH": str(path), "HOME": str(clone.parent), "CI_LOG_DIR": str(clone.parent / "logs")}
    return subprocess.run(["bash", str(clone / "scripts" / "run-local")], env=environ, capture_output=True,
                          text=True, timeout=60, check=False)


def test_without_a_cli_and_no_download_it_names_the_cli_and_the_ways_to_provide_it(machine):
    clone, path = machine
    assert shutil.which("pulumi", path=str(path)) is None
    result = run_local(clone, path)
    assert result.returncode == 6
    said = docs.flat(result.stderr)
    assert f"could not download the Pulumi CLI v{SDK}" in said
    assert "a Pulumi CLI on PATH: `bash scripts/pulumi-from-source` builds one" in said
    assert "run on a machine that can download it" in said
    assert not (clone / ".pulumi-cli").exists()


def test_a_cli_without_the_python_language_host_names_it_and_the_ways_to_provide_it(machine):
    clone, path = machine
    # A CLI like one from scripts/pulumi-from-source: no language host beside it, none to download.
    executable(path / "pulumi", """#!/bin/sh
[ "$1" = up ] || exit 0
echo "Updating (local):"
echo "error: failed to load language plugin python: no language plugin 'pulumi-language-python' found \
in the workspace or on your \\$PATH, install the plugin using \\`pulumi plugin install language python\\`" >&2
exit 255
""")
    result = run_local(clone, path)
    assert result.returncode == 255
    assert "Updating (local):" in result.stdout  # the CLI's own output still reaches the terminal
    said = docs.flat(result.stderr)
    assert "no language plugin 'pulumi-language-python' found" in said  # the CLI's error, kept
    assert f"the Pulumi CLI has no language plugin 'python' (pulumi-language-python, v{SDK})" in said
    assert "pulumi-language-python on PATH" in said
    assert f"`pulumi plugin install language python {SDK} --file <path>`" in said
    assert "run on a machine that can download it" in said


def test_a_resource_plugin_that_cannot_be_downloaded_is_named_with_its_pinned_version(machine):
    clone, path = machine
    executable(path / "pulumi", """#!/bin/sh
[ "$1" = up ] || exit 0
echo "error: could not load plugin for docker provider: no resource plugin 'pulumi-resource-docker' found \
in the workspace at version v5.2.0 or on your \\$PATH" >&2
exit 255
""")
    result = run_local(clone, path)
    assert result.returncode == 255
    said = docs.flat(result.stderr)
    docker = next(line.split("==")[1] for line in (ROOT / "requirements.txt").read_text().splitlines()
                  if line.startswith("pulumi-docker=="))
    assert f"`pulumi plugin install resource docker {docker} --file <path>`" in said


def test_the_local_target_page_gives_the_same_ways():
    for fact in ("bash scripts/pulumi-from-source", "pulumi plugin install <kind> <name> <version> --file <path>"):
        assert docs.mentions("target-local.md", fact), fact
