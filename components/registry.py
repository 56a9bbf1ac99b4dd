"""The ECR repository of one stack: scan on push, bounded history."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class EcrRegistryArgs:
    name: str
    """Repository name; each stack has its own."""
    keep_images: int
    """How many images the lifecycle policy keeps."""
    force_delete: bool
    """Whether `pulumi destroy` may delete a repository that still holds images."""
    provider: aws.Provider
    """The explicit provider built from the mapped credentials."""


def lifecycle_policy(keep_images: int) -> str:
    """Expire untagged images after a day and keep the last KEEP_IMAGES."""
    return json.dumps({
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire untagged images after a day",
                "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed",
                              "countUnit": "days", "countNumber": 1},
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"Keep the last {keep_images} images",
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
                "action": {"type": "expire"},
            },
        ]
    })


class EcrRegistry(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    registry_id: pulumi.Output[str]
    repository_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EcrRegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:EcrRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.name,
            image_scanning_configuration={"scan_on_push": True},
            image_tag_mutability="MUTABLE",
            force_delete=args.force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=lifecycle_policy(args.keep_images),
            opts=child,
        )
        self.repository_url = repository.repository_url
        self.registry_id = repository.registry_id
        self.repository_arn = repository.arn
        self.register_outputs({"repository_url": self.repository_url, "registry_id": self.registry_id,
                               "repository_arn": self.repository_arn})
