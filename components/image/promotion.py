"""Which image an environment runs, in the shared repository, and its tags there.

Build once, promote by digest: dev builds and pushes; prd takes the digest
dev's host verified, from dev's stack outputs, and builds nothing. Either
way the image then gets its immutable build tag and the environment's tag
in ECR (components.ecr_tags: the manifest again, no layers) before it is
deployed, by digest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import local

from components.config import keys
from components.digests import build_tag

# Relative to the project directory, where Pulumi runs the program and its
# providers: the same text on every machine, so it never shows as a change.
TAG_COMMAND = ".venv/bin/python -m components.ecr_tags"


def stack_name(name: str) -> str:
    """A stack of this project as StackReference names it: self-managed backends
    (file, s3) call every organization `organization`, Pulumi Cloud its own."""
    return name if "/" in name else f"{pulumi.get_organization()}/{pulumi.get_project()}/{name}"


@dataclass
class SharedRepositoryRef:
    """The registry stack's repository, as its outputs describe it."""

    url: pulumi.Output[str]
    """Each resolves only when the stack's environment tag is one the repository lets move."""
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    registry_id: pulumi.Output[str]


def shared_repository(registry_stack: str, env_tag: str, stack_file: str) -> SharedRepositoryRef:
    registry = pulumi.StackReference(stack_name(registry_stack))

    def movable(tags: list[str]) -> bool:
        if env_tag not in tags:  # any other tag is immutable: a second push would be refused
            raise ValueError(f"{keys.NAMESPACE}:{keys.IMAGE_TAG.name} {env_tag!r} in {stack_file} is not one of the "
                             f"environment tags {tags} of stack {stack_name(registry_stack)} (its "
                             f"{keys.ENVIRONMENT_TAGS.name})")
        return True

    # Every value waits for the check, so nothing that pushes or tags starts before it.
    allowed = registry.require_output("environmentTags").apply(movable)

    def output(name: str) -> pulumi.Output[str]:
        return pulumi.Output.all(allowed, registry.require_output(name)).apply(lambda values: values[1])

    return SharedRepositoryRef(url=output("repositoryUrl"), name=output("repositoryName"),
                               arn=output("repositoryArn"), registry_id=output("registryId"))


def verified_digest_of(stack: str) -> pulumi.Output[str]:
    """The digest STACK's host verified (its `deployedDigest` output)."""
    name = stack_name(stack)

    def required(digest: str | None) -> str:
        if not digest:
            raise ValueError(f"stack {name} has no output deployedDigest: nothing was verified there yet, or it "
                             f"runs with {keys.NAMESPACE}:{keys.DEPLOY.name}=false (run `pulumi up` on it with "
                             f"{keys.DEPLOY.name} on, or pin {keys.NAMESPACE}:{keys.IMAGE_DIGEST.name})")
        return digest

    # A digest names public content; it need not stay secret.
    return pulumi.Output.unsecret(pulumi.StackReference(name).get_output("deployedDigest").apply(required))


@dataclass
class TaggedImageArgs:
    repository: SharedRepositoryRef
    digest: pulumi.Input[str]
    """The image: built here, promoted, or pinned."""
    env_tag: str
    region: str
    """The command's; it finds the credentials in its own environment."""


class TaggedImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]
    """`repository@sha256:...`, resolved only once the tags point at it."""

    def __init__(self, name: str, args: TaggedImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:TaggedImage", name, None, opts)
        repository, digest = args.repository, args.digest
        tags = pulumi.Output.from_input(digest).apply(lambda value: f"{build_tag(value)} {args.env_tag}")
        command = local.Command(
            f"{name}-tags",
            create=TAG_COMMAND,
            # No credential here: the command reads them from the environment
            # it inherits (components.config.environment.boto3_credentials).
            environment={"REPOSITORY": repository.name, "DIGEST": digest, "TAGS": tags,
                         "AWS_DEFAULT_REGION": args.region},
            triggers=[repository.name, digest, tags],
            add_previous_output_in_env=False,
            logging=local.Logging.STDOUT_AND_STDERR,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The command's id exists once it has run: the ref waits for the tags.
        self.ref = pulumi.Output.all(repository.url, digest, command.id).apply(
            lambda values: f"{values[0]}@{values[1]}")
        self.register_outputs({"ref": self.ref})
