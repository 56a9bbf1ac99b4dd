"""Deploy by digest: what a host or ECS runs is `repository@sha256:<digest>`.

Mirrors tests/test_program.py (the host deploy's --image) and
tests/test_ecs_program.py (task definition images).
"""

from __future__ import annotations

import re
import shlex

from .common import container_definitions, violation

REMOTE_COMMAND = "command:remote:Command"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
BY_DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
COMMAND_FIELDS = ("create", "update", "delete")


def deploy_by_digest(name: str, type_: str, props) -> list[str]:
    if type_ == REMOTE_COMMAND:
        return [violation(name, field, f"deploys --image {image!r}",
                          "pass the pushed image as repository@sha256:<digest>, never a tag")
                for field in COMMAND_FIELDS for image in _deployed_images(props.get(field) or "")
                if not BY_DIGEST.match(image)]
    if type_ == TASK_DEFINITION:
        return [violation(name, f"containerDefinitions[{index}].image", f"is {container.get('image')!r}",
                          "use repository@sha256:<digest>, never a tag")
                for index, container in enumerate(container_definitions(props))
                if not BY_DIGEST.match(container.get("image") or "")]
    return []


def _deployed_images(script: str) -> list[str]:
    """The --image of every `host-deploy deploy` in SCRIPT ('' when one has none)."""
    images = []
    for command in re.split(r"&&|\|\||;|\n", script):
        words = shlex.split(command, posix=True) if command.strip() else []
        runs_deploy = any(word.endswith("host-deploy") and words[index + 1:index + 2] == ["deploy"]
                          for index, word in enumerate(words))
        if runs_deploy:
            images.append(next((words[index + 1] for index, word in enumerate(words[:-1]) if word == "--image"), ""))
    return images
