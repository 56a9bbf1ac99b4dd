"""An EC2 host the stack creates (`provisionHost: true`).

Amazon Linux 2023, SSH only from the stack's CIDRs, an instance role that may
only pull this project's repository, IMDSv2 with a hop limit of 1 (containers
cannot reach the role), an encrypted gp3 root volume, and a host key made by
the stack so that the very first connection is verified. The host is ready
when cloud-init has finished: every connection it hands out carries that
dependency.

The host key trade-off (docs/target-host.md, "A provisioned host"): its private half is in
the user-data and in the Pulumi state (a secret there). User-data can be read
by anyone allowed `ec2:DescribeInstanceAttribute` and from the instance
metadata service, which IMDSv2 with hop limit 1 keeps from the containers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_command import local, remote

from components.targets.host import cloud_init, commands, ssh_keys
from components.targets.host.connection import connection_to

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{}"
AMI_ARCHITECTURES = {"x86_64": "x86_64", "aarch64": "arm64"}
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@dataclass(frozen=True)
class HostSpec:
    """The host the stack asks for (the `provisionHost` keys)."""

    instance_type: str
    architecture: str
    """`x86_64` or `aarch64`: the AMI's and the compose binary's, from `platform`."""
    subnet_id: str | None
    """None: the default VPC's default subnet."""
    ssh_cidrs: tuple[str, ...]
    """Where SSH may come from; never the world unless the stack says so."""
    elastic_ip: bool
    ssm: bool
    """Whether the instance role may be used by SSM Session Manager."""
    volume_gb: int
    cloud_init_timeout: int
    """Seconds the first connection waits for the host's cloud-init."""
    authorized_key: str
    """The deploy user's public key, derived from the SSH private key; cloud-init creates the user with it."""


@dataclass
class ProvisionedHostArgs:
    name: str
    """Name tag of the host and its security group (the compose project's name)."""
    spec: HostSpec
    login: remote.ConnectionArgs
    """How the deploy logs in (user, port, key, retries); the host and its key are set here."""
    repository_url: pulumi.Input[str]
    """The one repository the host pulls from; its registry gets the credential helper."""
    repository_arn: pulumi.Input[str]
    """The only repository the instance role may pull."""
    provider: aws.Provider
    """The explicit provider built from the mapped credentials."""


