"""The one ECR repository every environment uses, owned by the `registry` stack.

Images are built once (dev) and promoted by digest (prd), so the repository
outlives any environment's stack: destroying dev or prd never touches it.
Only the environment tags move; every other tag, the build tags included,
is immutable. The four ECR checks of Trivy/defsec hold: scan on push
(AVD-AWS-0030), immutable tags (AVD-AWS-0031), no repository policy, so
nothing public (AVD-AWS-0032), a customer-managed KMS key (AVD-AWS-0033).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.digests import build_tag

BUILD_TAG_PREFIX = build_tag("sha256:")


@dataclass
class SharedRepositoryArgs:
    name: str
    environment_tags: list[str]
    """The tags that move (`dev`, `prd`); every other tag is immutable."""
    keep_builds: int
    """How many build-tagged images the lifecycle policy keeps."""
    kms_key_arn: str | None
    """A customer-managed key to encrypt with; None creates one, with rotation on."""
    provider: aws.Provider


def lifecycle_policy(environment_tags: list[str], keep_builds: int) -> str:
    """Never expire what an environment tag names; expire untagged images and old builds.

    ECR lets a rule expire only images whose tags it selects, and an image that
    a higher-priority rule selects is never expired by a lower one. So each
    environment tag has the first word on its image, with a count no single
    tag ever exceeds."""
    protect = [
        {"rulePriority": index, "description": f"Keep the image `{tag}` names",
         "selection": {"tagStatus": "tagged", "tagPatternList": [tag],
                       "countType": "imageCountMoreThan", "countNumber": 1},
         "action": {"type": "expire"}}
        for index, tag in enumerate(environment_tags, start=1)
    ]
    first = len(protect) + 1
    return json.dumps({"rules": [
        *protect,
        {"rulePriority": first, "description": "Expire untagged images after a day",
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1},
         "action": {"type": "expire"}},
        {"rulePriority": first + 1, "description": f"Keep the last {keep_builds} builds",
         "selection": {"tagStatus": "tagged", "tagPatternList": [f"{BUILD_TAG_PREFIX}*"],
                       "countType": "imageCountMoreThan", "countNumber": keep_builds},
         "action": {"type": "expire"}},
    ]})


class SharedRepository(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: SharedRepositoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:SharedRepository", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        if args.kms_key_arn:
            key_arn: pulumi.Input[str] = args.kms_key_arn
        else:
            key_arn = aws.kms.Key(
                f"{name}-key",
                description=f"Encrypts the images of ECR repository {args.name}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                opts=child,
            ).arn
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.name,
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
            image_tag_mutability_exclusion_filters=[
                {"filter": tag, "filter_type": "WILDCARD"} for tag in args.environment_tags
            ],
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key_arn}],
            force_delete=False,  # images may be running somewhere: deleting them is a human's call
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=lifecycle_policy(args.environment_tags, args.keep_builds),
            opts=child,
        )
        self.repository_url = repository.repository_url
        self.registry_id = repository.registry_id
        self.arn = repository.arn
        self.kms_key_arn = pulumi.Output.from_input(key_arn)
        self.register_outputs({"repository_url": self.repository_url, "registry_id": self.registry_id,
                               "arn": self.arn, "kms_key_arn": self.kms_key_arn})
