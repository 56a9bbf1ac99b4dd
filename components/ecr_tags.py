"""Point tags at an image already in ECR, without pulling or pushing layers.

ECR tags an existing image when it is given the image's own manifest again:
`batch_get_image`, then `put_image` with the same manifest and media type.
This is how prd takes the digest dev verified, and how every image gets its
immutable build tag. Run by the program as a local command:

    python -m components.ecr_tags

with REPOSITORY, DIGEST and TAGS (space separated) and AWS_DEFAULT_REGION in
the environment; the credentials come from the environment Pulumi was started
with, under the standard names or their aliases. It prints one JSON line and
exits non-zero with the reason when the image is missing or cannot be tagged
as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

import boto3

from components.config import environment

# Every manifest type ECR stores. Asking for all of them is what keeps ECR
# from converting the manifest it returns (it converts to the first type a
# caller accepts when the stored one is not among them).
MEDIA_TYPES = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+json",
]


class TagError(RuntimeError):
    """The image is not there, or tagging it would change what it is."""


def tag_image(ecr, repository: str, digest: str, tags: list[str]) -> dict:
    """Make each of TAGS name DIGEST in REPOSITORY. A tag already there is success."""
    found = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageDigest": digest}],
                                acceptedMediaTypes=MEDIA_TYPES)
    if not found["images"]:
        reasons = "; ".join(failure.get("failureReason", "") for failure in found.get("failures", []))
        raise TagError(f"{repository}@{digest} is not in the repository ({reasons or 'no such image'})")
    image = found["images"][0]
    manifest, media_type = image["imageManifest"], image.get("imageManifestMediaType", "")
    # Tagging a converted manifest would make the tag name another digest.
    if "sha256:" + hashlib.sha256(manifest.encode()).hexdigest() != digest:
        raise TagError(f"{repository}@{digest}: ECR returned a manifest of another digest "
                       f"(media type {media_type or 'unknown'}); refusing to tag a converted manifest")
    for tag in tags:
        try:
            ecr.put_image(repositoryName=repository, imageManifest=manifest, imageManifestMediaType=media_type,
                          imageTag=tag, imageDigest=digest)
        except ecr.exceptions.ImageAlreadyExistsException:
            continue  # this tag already names this image
        except ecr.exceptions.ImageTagAlreadyExistsException as error:
            raise TagError(f"{repository}:{tag} is immutable and names another image") from error
    listed = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag} for tag in tags])
    wrong = sorted(tag for detail in listed["imageDetails"] if detail["imageDigest"] != digest
                   for tag in set(detail.get("imageTags", [])) & set(tags))
    if wrong:
        raise TagError(f"{repository}: {', '.join(wrong)} still name another image")
    return {"repository": repository, "digest": digest, "tags": tags}


def main(environ) -> int:
    try:
        repository, digest, tags = environ["REPOSITORY"], environ["DIGEST"], environ["TAGS"].split()
    except KeyError as missing:
        print(f"components.ecr_tags: {missing} is not set", file=sys.stderr)
        return 2
    try:
        ecr = boto3.client("ecr", **environment.boto3_credentials(environ))
        print(json.dumps(tag_image(ecr, repository, digest, tags)))
    except TagError as error:
        print(f"components.ecr_tags: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(os.environ))
