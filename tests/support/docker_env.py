"""Real Docker fixtures for the tests: engines, registries and test images.

Nothing can be pulled from a public registry here, so the base image is
imported from Debian's busybox-static and every test image is built on it
and pushed to the local registry, which makes its reference a real digest.

Two Docker engines run (scripts/services.sh): the build engine, where images
are built and pushed from, and the test host's engine, with its own data
root, which holds only what it pulled: every deploy there pulls what it
runs, as an EC2 host does.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import boto3

from tests.support import tiers

WORKLOAD = Path(__file__).resolve().parent.parent / "fixtures" / "workload"
BUSYBOX = Path("/bin/busybox")
BUSYBOX_APPLETS = ("sh", "cat", "echo", "sleep", "test", "touch", "date", "env", "ls", "rm", "mkdir")
TEST_BASE = "whatsapp-miner-test-base:busybox"
ECR_API_HOST = "api.ecr.us-east-1.amazonaws.com"  # the ECR stand-in registry's region
# What a provisioned host's instance role would give the ECR credential helper; moto accepts any.
INSTANCE_ROLE = {"AWS_ACCESS_KEY_ID": "AKIAHOSTROLE", "AWS_SECRET_ACCESS_KEY": "role-secret"}


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its stderr when it fails."""
    if args[0] == "docker":
        tiers.refuse_in_fast_tier("docker", tiers.SERVICES)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    check = kwargs.pop("check", True)
    result = subprocess.run(args, check=False, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}: {result.stderr}")
    return result


def require_docker() -> None:
    """Fail (never skip) when the engines or compose v2 the tests need are missing."""
    tiers.refuse_in_fast_tier("the Docker engines", tiers.SERVICES)
    if shutil.which("docker") is None:
        raise RuntimeError("docker is not installed: run the tests through scripts/test")
    for what, env in (("the Docker engine", {}), ("the test host's Docker engine", host_env())):
        if subprocess.run(["docker", "info"], env={**os.environ, **env}, capture_output=True,
                          check=False).returncode != 0:
            raise RuntimeError(f"{what} is not running: run the tests through scripts/test")
    version = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True,
                             check=False)
    if version.returncode != 0 or not version.stdout.startswith("2."):
        raise RuntimeError("the docker compose v2 plugin is not installed for this run: run the tests through "
                           "scripts/test (it builds it with scripts/compose-from-source)")


def host_env(docker_config: Path | None = None) -> dict[str, str]:
    """The environment of a command on the test host: its own engine, and a
    Docker config (DOCKER_CONFIG, default the run's own) with compose v2."""
    env = {"DOCKER_HOST": os.environ.get("TEST_HOST_DOCKER_HOST",
                                         "unix:///tmp/whatsapp-miner-ci/host-docker/docker.sock")}
    if docker_config is not None:
        env["DOCKER_CONFIG"] = str(with_compose_plugin(docker_config))
    return env


def compose_plugins() -> Path:
    """The run's CLI plugins directory, with compose v2 (scripts/test)."""
    return Path(os.environ.get("DOCKER_CONFIG", Path.home() / ".docker")) / "cli-plugins"


def with_compose_plugin(docker_config: Path) -> Path:
    """DOCKER_CONFIG with the run's compose plugin in it (Docker looks for
    CLI plugins in $DOCKER_CONFIG/cli-plugins first)."""
    docker_config.mkdir(parents=True, exist_ok=True)
    if not (docker_config / "cli-plugins").exists():
        (docker_config / "cli-plugins").symlink_to(compose_plugins())
    return docker_config


