"""Moving tags in ECR without pulling: components.ecr_tags against moto."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import uuid

import boto3
import pytest

from components.digests import build_tag
from components.ecr_tags import TagError, tag_image
from tests.support.pulumi_cli import ROOT

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def manifest(layer: str) -> tuple[str, str]:
    """A schema 2 manifest and its digest, as a registry computes it."""
    text = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7,
                   "digest": "sha256:" + hashlib.sha256(b"config" + layer.encode()).hexdigest()},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3,
                    "digest": "sha256:" + hashlib.sha256(layer.encode()).hexdigest()}],
    })
    return text, "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def ecr(moto):
    return boto3.client("ecr", endpoint_url=moto, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def repository(ecr) -> str:
    """Configured as the registry stack configures the shared repository."""
    name = f"whatsapp-miner-{uuid.uuid4().hex[:8]}"
    ecr.create_repository(repositoryName=name, imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
                          imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "dev"},
                                                              {"filterType": "WILDCARD", "filter": "prd"}])
    return name


def push(ecr, repository: str, layer: str, tag: str) -> str:
    """What a `docker push` leaves in ECR: the manifest under its digest and one tag."""
    text, digest = manifest(layer)
    ecr.put_image(repositoryName=repository, imageManifest=text, imageManifestMediaType=MANIFEST_TYPE,
                  imageTag=tag, imageDigest=digest)
    return digest


def tags_of(ecr, repository: str, digest: str) -> set[str]:
    detail = ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"][0]
    return set(detail["imageTags"])


def test_promotion_points_the_tags_at_the_same_digest_and_a_rerun_is_a_no_op(ecr, repository):
    digest = push(ecr, repository, "app v1", "dev")
    assert tag_image(ecr, repository, digest, [build_tag(digest), "prd"])["digest"] == digest
    assert tags_of(ecr, repository, digest) == {"dev", "prd", build_tag(digest)}
    tag_image(ecr, repository, digest, [build_tag(digest), "prd"])
    assert tags_of(ecr, repository, digest) == {"dev", "prd", build_tag(digest)}
    assert len(ecr.list_images(repositoryName=repository)["imageIds"]) == 3  # one image, three tags


def test_an_environment_tag_moves_to_the_newer_image(ecr, repository):
    old = push(ecr, repository, "app v1", "dev")
    tag_image(ecr, repository, old, ["prd"])
    new = push(ecr, repository, "app v2", "dev")
    tag_image(ecr, repository, new, ["prd"])
    assert tags_of(ecr, repository, new) == {"dev", "prd"}
    assert old != new


def test_a_build_tag_is_immutable_so_it_never_names_another_image(ecr, repository):
    first = push(ecr, repository, "app v1", "dev")
    tag_image(ecr, repository, first, [build_tag(first)])
    second = push(ecr, repository, "app v2", "dev")
    with pytest.raises(TagError, match=build_tag(first)):
        tag_image(ecr, repository, second, [build_tag(first)])
    assert build_tag(first) in tags_of(ecr, repository, first)


class EcrImmutableTagErrorStandin:
    """A stand-in: moto's real ECR client, answering an immutable tag's conflict as ECR does.

    API_PutImage: "ImageTagAlreadyExistsException: The specified image is tagged
    with a tag that already exists. The repository is configured for tag
    immutability." ImageAlreadyExistsException is for an image "already pushed,
    and there were no changes to the manifest or image tag". moto raises
    ImageAlreadyExistsException for both (moto/ecr/models.py
    _resolve_image_tag_mutability); here a tag that names another digest gets
    ECR's exception and message instead.
    """

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def put_image(self, **kwargs):
        try:
            return self._client.put_image(**kwargs)
        except self._client.exceptions.ImageAlreadyExistsException:
            holder = self._client.describe_images(repositoryName=kwargs["repositoryName"],
                                                  imageIds=[{"imageTag": kwargs["imageTag"]}])["imageDetails"][0]
            if holder["imageDigest"] == kwargs["imageDigest"]:
                raise
            message = (f"The image tag '{kwargs['imageTag']}' already exists in the '{kwargs['repositoryName']}' "
                       "repository and cannot be overwritten because the repository is immutable.")
            raise self._client.exceptions.ImageTagAlreadyExistsException(
                {"Error": {"Code": "ImageTagAlreadyExistsException", "Message": message}}, "PutImage") from None


def test_an_immutable_tag_on_another_image_fails_the_move_before_any_later_tag_moves(ecr, repository):
    first = push(ecr, repository, "app v1", "dev")
    tag_image(ecr, repository, first, [build_tag(first)])
    second = push(ecr, repository, "app v2", "dev")
    with pytest.raises(TagError, match=re.escape(f"{repository}:{build_tag(first)} is immutable and names another")):
        tag_image(EcrImmutableTagErrorStandin(ecr), repository, second, [build_tag(first), "prd"])
    assert tags_of(ecr, repository, first) == {build_tag(first)}
    assert tags_of(ecr, repository, second) == {"dev"}  # prd was not moved onto the image that failed


def test_an_immutable_tag_already_on_the_same_image_is_success(ecr, repository):
    digest = push(ecr, repository, "app v1", "dev")
    ecr_as_aws_answers = EcrImmutableTagErrorStandin(ecr)
    tag_image(ecr_as_aws_answers, repository, digest, [build_tag(digest)])
    assert tag_image(ecr_as_aws_answers, repository, digest, [build_tag(digest), "prd"])["digest"] == digest
    assert tags_of(ecr, repository, digest) == {"dev", "prd", build_tag(digest)}


def test_a_digest_missing_from_the_repository_is_refused_naming_it(ecr, repository):
    _, absent = manifest("never pushed")
    with pytest.raises(TagError, match=f"{repository}@{absent} is not in the repository"):
        tag_image(ecr, repository, absent, ["prd"])


def test_a_manifest_that_is_not_the_digest_is_never_tagged(ecr, repository):
    # Stored without its digest, moto names the image by a hash of its layers:
    # the manifest ECR returns then hashes to another digest, as a converted one would.
    text, _ = manifest("app v1")
    ecr.put_image(repositoryName=repository, imageManifest=text, imageManifestMediaType=MANIFEST_TYPE, imageTag="dev")
    stored = ecr.describe_images(repositoryName=repository)["imageDetails"][0]["imageDigest"]
    with pytest.raises(TagError, match="refusing to tag a converted manifest"):
        tag_image(ecr, repository, stored, ["prd"])
    assert tags_of(ecr, repository, stored) == {"dev"}


def run_module(moto: str, **variables: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": moto, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1", **variables}
    return subprocess.run([sys.executable, "-m", "components.ecr_tags"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False, timeout=60)


def test_the_command_reads_its_environment_and_says_what_it_tagged(moto, ecr, repository):
    digest = push(ecr, repository, "app v1", "dev")
    done = run_module(moto, REPOSITORY=repository, DIGEST=digest, TAGS=f"{build_tag(digest)} prd")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"repository": repository, "digest": digest,
                                       "tags": [build_tag(digest), "prd"]}
    _, absent = manifest("never pushed")
    done = run_module(moto, REPOSITORY=repository, DIGEST=absent, TAGS="prd")
    assert (done.returncode, done.stdout) == (1, "")
    assert f"{repository}@{absent} is not in the repository" in done.stderr
    done = run_module(moto, REPOSITORY=repository, DIGEST=digest)
    assert done.returncode == 2 and "'TAGS' is not set" in done.stderr
