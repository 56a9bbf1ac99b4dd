"""Real Docker fixtures for the tests: engine, registry and test images.

Nothing can be pulled from a public registry here, so the base image is
imported from Debian's busybox-static and every test image is built on it
and pushed to the local registry, which makes its reference a real digest.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import urllib.request
from pathlib import Path

WORKLOAD = Path(__file__).resolve().parent.parent / "fixtures" / "workload"
BUSYBOX = Path("/bin/busybox")
BUSYBOX_APPLETS = ("sh", "cat", "echo", "sleep", "test", "touch", "date", "env", "ls", "rm", "mkdir")
TEST_BASE = "whatsapp-miner-test-base:busybox"
ECR_API_HOST = "api.ecr.us-east-1.amazonaws.com"  # the ECR stand-in registry's region


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its stderr when it fails."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    check = kwargs.pop("check", True)
    result = subprocess.run(args, check=False, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def require_docker() -> None:
    """Fail (never skip) when the engine the tests need is not running."""
    if shutil.which("docker") is None:
        raise RuntimeError("docker is not installed: run the tests through scripts/test")
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        raise RuntimeError("the Docker engine is not running: run the tests through scripts/test")


def require_http(what: str, url: str) -> None:
    """Fail (never skip) when a service the tests need does not answer."""
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except OSError as error:
        raise RuntimeError(f"no {what} at {url} ({error}): run the tests through scripts/test") from error


def registry_address() -> str:
    """The local registry standing in for ECR."""
    address = os.environ.get("TEST_REGISTRY", "127.0.0.1:5000")
    require_http("registry", f"http://{address}/v2/")
    return address


def ecr_standin_host() -> str:
    """The ECR hostname the stand-in registry answers under."""
    return os.environ.get("TEST_ECR_REGISTRY", "123456789012.dkr.ecr.us-east-1.amazonaws.com")


def ecr_standin_registry() -> str:
    """A registry answering under an ECR hostname (see scripts/services.sh)."""
    host = ecr_standin_host()
    require_http("ECR stand-in registry", f"http://{host}/v2/")
    return host


def ecr_api_standin() -> str:
    """moto over TLS as ECR's API (see scripts/services.sh); returns the CA bundle that trusts it."""
    ca = os.environ.get("TEST_ECR_API_CA", "/tmp/whatsapp-miner-ci/ecr-api/cert.pem")
    if not Path(ca).is_file():
        raise RuntimeError(f"no ECR API stand-in certificate at {ca}: run the tests through scripts/test")
    url = f"https://{ECR_API_HOST}/moto-api/"
    try:
        urllib.request.urlopen(url, timeout=5, context=ssl.create_default_context(cafile=ca)).close()
    except OSError as error:
        raise RuntimeError(f"no ECR API stand-in at {url} ({error}): run the tests through scripts/test") from error
    return ca


def moto_endpoint() -> str:
    """moto in server mode: the AWS API for boto3 and the AWS CLI."""
    url = os.environ.get("TEST_AWS_ENDPOINT_URL", "http://127.0.0.1:5001")
    require_http("moto server", f"{url}/moto-api/")
    return url


def import_busybox_base() -> str:
    """Import a minimal image holding busybox-static and its applets."""
    if not BUSYBOX.exists():
        raise RuntimeError(f"{BUSYBOX} is missing: apt-get install busybox-static")
    with tempfile.TemporaryDirectory() as tmp:
        tar_path = Path(tmp) / "rootfs.tar"
        with tarfile.open(tar_path, "w") as tar:
            tar.add(BUSYBOX, arcname="bin/busybox")
            for applet in BUSYBOX_APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type = tarfile.SYMTYPE
                link.linkname = "busybox"
                tar.addfile(link)
            for directory in ("tmp", "data"):
                info = tarfile.TarInfo(directory)
                info.type = tarfile.DIRTYPE
                info.mode = 0o1777
                tar.addfile(info)
        run("docker", "import", str(tar_path), TEST_BASE)
    return TEST_BASE


def build_and_push(repository: str, mode: str = "ok", version: str = "1") -> str:
    """Build the test workload in MODE, push it, return `repo@sha256:...`."""
    tag = f"{repository}:{mode}-{version}"
    run(
        "docker", "build", "--quiet",
        "--build-arg", f"BASE_IMAGE={TEST_BASE}",
        "--build-arg", f"MODE={mode}",
        "--build-arg", f"VERSION={version}",
        "-t", tag, str(WORKLOAD),
    )
    ref = push(tag)
    run("docker", "image", "rm", tag)  # deploys must work from the digest alone
    return ref


def push(tag: str) -> str:
    """Push TAG (`repository:tag`) and return its `repository@sha256:...`."""
    run("docker", "push", tag)
    repository = tag.rsplit(":", 1)[0]
    digests = run("docker", "image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}", tag)
    return next(line for line in digests.stdout.split() if line.startswith(repository + "@"))
