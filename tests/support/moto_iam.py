"""moto enforcing IAM: its bootstrap admin, and users holding the policies of docs/iam/.

moto's server checks each request's signature and the caller's policies once
INITIAL_NO_AUTH_ACTION_COUNT requests have gone unchecked (moto/core/
authorization.py, ActionAuthenticatorMixin: every request of a service counts,
checked or not, and the count is process-wide, hence a server of its own).
scripts/services.sh starts it with a count of BOOTSTRAP_REQUESTS and runs
`python -m tests.support.moto_iam bootstrap`, whose requests are exactly those:
an admin user, whose keys the tests use to make the users they need.

moto matches a statement's Action only: it authorizes these services' requests
against resource `*` and evaluates conditions as for trust policies, failing
those whose keys it does not know (moto/iam/access_control.py: "TODO add
support for the Resource and Condition parts of IAM policies"). So what moto
can enforce of a policy is which actions it allows: `enforceable` widens each
statement to `*` and drops its conditions. The resources and conditions are
tests/test_iam_policies.py's.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import boto3

from tests.support import docker_env

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "docs" / "iam"
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
BOOTSTRAP_REQUESTS = 3
"""create_user, put_user_policy, create_access_key: the requests moto lets through unchecked."""
PLACEHOLDERS = {  # README, "Setting it up", step 4
    "KMS_KEY_ARN": f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/*",
    "ACCOUNT_ID": ACCOUNT_ID, "REGION": REGION, "STATE_BUCKET": "whatsapp-miner-state", "STACK": "dev",
}


def client(endpoint: str, service: str, keys: dict[str, str]):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"])


def bootstrap(endpoint: str) -> dict[str, str]:
    """The admin user, in BOOTSTRAP_REQUESTS requests; its keys."""
    iam = client(endpoint, "iam", {"AccessKeyId": "bootstrap", "SecretAccessKey": "bootstrap"})
    iam.create_user(UserName="admin")
    iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def enforcing_moto() -> tuple[str, dict[str, str]]:
    """The endpoint of the moto that enforces IAM, and its admin's keys (scripts/services.sh)."""
    endpoint = os.environ.get("TEST_AWS_IAM_ENDPOINT_URL", "http://127.0.0.1:5002")
    docker_env.require_http("moto enforcing IAM", f"{endpoint}/moto-api/")
    keys = Path(os.environ.get("TEST_AWS_IAM_ADMIN_KEYS", "/tmp/whatsapp-miner-ci/moto-iam-admin.json"))
    if not keys.is_file():
        raise RuntimeError(f"no admin keys for moto enforcing IAM at {keys}: run the tests through scripts/test")
    return endpoint, json.loads(keys.read_text())


def policy(name: str) -> dict:
    """docs/iam/NAME.json with its placeholders filled in for moto's account."""
    text = (POLICIES / f"{name}.json").read_text()
    for placeholder, value in PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return json.loads(text)


def enforceable(document: dict) -> dict:
    """What moto can enforce of DOCUMENT: each statement's actions, on any resource (see above)."""
    return {**document, "Statement": [
        {key: value for key, value in {**statement, "Resource": "*"}.items() if key != "Condition"}
        for statement in document["Statement"]]}


def user_with_policies(endpoint: str, admin: dict[str, str], names: tuple[str, ...], suffix: str) -> dict[str, str]:
    """A user holding docs/iam/NAME.json for each of NAMES (as moto enforces them); its keys."""
    iam = client(endpoint, "iam", admin)
    user = f"{'+'.join(names)}-{suffix}"
    iam.create_user(UserName=user)
    for name in names:
        document = json.dumps(enforceable(policy(name)))
        arn = iam.create_policy(PolicyName=f"{user}-{name}", PolicyDocument=document)["Policy"]["Arn"]
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


if __name__ == "__main__":
    if sys.argv[1:2] == ["count"]:
        print(BOOTSTRAP_REQUESTS)
    else:  # bootstrap ENDPOINT KEYS_FILE
        _, _, endpoint_url, keys_file = sys.argv
        Path(keys_file).write_text(json.dumps(bootstrap(endpoint_url)))
