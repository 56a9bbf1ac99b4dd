"""Every policy of the pack: its name, its rule, and what it holds."""

from __future__ import annotations

from . import deploy, host, registry, secrets

RULES = {
    "imdsv2-hop-limit-1": (host.imdsv2_hop_limit_1, "EC2 instances require IMDSv2 tokens with a hop limit of 1."),
    "no-world-open-ssh": (host.no_world_open_ssh, "No security group opens port 22 to 0.0.0.0/0 or ::/0."),
    "encrypted-storage": (host.encrypted_storage, "Root, EBS and EFS volumes are encrypted."),
    "ecr-immutable-build-tags": (registry.immutable_build_tags,
                                 "ECR tags are immutable except the listed environment tags."),
    "ecr-customer-kms-key": (registry.customer_kms_key, "ECR repositories are encrypted with a customer KMS key."),
    "ecr-scan-on-push": (registry.scan_on_push, "ECR repositories scan every pushed image."),
    "deploy-by-digest": (deploy.deploy_by_digest, "Hosts and ECS tasks run images by digest, never by tag."),
    "no-plaintext-secrets": (secrets.no_plaintext_secrets,
                             "Secrets travel on stdin or in SecureString parameters, never in plaintext inputs."),
    "ecs-secrets-from-ssm": (secrets.ecs_secrets_from_ssm,
                             "ECS containers read secrets from SSM through `secrets`, never `environment`."),
}
