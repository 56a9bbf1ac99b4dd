"""Resources that keep, or break (config `breaks`), each policy of the pack."""

import json

import pulumi
import pulumi_aws as aws
import pulumi_command as command

breaks = pulumi.Config().get("breaks") or ""
DIGEST = "sha256:" + "d" * 64
REPOSITORY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/whatsapp-miner"
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SSM_PARAMETER = "arn:aws:ssm:eu-west-1:123456789012:parameter/whatsapp-miner-prd/WHATSAPP_API_TOKEN"


def pick(policy: str, keeps, broken):
    return broken if breaks == policy else keeps


aws.ec2.Instance(
    "host", ami="ami-0123456789abcdef0", instance_type="t3.small",
    metadata_options=pick("imdsv2-hop-limit-1",
                          {"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1},
                          {"http_endpoint": "enabled", "http_tokens": "optional", "http_put_response_hop_limit": 2}),
    root_block_device={"volume_type": "gp3", "volume_size": 20,
                       "encrypted": breaks != "encrypted-storage"},
)
aws.ec2.SecurityGroup("host-firewall", description="SSH from the office", ingress=[{
    "protocol": "tcp", "from_port": 22, "to_port": 22,
    "cidr_blocks": pick("no-world-open-ssh", ["203.0.113.0/24"], ["0.0.0.0/0"]),
    "ipv6_cidr_blocks": pick("no-world-open-ssh", ["2001:db8::/48"], ["::/0"]),
}])
aws.efs.FileSystem("data", encrypted=breaks != "encrypted-storage")
aws.ecr.Repository(
    "repository", name="whatsapp-miner",
    image_tag_mutability=pick("ecr-immutable-build-tags", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE"),
    image_tag_mutability_exclusion_filters=[{"filter_type": "WILDCARD", "filter": tag} for tag in ("dev", "prd")],
    encryption_configurations=[pick("ecr-customer-kms-key", {"encryption_type": "KMS", "kms_key": KMS_KEY},
                                    {"encryption_type": "AES256"})],
    image_scanning_configuration={"scan_on_push": breaks != "ecr-scan-on-push"},
)
image = pick("deploy-by-digest", f"{REPOSITORY}@{DIGEST}", f"{REPOSITORY}:prd")
api_token = pulumi.Output.secret("not a real token")
command.remote.Command(
    "deploy",
    connection={"host": "192.0.2.10", "user": "ec2-user"},
    create=f"bash /srv/app/host-deploy deploy --dir /srv/app --project whatsapp-miner-prd --image {image}",
    stdin=pick("no-plaintext-secrets", api_token, None),
    environment=pick("no-plaintext-secrets", None, {"WHATSAPP_API_TOKEN": "not a real token"}),
)
aws.ssm.Parameter("api-token", name="/whatsapp-miner-prd/WHATSAPP_API_TOKEN", type="SecureString", value=api_token)
container = {
    "name": "miner", "image": image, "essential": True,
    "environment": [{"name": "ENV_NAME", "value": "prd"}],
    "secrets": [{"name": "WHATSAPP_API_TOKEN", "valueFrom": SSM_PARAMETER}],
}
if breaks == "ecs-secrets-from-ssm":
    container["environment"].append({"name": "WHATSAPP_API_TOKEN", "value": "not a real token"})
aws.ecs.TaskDefinition(
    "task", family="whatsapp-miner-prd-miner", cpu="256", memory="512", network_mode="awsvpc",
    requires_compatibilities=["FARGATE"], container_definitions=json.dumps([container]),
)