def pull_policy(repository_arn: str) -> str:
    """Pull from REPOSITORY_ARN and nothing else. GetAuthorizationToken has no
    resource-level permissions: AWS requires `*` as its resource."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EcrToken", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
            {"Sid": "PullThisRepository", "Effect": "Allow",
             "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], "Resource": repository_arn},
        ],
    })


ASSUME_ROLE_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


class ProvisionedHost(pulumi.ComponentResource):
    instance_id: pulumi.Output[str]
    public_ip: pulumi.Output[str]
    """The address SSH uses: the Elastic IP when there is one."""
    private_ip: pulumi.Output[str]
    host_key: pulumi.Output[str]
    """The pinned public host key, `ssh-ed25519 AAAA...`."""
    host_key_fingerprint: pulumi.Output[str]
    connection: remote.ConnectionArgs
    """The deploy's connection to this host, ready once cloud-init has finished."""

    def __init__(self, name: str, args: ProvisionedHostArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("whatsapp-miner:deploy:ProvisionedHost", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        invoke = pulumi.InvokeOutputOptions(parent=self, provider=args.provider)
        tags = {"Name": args.name}

        # Made once: the key lives as long as the stack. An update would run
        # `create` again (there is no `update`) and make a new key that the
        # running host never gets, so no input change may update it.
        key = local.Command(
            f"{name}-key",
            create=ssh_keys.GENERATE_HOST_KEY,
            logging=local.Logging.NONE,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"],
                                        ignore_changes=["create", "logging", "addPreviousOutputInEnv"]),
        )
        key_pair = key.stdout.apply(ssh_keys.split_generated_host_key)
        # The public half is not a secret; it is what the connection pins.
        self.host_key = pulumi.Output.unsecret(key_pair.apply(lambda pair: pair[1]))
        self.host_key_fingerprint = self.host_key.apply(ssh_keys.fingerprint)

        vpc_id = (aws.ec2.get_subnet_output(id=args.spec.subnet_id, opts=invoke).vpc_id if args.spec.subnet_id
                  else aws.ec2.get_vpc_output(default=True, opts=invoke).id)
        v4 = [cidr for cidr in args.spec.ssh_cidrs if ":" not in cidr]
        v6 = [cidr for cidr in args.spec.ssh_cidrs if ":" in cidr]
        firewall = aws.ec2.SecurityGroup(
            f"{name}-firewall",
            vpc_id=vpc_id,
            # EC2's own character set, which the provider does not check (tests/test_aws_input_rules.py).
            description=f"{args.name}: SSH from the stack CIDRs, HTTPS out",
            ingress=[aws.ec2.SecurityGroupIngressArgs(
                description="SSH", protocol="tcp", from_port=args.login.port, to_port=args.login.port,
                cidr_blocks=v4, ipv6_cidr_blocks=v6,
            )],
            # Packages, the compose download and ECR (its layers are on S3) are
            # all HTTPS; DNS, NTP and instance metadata are not filtered.
            egress=[aws.ec2.SecurityGroupEgressArgs(
                description="HTTPS", protocol="tcp", from_port=443, to_port=443,
                cidr_blocks=["0.0.0.0/0"], ipv6_cidr_blocks=["::/0"],
            )],
            tags=tags,
            opts=child,
        )

        role = aws.iam.Role(f"{name}-role", assume_role_policy=ASSUME_ROLE_POLICY, tags=tags, opts=child)
        aws.iam.RolePolicy(f"{name}-ecr-pull", role=role.id,
                           policy=pulumi.Output.from_input(args.repository_arn).apply(pull_policy), opts=child)
        if args.spec.ssm:
            aws.iam.RolePolicyAttachment(f"{name}-ssm", role=role.name, policy_arn=SSM_POLICY, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=tags, opts=child)

        user_data = pulumi.Output.all(key_pair, args.repository_url).apply(lambda values: cloud_init.render(
            cloud_init.HostConfig(
                user=args.login.user,
                authorized_key=args.spec.authorized_key,
                host_key_private=values[0][0],
                host_key_public=values[0][1],
                registry=values[1].split("/", 1)[0],
                architecture=args.spec.architecture,
            )))
        ami = aws.ssm.get_parameter_output(name=AMI_PARAMETER.format(AMI_ARCHITECTURES[args.spec.architecture]),
                                           opts=invoke)
        instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=ami.value,
            instance_type=args.spec.instance_type,
            subnet_id=args.spec.subnet_id,
            associate_public_ip_address=True,
            vpc_security_group_ids=[firewall.id],
            iam_instance_profile=profile.name,
            user_data=pulumi.Output.secret(user_data),
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1,
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3", volume_size=args.spec.volume_gb, encrypted=True, delete_on_termination=True,
            ),
            tags=tags,
            # cloud-init reads user-data on the first boot only, and a changed
            # AMI would replace the host: neither is applied to a running host.
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(
                ignore_changes=["ami", "userData"], additional_secret_outputs=["userData"],
            )),
        )
        self.public_ip = instance.public_ip
        if args.spec.elastic_ip:
            self.public_ip = aws.ec2.Eip(f"{name}-ip", domain="vpc", instance=instance.id, tags=tags,
                                         opts=child).public_ip
        self.instance_id = instance.id
        self.private_ip = instance.private_ip

        cloud_init_done = remote.Command(
            f"{name}-cloud-init",
            connection=connection_to(self.public_ip, self.host_key, args.login),
            create=commands.wait_for_cloud_init(args.spec.cloud_init_timeout),
            triggers=[instance.id],
            add_previous_output_in_env=False,
            logging=remote.Logging.STDOUT_AND_STDERR,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The address as the deploy sees it: known only once cloud-init is
        # done, so every command on the host waits for it.
        ready = pulumi.Output.all(self.public_ip, cloud_init_done.id).apply(lambda values: values[0])
        self.connection = connection_to(ready, self.host_key, args.login)
        self.register_outputs({
            "instance_id": self.instance_id, "public_ip": self.public_ip, "private_ip": self.private_ip,
            "host_key": self.host_key, "host_key_fingerprint": self.host_key_fingerprint,
        })
