"""No secret in a plaintext input; ECS secrets come from SSM.

pulumi-policy 1.21.0 hands validations the inputs with secrets already
unwrapped (pulumi_policy/policy.py: Analyze calls deserialize_properties
without proxy_secrets), so a rule cannot ask whether a value is secret. These
rules hold the places where the program's conventions put secrets: on stdin,
never in a command's text or `environment`; in SSM SecureString parameters
that containers read through `secrets`, never in their `environment`.
Mirrors tests/test_program.py (stdin, no secret outside secret inputs) and
tests/test_ecs_program.py (parameter references only).
"""

from __future__ import annotations

import re

from .common import container_definitions, is_secret_name, violation

COMMANDS = ("command:remote:Command", "command:local:Command")
COMMAND_FIELDS = ("create", "update", "delete")
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ASSIGNMENT = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)=(?=\S)")
SSM_ARN = re.compile(r"^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:\S+$")


def no_plaintext_secrets(name: str, type_: str, props) -> list[str]:
    found = []
    if type_ in COMMANDS:
        for variable in (props.get("environment") or {}):
            if is_secret_name(variable):
                found.append(violation(name, f"environment.{variable}", "holds a secret",
                                       "send it on stdin as a secret (pulumi.Output.secret)"))
        for field in COMMAND_FIELDS:
            for variable in ASSIGNMENT.findall(props.get(field) or ""):
                if is_secret_name(variable):
                    found.append(violation(name, field, f"sets {variable} on the command line",
                                           "send it on stdin as a secret; a command line shows in ps and logs"))
    elif type_ == SSM_PARAMETER and props.get("type") != "SecureString":
        found.append(violation(name, "type", f"is {props.get('type')!r}",
                               "store secrets as 'SecureString' (encrypted with KMS)"))
    return found


def ecs_secrets_from_ssm(name: str, type_: str, props) -> list[str]:
    if type_ != TASK_DEFINITION:
        return []
    found = []
    for index, container in enumerate(container_definitions(props)):
        for variable in container.get("environment") or []:
            if is_secret_name(variable.get("name") or ""):
                found.append(violation(name, f"containerDefinitions[{index}].environment.{variable['name']}",
                                       "holds a secret in plaintext",
                                       "move it to `secrets` with valueFrom an SSM SecureString parameter ARN"))
        for secret in container.get("secrets") or []:
            if not SSM_ARN.match(secret.get("valueFrom") or ""):
                found.append(violation(name, f"containerDefinitions[{index}].secrets.{secret.get('name')}.valueFrom",
                                       f"is {secret.get('valueFrom')!r}", "reference an SSM parameter by its ARN"))
    return found