def host(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`docker ARGS` on the test host's engine."""
    return run("docker", *args, env={**os.environ, **host_env()}, check=check)


def compose_down(project: str, directory: Path, docker_env: dict[str, str] | None = None) -> None:
    """Take a test project down with its volumes, whatever state it is in."""
    subprocess.run(["docker", "compose", "-p", project, "down", "-v", "--remove-orphans"], cwd=directory,
                   env={**os.environ, **(docker_env if docker_env is not None else host_env()), "IMAGE": "none"},
                   capture_output=True, check=False)


def require_http(what: str, url: str) -> None:
    """Fail (never skip) when a service the tests need does not answer."""
    tiers.refuse_in_fast_tier(f"the {what}", tiers.SERVICES)
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
    tiers.refuse_in_fast_tier("the ECR stand-in registry", tiers.SERVICES)
    host = ecr_standin_host()
    url = f"http://{host}/v2/"
    try:
        urllib.request.urlopen(url, timeout=5).close()
    except urllib.error.HTTPError as error:
        if error.code == 401:  # it answers, and demands credentials as ECR does
            return host
    except OSError as error:
        raise RuntimeError(f"no ECR stand-in registry at {url} ({error}): run the tests through "
                           "scripts/test") from error
    raise RuntimeError(f"the ECR stand-in registry at {url} serves anonymous requests: run the tests through "
                       "scripts/test (its registry demands the ECR token's credentials)")


def ecr_api_standin() -> str:
    """moto over TLS as ECR's API (see scripts/services.sh); returns the CA bundle that trusts it."""
    tiers.refuse_in_fast_tier("the ECR API stand-in", tiers.SERVICES)
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
    """Push TAG (`repository:tag`) and return its `repository@sha256:...`;
    to the ECR stand-in with the token moto's ECR API issues, elsewhere anonymously."""
    anonymous = ("", "")
    credentials = ecr_token(moto_endpoint()) if tag.startswith(ecr_standin_host() + "/") else anonymous
    return push_with_credentials(tag, *credentials)


def ecr_token(endpoint: str, region: str = "us-east-1") -> tuple[str, str]:
    """(user, password) from ECR's GetAuthorizationToken on ENDPOINT (moto)."""
    ecr = boto3.client("ecr", endpoint_url=endpoint, region_name=region, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


def push_foreign_image(registry: str, repository: str, architecture: str) -> str:
    """Push an image built for ARCHITECTURE (one small layer, no program in
    it) straight through the registry's HTTP API: no engine here can build
    for another architecture. Returns `registry/repository@sha256:...`."""
    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        content = f"built for {architecture}\n".encode()
        info = tarfile.TarInfo("platform")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(layer_tar.getvalue())
    config = json.dumps({"architecture": architecture, "os": "linux", "config": {"Cmd": ["/app.sh", "serve"]},
                         "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar.getvalue())]}}).encode()
    base = f"http://{registry}/v2/{repository}"
    for blob in (layer, config):
        with urllib.request.urlopen(urllib.request.Request(f"{base}/blobs/uploads/", method="POST")) as started:
            location = urllib.parse.urljoin(base, started.headers["Location"])
        separator = "&" if "?" in location else "?"
        urllib.request.urlopen(urllib.request.Request(f"{location}{separator}digest={_digest(blob)}", data=blob,
                                                      method="PUT",
                                                      headers={"Content-Type": "application/octet-stream"})).close()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": _digest(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": _digest(layer)}],
    }).encode()
    request = urllib.request.Request(f"{base}/manifests/{architecture}", data=manifest, method="PUT",
                                     headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(request) as answer:
        return f"{registry}/{repository}@{answer.headers['Docker-Content-Digest']}"


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


class PushError(RuntimeError):
    pass


class _EngineConnection(http.client.HTTPConnection):
    """HTTP to the Docker engine's unix socket (DOCKER_HOST, or the default)."""

    def __init__(self) -> None:
        super().__init__("docker", timeout=600)
        docker_host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        self.socket_path = docker_host.removeprefix("unix://")

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.socket_path)


def push_with_credentials(tag: str, username: str, password: str) -> str:
    """Push TAG with credentials for this push alone, as pulumi-docker does:
    the Engine API's X-Registry-Auth header (docker/docker client ImagePush,
    called with RegistryAuth by pulumi-docker provider/image.go), so no login
    is stored in any Docker config. Returns `repository@sha256:...`."""
    repository, _, name_tag = tag.rpartition(":")
    auth = {"username": username, "password": password, "serveraddress": repository.split("/")[0]}
    header = base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()
    connection = _EngineConnection()
    try:
        connection.request("POST", f"/images/{urllib.parse.quote(repository, safe='')}/push?tag={name_tag}",
                           headers={"X-Registry-Auth": header})
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    if response.status != 200:
        raise PushError(f"push of {tag}: HTTP {response.status} {body.strip()}")
    digest = ""
    for line in body.splitlines():
        message = json.loads(line) if line.strip() else {}
        if "error" in message:
            raise PushError(f"push of {tag}: {message['error']}")
        digest = message.get("aux", {}).get("Digest", digest)
    if not digest:
        raise PushError(f"push of {tag}: the engine reported no digest")
    return f"{repository}@{digest}"
