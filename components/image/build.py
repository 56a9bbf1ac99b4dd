"""The application image: built from the Dockerfile, pushed, named by digest."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker
from pulumi_command import local

from components.digests import digest_of


@dataclass
class AppImageArgs:
    context: str
    """Build context holding the Dockerfile."""
    repository: pulumi.Input[str]
    """Where the image goes: an ECR repository URL, or a local name."""
    tag: str
    """The environment's tag (`dev`, `prd`)."""
    base_image: str
    """BASE_IMAGE build argument."""
    platform: str
    """Platform of the target host, e.g. linux/amd64."""
    push: bool
    """Push to ECR; False keeps the image local (the `local` stack)."""
    registry_id: pulumi.Input[str] | None = None
    """ECR registry to log in to when pushing."""
    provider: aws.Provider | None = None
    """Provider for the ECR token lookup."""
    base_name: str | None = None
    """Also tag the pushed build locally as `base_name:tag`, as the old build script did."""


def ecr_registry(server: pulumi.Input[str], registry_id: pulumi.Input[str], provider: aws.Provider,
                 parent: pulumi.Resource) -> docker.RegistryArgs:
    """Push credentials from the ECR token. The token changes on every run,
    which is fine here: pulumi-docker ignores registry credentials in its diff."""
    token = aws.ecr.get_authorization_token_output(
        registry_id=registry_id, opts=pulumi.InvokeOutputOptions(provider=provider, parent=parent)
    )
    return docker.RegistryArgs(
        server=server,
        username=token.user_name,
        password=pulumi.Output.secret(token.password),
    )


class AppImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]
    """`repository@sha256:...` once pushed, or the local image ID."""
    digest: pulumi.Output[str]
    """`sha256:...` of the pushed image (the image ID when not pushed)."""

    def __init__(self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:AppImage", name, None, opts)
        image = docker.Image(
            f"{name}-image",
            image_name=pulumi.Output.concat(args.repository, ":", args.tag),
            build=docker.DockerBuildArgs(
                context=args.context,
                dockerfile=f"{args.context}/Dockerfile",
                args={"BASE_IMAGE": args.base_image},
                platform=args.platform,
            ),
            skip_push=not args.push,
            registry=ecr_registry(args.repository, args.registry_id, args.provider, self) if args.push else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ref = image.repo_digest
        self.digest = image.repo_digest.apply(digest_of)
        if args.base_name:
            local.Command(
                f"{name}-base-name-tag",
                create=image.repo_digest.apply(
                    lambda ref: f"docker tag {shlex.quote(ref)} {shlex.quote(f'{args.base_name}:{args.tag}')}"),
                add_previous_output_in_env=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"ref": self.ref, "digest": self.digest})
