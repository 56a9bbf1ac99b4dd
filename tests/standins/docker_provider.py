"""Test stand-in for the pulumi-docker 5.2 provider plugin: `docker:index/image:Image`.

pulumi-docker cannot be built here (its provider go.mod replaces the
Terraform provider with ../upstream). This builds with the local docker CLI
and pushes to whatever registry the image name points at, under the rules
of pulumi-docker v5.1.0 (5.2.0's Image code is unchanged), provider/:

- Check defaults the context to "." and the Dockerfile to <context>/Dockerfile,
  and stores `build.contextDigest`: a hash of every file of the context the
  .dockerignore keeps (path, mode, content) and of the Dockerfile; mtimes
  are not hashed (provider.go:128-268, hashContext 553-684);
- Diff compares the stored inputs; of `registry` only the server counts, so a
  fresh ECR token is no change; nothing replaces: every change rebuilds and
  pushes in place (provider.go:271-348);
- preview builds nothing and leaves repoDigest unknown (provider.go:367-377);
- repoDigest is `<name without tag>@sha256:...` from the push, or the local
  image ID with skipPush (image.go:286-342);
- Read changes nothing, so a deleted local image is not noticed; Delete
  removes nothing (provider.go:415-495);
- the push carries `registry`'s credentials for that push alone (the Engine
  API's X-Registry-Auth, image.go:286-342): no login is left in any Docker
  config.

ECR itself is two stand-ins here: layers go to a registry answering under
the ECR hostname, and the ECR API is moto. ECR's API knows every pushed
image (DescribeImages, BatchGetImage), so after a push to an ECR name this
hands moto the pushed manifest under its registry digest, as the push
would have done.
"""

from __future__ import annotations

import base64
import contextlib
import fnmatch
import hashlib
import os
import re
import subprocess
import urllib.request
from pathlib import Path

import boto3
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import PropertyValue

from components.ecr_tags import MEDIA_TYPES
from tests.standins.plugin import UNKNOWN, changed_keys, diff, has_unknown, plain, plain_map, serve, unknown, wrap
from tests.support.docker_env import push_with_credentials

IMAGE = "docker:index/image:Image"
COMPUTED_OUTPUTS = ("repoDigest", "baseImageName", "registryServer", "dockerfile", "context")
ECR_HOST = re.compile(r"\d{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com")


class DockerError(Exception):
    pass


class DockerStandIn(p.Provider):
    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        inputs = dict(request.new_inputs)
        build = plain(inputs["build"]) if "build" in inputs else {}
        if build is not UNKNOWN and not has_unknown(build):
            build.setdefault("context", ".")
            build.setdefault("dockerfile", os.path.join(build["context"], "Dockerfile"))
            build["contextDigest"] = context_digest(Path(build["context"]), Path(build["dockerfile"]))
            inputs["build"] = wrap(build)
        return p.CheckResponse(inputs=inputs)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        olds, news = dict(request.old_state), dict(request.new_inputs)
        for side in (olds, news):
            registry = plain(side["registry"]) if "registry" in side else None
            if isinstance(registry, dict):
                side["registry"] = wrap({"server": registry.get("server")})
        keys = set(news) | (set(olds) - set(COMPUTED_OUTPUTS) - {"imageName"})
        return diff(changed_keys(olds, news, keys=keys))

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        inputs = plain_map(request.properties)
        if request.preview:
            return p.CreateResponse(None, dict(request.properties))
        return p.CreateResponse(inputs["imageName"], {**request.properties, **_build_and_push(inputs)})

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        if request.preview:
            return p.UpdateResponse({**request.news, **{name: unknown() for name in COMPUTED_OUTPUTS}})
        return p.UpdateResponse({**request.news, **_build_and_push(plain_map(request.news))})

    async def delete(self, request: p.DeleteRequest) -> None:
        return None


def _ignored(relative: str, patterns: list[tuple[bool, str]]) -> bool:
    """.dockerignore: the last matching pattern wins; `!` re-includes."""
    ignored = False
    for negated, pattern in patterns:
        stripped = pattern.rstrip("/")
        parts = relative.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, stripped) or fnmatch.fnmatch(prefix, stripped.removeprefix("**/"))
               or (stripped.startswith("**/") and fnmatch.fnmatch(parts[index], stripped[3:]))
               for index, prefix in enumerate(prefixes)):
            ignored = not negated
    return ignored


def context_digest(context: Path, dockerfile: Path) -> str:
    ignore_file = context / ".dockerignore"
    patterns = []
    if ignore_file.exists():
        for raw in ignore_file.read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                patterns.append((line.startswith("!"), line.removeprefix("!")))
    digest = hashlib.sha256()
    for path in sorted(context.rglob("*")):
        relative = path.relative_to(context).as_posix()
        if path.is_file() and not _ignored(relative, patterns):
            digest.update(f"{relative}{oct(path.stat().st_mode)}".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(b"Dockerfile" + hashlib.sha256(dockerfile.read_bytes()).digest())
    return digest.hexdigest()


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DockerError(f"docker {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def _build_and_push(inputs: dict) -> dict[str, PropertyValue]:
    build, name = inputs["build"], inputs["imageName"]
    argv = ["build", "--quiet", "-t", name, "-f", build["dockerfile"]]
    for key, value in (build.get("args") or {}).items():
        argv += ["--build-arg", f"{key}={value}"]
    if build.get("platform"):
        argv += ["--platform", build["platform"]]
    _docker(*argv, build["context"])
    registry = inputs.get("registry") or {}
    outputs = {"imageName": name, "baseImageName": name, "registryServer": registry.get("server") or "",
               "context": build["context"], "dockerfile": Path(build["dockerfile"]).name}
    if inputs.get("skipPush"):
        outputs["repoDigest"] = _docker("image", "inspect", "--format", "{{.Id}}", name).strip()
    else:
        username, password = registry.get("username") or "", registry.get("password") or ""
        outputs["repoDigest"] = push_with_credentials(name, username, password)
        _tell_the_ecr_api(name, username, password)
    return {key: wrap(value) for key, value in outputs.items()}


def _tell_the_ecr_api(name: str, username: str, password: str) -> None:
    host, _, path = name.partition("/")
    region = ECR_HOST.fullmatch(host)
    if region is None:
        return
    repository, tag = path.rsplit(":", 1)
    basic = base64.b64encode(f"{username}:{password}".encode()).decode()
    request = urllib.request.Request(f"http://{host}/v2/{repository}/manifests/{tag}",
                                     headers={"Accept": ", ".join(MEDIA_TYPES), "Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        manifest, media_type = response.read().decode(), response.headers["Content-Type"]
        digest = response.headers["Docker-Content-Digest"]
    ecr = boto3.client("ecr", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name=region.group(1),
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):  # the same image, pushed again
        ecr.put_image(repositoryName=repository, imageManifest=manifest, imageManifestMediaType=media_type,
                      imageTag=tag, imageDigest=digest)


if __name__ == "__main__":
    serve(DockerStandIn(), "5.2.0")
