"""whatsapp-miner deployment: read settings, wire components, export outputs."""

import os
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import settings as stack_settings
from components.deployment import ComposeDeployment, ComposeDeploymentArgs
from components.ecs_deployment import EcsDeployment, EcsDeploymentArgs
from components.host import ssh_connection
from components.image import AppImage, AppImageArgs
from components.registry import EcrRegistry, EcrRegistryArgs

settings = stack_settings.from_stack(os.environ)

registry = provider = None
repository: pulumi.Input[str] = settings.repository_name
if settings.push:
    # Explicit provider: the plugin never sees variables this program maps.
    provider = aws.Provider(
        "aws",
        access_key=settings.aws.access_key_id,
        secret_key=settings.aws.secret_access_key,
        region=settings.aws.region,
    )
    registry = EcrRegistry("registry", EcrRegistryArgs(
        name=settings.repository_name,
        keep_images=settings.ecr_keep_images,
        force_delete=settings.ecr_force_delete,
        provider=provider,
    ))
    repository = registry.repository_url
    pulumi.export("repositoryUrl", repository)

image = AppImage("app", AppImageArgs(
    context=".",
    repository=repository,
    tag=settings.image_tag,
    base_image=settings.base_image,
    platform=settings.platform,
    push=settings.push,
    registry_id=registry.registry_id if registry else None,
    provider=provider,
    pinned_digest=settings.image_digest,
))
pulumi.export("imageRef", image.ref)

if settings.ecs:
    deployment = EcsDeployment("app", EcsDeploymentArgs(
        name=settings.compose_project,
        image_ref=image.ref,
        repository_name=settings.repository_name,
        registry_id=registry.registry_id,
        environment=settings.environment,
        secrets=settings.container_secrets,
        settings=settings.ecs,
        platform=settings.platform,
        aws=settings.aws,
        provider=provider,
        remove_data_on_destroy=settings.remove_data_on_destroy,
    ))
    pulumi.export("cluster", deployment.cluster_name)
else:
    deployment = ComposeDeployment("app", ComposeDeploymentArgs(
        image_ref=image.ref,
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
