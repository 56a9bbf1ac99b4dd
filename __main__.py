"""whatsapp-miner deployment: read settings, wire components, export outputs.

Two kinds of stack run this program: `registry` owns the one ECR repository;
every environment stack (dev, prd, local) builds or promotes an image and
deploys it by digest.
"""

import dataclasses
import os

import pulumi
import pulumi_aws as aws
from pulumi_command import remote

from components import targets
from components.config import settings as stack_settings
from components.image.build import AppImage, AppImageArgs
from components.image.promotion import (
    SharedRepositoryRef,
    TaggedImage,
    TaggedImageArgs,
    shared_repository,
    verified_digest_of,
)
from components.image.repository import SharedRepository, SharedRepositoryArgs
from components.targets.ecs.deployment import EcsDeployment, EcsDeploymentArgs
from components.targets.host.connection import ssh_connection
from components.targets.host.deployment import ComposeDeployment, ComposeDeploymentArgs
from components.targets.host.provisioned import ProvisionedHost, ProvisionedHostArgs


def aws_provider(credentials: stack_settings.AwsCredentials) -> aws.Provider:
    # Explicit provider: the plugin never sees variables this program maps.
    return aws.Provider("aws", access_key=credentials.access_key_id, secret_key=credentials.secret_access_key,
                        token=credentials.session_token, region=credentials.region)


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


def image_to_run(settings: stack_settings.Settings, repository: SharedRepositoryRef | None,
                 provider: aws.Provider | None) -> AppImage | TaggedImage:
    """What makes the image reference (its `ref`: `repository@sha256:...` or a local image ID):
    pinned, promoted, or built here."""
    build = AppImageArgs(context=".", repository=settings.image_name, tag=settings.image_tag,
                         base_image=settings.base_image, platform=settings.platform, push=settings.push)
    if repository is None:
        return AppImage("app", build)
    if settings.image_digest:
        digest: pulumi.Input[str] = settings.image_digest
    elif settings.promote_from:
        digest = verified_digest_of(settings.promote_from)
    else:
        digest = AppImage("app", dataclasses.replace(
            build, repository=repository.url, registry_id=repository.registry_id, provider=provider,
            base_name=settings.image_name,
        )).digest
    return TaggedImage("app", TaggedImageArgs(repository, digest, settings.image_tag, settings.aws.region))


def environment_stack(settings: stack_settings.Settings) -> None:
    repository = provider = None
    if settings.push:
        repository = shared_repository(settings.registry_stack, settings.image_tag, settings.stack_file)
        pulumi.export("repositoryUrl", repository.url)
    if settings.target.creates_aws_resources or settings.pushes_a_build:
        provider = aws_provider(settings.aws)  # to build (the ECR token), or to create the host or the services
    image = image_to_run(settings, repository, provider)
    pulumi.export("imageRef", image.ref)
    match settings.target:
        case targets.SshHost(ssh=ssh, forward_aws_credentials=forward):
            # Which host the project lives on (a change moves it there and tears down the old one).
            deployment = deploy_on_host(settings, image, pulumi.Output.concat(ssh.host, f":{ssh.port}"),
                                        connection=ssh_connection(ssh),
                                        credentials=settings.aws.host_login_script if forward else None)
        case targets.ProvisionedHost() as new_host:
            host = provisioned_host(settings, new_host, repository, provider)
            # Its instance, not its address: a stop and start changes that, not the host.
            deployment = deploy_on_host(settings, image, host.instance_id, connection=host.connection,
                                        host_terminated_with_stack=True)
        case targets.LocalDocker():
            deployment = deploy_on_host(settings, image, "localhost")
        case targets.Ecs() as ecs:
            deployment = deploy_on_ecs(settings, ecs, image.ref, repository, provider)
    if settings.deploy:
        pulumi.export("deployedDigest", deployment.verified_digest)
        pulumi.export("status", deployment.status)


def deploy_on_ecs(settings: stack_settings.Settings, ecs: targets.Ecs, image_ref: pulumi.Output[str],
                  repository: SharedRepositoryRef, provider: aws.Provider) -> EcsDeployment:
    deployment = EcsDeployment("app", EcsDeploymentArgs(
        name=settings.compose_project, image_ref=image_ref, repository_arn=repository.arn,
        environment=settings.environment, secrets=settings.container_secrets, spec=ecs.spec,
        platform=settings.platform, region=settings.aws.region, provider=provider,
        remove_data_on_destroy=settings.remove_data_on_destroy,
    ))
    pulumi.export("cluster", deployment.cluster_name)
    return deployment


def provisioned_host(settings: stack_settings.Settings, new_host: targets.ProvisionedHost,
                     repository: SharedRepositoryRef, provider: aws.Provider) -> ProvisionedHost:
    host = ProvisionedHost("host", ProvisionedHostArgs(
        name=settings.compose_project, spec=new_host.spec, login=ssh_connection(new_host.ssh),
        repository_url=repository.url, repository_arn=repository.arn, provider=provider,
    ))
    pulumi.export("instanceId", host.instance_id)
    pulumi.export("publicIp", host.public_ip)
    pulumi.export("privateIp", host.private_ip)
    pulumi.export("hostKey", host.host_key)
    pulumi.export("hostKeyFingerprint", host.host_key_fingerprint)
    return host


def deploy_on_host(settings: stack_settings.Settings, image: AppImage | TaggedImage, where: pulumi.Input[str], *,
                   connection: remote.ConnectionArgs | None = None, credentials: pulumi.Output[str] | None = None,
                   host_terminated_with_stack: bool = False) -> ComposeDeployment:
    """On a host over SSH (CONNECTION), or on this machine; nothing there before IMAGE has its reference."""
    deployment = ComposeDeployment("app", ComposeDeploymentArgs(
        image_ref=image.ref,
        host=where,
        host_dir=settings.host_dir,
        project=settings.compose_project,
        owner=f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}",
        env_file=settings.env_file,
        health_timeout=settings.health_timeout,
        keep_images=settings.keep_host_images,
        deploy=settings.deploy,
        remove_data_on_destroy=settings.remove_data_on_destroy,
        host_terminated_with_stack=host_terminated_with_stack,
        connection=connection,
        credentials_script=credentials,
    ), pulumi.ResourceOptions(depends_on=[image]))
    pulumi.export("host", connection.host if connection else "localhost")
    if connection:  # what scripts/host-status needs to reach host-deploy
        pulumi.export("sshUser", connection.user)
        pulumi.export("sshPort", connection.port)
    pulumi.export("hostDir", settings.host_dir)
    pulumi.export("composeProject", settings.compose_project)
    return deployment


stack = stack_settings.from_stack(os.environ)
if isinstance(stack, stack_settings.RegistrySettings):
    registry_stack(stack)
else:
    environment_stack(stack)
