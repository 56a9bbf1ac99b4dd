"""whatsapp-miner deployment: read settings, wire components, export outputs.

Two kinds of stack run this program: `registry` owns the one ECR repository;
every environment stack (dev, prd, local) builds or promotes an image and
deploys it by digest.
"""

import dataclasses
import os
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import settings as stack_settings
from components.deployment import ComposeDeployment, ComposeDeploymentArgs
from components.host import ssh_connection
from components.image import AppImage, AppImageArgs
from components.registry import SharedRepository, SharedRepositoryArgs
from components.release import TaggedImage, TaggedImageArgs, shared_repository, verified_digest_of


def aws_provider(credentials: stack_settings.AwsCredentials) -> aws.Provider:
    # Explicit provider: the plugin never sees variables this program maps.
    return aws.Provider("aws", access_key=credentials.access_key_id, secret_key=credentials.secret_access_key,
                        region=credentials.region)


def registry_stack(settings: stack_settings.RegistrySettings) -> None:
    repository = SharedRepository("shared", SharedRepositoryArgs(
        name=settings.repository_name,
        environment_tags=settings.environment_tags,
        keep_builds=settings.keep_builds,
        kms_key_arn=settings.kms_key_arn,
        provider=aws_provider(settings.aws),
    ))
    pulumi.export("repositoryUrl", repository.repository_url)
    pulumi.export("repositoryName", settings.repository_name)
    pulumi.export("repositoryArn", repository.arn)
    pulumi.export("registryId", repository.registry_id)
    pulumi.export("kmsKeyArn", repository.kms_key_arn)
    pulumi.export("environmentTags", settings.environment_tags)


def image_to_run(settings: stack_settings.Settings) -> pulumi.Output[str]:
    """`repository@sha256:...` (or a local image ID): pinned, promoted, or built here."""
    build = AppImageArgs(context=".", repository=settings.image_name, tag=settings.image_tag,
                         base_image=settings.base_image, platform=settings.platform, push=settings.push)
    if not settings.push:
        return AppImage("app", build).ref
    repository = shared_repository(settings.registry_stack, settings.image_tag, settings.stack_file)
    pulumi.export("repositoryUrl", repository.url)
    if settings.image_digest:
        digest: pulumi.Input[str] = settings.image_digest
    elif settings.promote_from:
        digest = verified_digest_of(settings.promote_from)
    else:
        digest = AppImage("app", dataclasses.replace(
            build, repository=repository.url, registry_id=repository.registry_id, provider=aws_provider(settings.aws),
            base_name=settings.image_name,
        )).digest
    return TaggedImage("app", TaggedImageArgs(repository, digest, settings.image_tag, settings.aws)).ref


def environment_stack(settings: stack_settings.Settings) -> None:
    image_ref = image_to_run(settings)
    pulumi.export("imageRef", image_ref)
    deployment = ComposeDeployment("app", ComposeDeploymentArgs(
        image_ref=image_ref,
        host=f"{settings.ssh.host}:{settings.ssh.port}" if settings.ssh else "localhost",
        host_dir=settings.host_dir,
        project=settings.compose_project,
        env_file=settings.env_file,
        compose_file=Path("docker-compose.yml"),
        host_tool=Path("scripts/host-deploy"),
        health_timeout=settings.health_timeout,
        keep_images=settings.keep_host_images,
        deploy=settings.deploy,
        remove_data_on_destroy=settings.remove_data_on_destroy,
        connection=ssh_connection(settings.ssh) if settings.ssh else None,
        credentials_script=settings.aws.host_login_script if settings.forward_aws_credentials else None,
    ))
    pulumi.export("host", settings.ssh.host if settings.ssh else "localhost")
    if settings.ssh:  # what scripts/host-status needs to reach host-deploy
        pulumi.export("sshUser", settings.ssh.user)
        pulumi.export("sshPort", settings.ssh.port)
    pulumi.export("hostDir", settings.host_dir)
    pulumi.export("composeProject", settings.compose_project)
    if settings.deploy:
        pulumi.export("deployedDigest", deployment.verified_digest)
        pulumi.export("status", deployment.status)


stack = stack_settings.from_stack(os.environ)
if isinstance(stack, stack_settings.RegistrySettings):
    registry_stack(stack)
else:
    environment_stack(stack)
