"""Test stand-in for the pulumi-command 1.2.1 provider plugin.

The real provider (github.com/pulumi/pulumi-command/provider) is not served
by the Go module proxy here. This one carries out remote.Command,
remote.CopyToRemote and local.Command with the OpenSSH client, sftp and
/bin/sh, under the rules of pulumi-command v1.2.1 (`pc:`, paths under
provider/pkg/provider/) and pulumi-go-provider v1.3.0 (`gp:`):

- Check fills the connection defaults user=root, port=22, dialErrorLimit=10,
  perDialTimeout=15 (pc:remote/connection.go:57-78); the connection is secret
  (pc:remote/command.go:46);
- Diff compares old and new inputs; only `triggers` replaces, every other
  change (create, stdin, logging, connection, source) is an in-place update;
  replacements are create-before-delete (gp:infer/resource.go:1132-1253);
- Create runs `create`; Update runs `update`, or `create` when there is no
  `update`; Delete runs `delete` from the old state; preview runs nothing and
  leaves stdout/stderr unknown (pc:remote/commandController.go:44-92);
- outputs are the inputs plus stdout and stderr, one trailing newline
  trimmed, captured whatever `logging` says (pc:remote/commandOutputs.go:104);
  `logging` (unset: both) picks which of them are also sent to the engine as
  ephemeral status lines (pc:util/util.go:32-53); the stand-in sends them
  when the command ends rather than as they come;
- stdin is written only when non-empty; `environment` on a remote command is
  SSH setenv, which stock sshd refuses beyond LANG and LC_* (AcceptEnv), and
  that refusal fails the command (pc:remote/commandOutputs.go:42-49);
- a pinned host key is the only host-key algorithm offered
  (pc:remote/connection.go:85-98); without one the host key is not checked;
- every failed dial (refused, timed out after perDialTimeout, host key or
  authentication refused) is retried with backoff until dialErrorLimit have
  failed (pc:remote/connection.go dialWithRetry); the stand-in dials with
  `ssh ... true` before each command or copy, so its errors are OpenSSH's
  words where the real provider's are golang.org/x/crypto/ssh's;
- a failure reads "<error>: running \"<command>\":\n<output>"
  (pc:remote/commandOutputs.go:100);
- CopyToRemote copies over SFTP, creating parent directories; it copies again
  only when `source` or `remotePath` changed, and its delete does nothing: the
  file stays (pc:remote/copyController.go:66-154). The engine compares assets
  by content hash; the stand-in keeps that hash as the input `__sourceHash`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
from pulumi.provider.experimental import provider as p
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

from tests.standins.plugin import UNKNOWN, changed_keys, diff, plain, plain_map, resource_type, serve, unknown, wrap

REMOTE_COMMAND = "command:remote:Command"
LOCAL_COMMAND = "command:local:Command"
COPY_TO_REMOTE = "command:remote:CopyToRemote"
CONNECTION_DEFAULTS = {"user": "root", "port": 22, "dialErrorLimit": 10, "perDialTimeout": 15}
ACCEPT_ENV = ("LANG", "LC_")  # sshd_config AcceptEnv as shipped by Amazon Linux, Debian, Ubuntu
OUTPUTS = ("stdout", "stderr")
SOURCE_HASH = "__sourceHash"


class CommandError(Exception):
    pass


class CommandStandIn(p.Provider):
    async def check(self, request: p.CheckRequest) -> p.CheckResponse:
        inputs = dict(request.new_inputs)
        source = plain(inputs["source"]) if "source" in inputs else None
        if hasattr(source, "path"):
            inputs[SOURCE_HASH] = wrap(hashlib.sha256(Path(source.path).read_bytes()).hexdigest())
        if "connection" in inputs:
            connection = inputs["connection"]
            given = plain(connection)
            if given is not UNKNOWN:
                given = {**CONNECTION_DEFAULTS, **{k: v for k, v in given.items() if v is not None}}
            inputs["connection"] = wrap(given, secret=True) if given is not UNKNOWN else connection
        return p.CheckResponse(inputs=inputs)

    async def diff(self, request: p.DiffRequest) -> p.DiffResponse:
        inputs = (set(request.old_state) | set(request.new_inputs)) - set(OUTPUTS) - {"source"}
        return diff(changed_keys(request.old_state, request.new_inputs, keys=inputs), replace_on=("triggers",))

    async def create(self, request: p.CreateRequest) -> p.CreateResponse:
        inputs = plain_map(request.properties)
        resource_id = f"{request.name}-{os.urandom(4).hex()}"
        if resource_type(request) == COPY_TO_REMOTE:
            if not request.preview:
                _copy_to_remote(inputs)
            return p.CreateResponse(resource_id, dict(request.properties))
        if request.preview:
            return p.CreateResponse(resource_id, {**request.properties, **_unknown_outputs()})
        ran = _run(resource_type(request), inputs, "create", request.urn) if inputs.get("create") else _no_output()
        return p.CreateResponse(resource_id, {**request.properties, **ran})

    async def update(self, request: p.UpdateRequest) -> p.UpdateResponse:
        news = plain_map(request.news)
        if resource_type(request) == COPY_TO_REMOTE:
            if not request.preview and changed_keys(request.olds, request.news, keys=(SOURCE_HASH, "remotePath")):
                _copy_to_remote(news)
            return p.UpdateResponse(dict(request.news))
        previous = {name: request.olds[name] for name in OUTPUTS if name in request.olds}
        if request.preview:
            return p.UpdateResponse({**request.news, **_unknown_outputs()})
        field = "update" if news.get("update") else "create"
        outputs = _run(resource_type(request), news, field, request.urn) if news.get(field) else previous
        return p.UpdateResponse({**request.news, **outputs})

    async def delete(self, request: p.DeleteRequest) -> None:
        state = plain_map(request.properties)
        if resource_type(request) != COPY_TO_REMOTE and state.get("delete"):
            _run(resource_type(request), state, "delete", request.urn)


def _no_output() -> dict[str, PropertyValue]:
    return {name: wrap("") for name in OUTPUTS}


def _unknown_outputs() -> dict[str, PropertyValue]:
    return {name: unknown() for name in OUTPUTS}


def _run(typ: str, inputs: dict, field: str, urn: str) -> dict[str, PropertyValue]:
    command = inputs[field]
    if typ == LOCAL_COMMAND:
        argv = ["/bin/sh", "-c", command]
        env = {**os.environ, **(inputs.get("environment") or {})}
    else:
        for variable in inputs.get("environment") or {}:
            if not variable.startswith(ACCEPT_ENV):
                raise CommandError(f'could not set environment variable "{variable}": ssh: setenv failed')
        argv, env = ["ssh", command], dict(os.environ)
    with _ssh_options(argv[0], inputs.get("connection")) as options:
        done = subprocess.run([argv[0], *options, *argv[1:]], input=(inputs.get("stdin") or "").encode(),
                              capture_output=True, env=env, cwd=inputs.get("dir") or None, check=False)
    stdout, stderr = done.stdout.decode(), done.stderr.decode()
    logging = inputs.get("logging") or "stdoutAndStderr"
    _status(urn, (stdout if logging in ("stdout", "stdoutAndStderr") else "")
            + (stderr if logging in ("stderr", "stdoutAndStderr") else ""))
    if done.returncode != 0:
        status = "exit status" if typ == LOCAL_COMMAND else "Process exited with status"
        raise CommandError(f"{status} {done.returncode}: running {command!r}:\n{stdout}{stderr}")
    return {"stdout": wrap(stdout.removesuffix("\n")), "stderr": wrap(stderr.removesuffix("\n"))}


def _status(urn: str, text: str) -> None:
    """Each line as an ephemeral info message of the resource (InfoStatus)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return
    engine = next(arg for arg in sys.argv[1:] if not arg.startswith("-"))
    with grpc.insecure_channel(engine) as channel:
        log = engine_pb2_grpc.EngineStub(channel).Log
        for line in lines:
            log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message=line, urn=urn, ephemeral=True))


def _copy_to_remote(inputs: dict) -> None:
    source, remote_path = inputs["source"], inputs["remotePath"]
    parents = [str(parent) for parent in reversed(Path(remote_path).parents) if str(parent) not in ("/", ".")]
    batch = [f'-mkdir "{parent}"' for parent in parents] + [f'put "{source.path}" "{remote_path}"']
    with _ssh_options("sftp", inputs["connection"]) as options:
        done = subprocess.run(["sftp", "-b", "-", *options], input="\n".join(batch) + "\n",
                              capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CommandError(f"sftp to {remote_path} failed: {done.stderr}")


@contextmanager
def _ssh_options(tool: str, connection: dict | None) -> Iterator[list[str]]:
    """Options for ssh or sftp from the connection: its key, host key and dial budget."""
    if connection is None:  # a local command
        yield []
        return
    with tempfile.TemporaryDirectory(prefix="command-standin-") as scratch:
        _dial(_connection_options("ssh", connection, Path(scratch)), int(connection["dialErrorLimit"]))
        yield _connection_options(tool, connection, Path(scratch))


def dial_waits(limit: int) -> Iterator[float]:
    """Seconds between failed dials: pulumi sdk go/common/util/retry/until.go's defaults
    (100 ms, 1.5 times longer each time, at most 5 s); -1 dials without end."""
    delay, failed = 0.1, 0
    while limit == -1 or failed < limit:
        yield min(delay, 5.0)
        delay, failed = delay * 1.5, failed + 1


def _dial(options: list[str], limit: int) -> None:
    """pc:remote/connection.go dialWithRetry: a dial is retried after any error, and the
    error after the last reads "after N failed attempts: <error>"."""
    waits = dial_waits(limit)
    while True:
        done = subprocess.run(["ssh", *options, "true"], capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return
        wait = next(waits, None)
        if wait is None:
            raise CommandError(f"after {limit} failed attempts: {done.stderr.strip()}")
        time.sleep(wait)


def _connection_options(tool: str, connection: dict, state: Path) -> list[str]:
    key = state / "key"
    key.write_text(connection["privateKey"].rstrip("\n") + "\n")
    key.chmod(0o600)
    options = ["-i", str(key), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes"]
    if int(connection["perDialTimeout"]):  # 0: no maximum
        options += ["-o", f"ConnectTimeout={int(connection['perDialTimeout'])}"]
    if connection.get("hostKey"):
        known = state / "known_hosts"
        host_key = connection["hostKey"]
        # sshd(8), SSH_KNOWN_HOSTS FILE FORMAT: `[host]:port` for a non-standard port only;
        # ssh looks port 22 up by the bare host.
        port = int(connection["port"])
        name = connection["host"] if port == 22 else f"[{connection['host']}]:{port}"
        known.write_text(f"{name} {host_key}\n")
        options += ["-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
                    "-o", f"HostKeyAlgorithms={host_key.split()[0]}"]
    else:
        options += ["-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no"]
    port_flag = "-P" if tool == "sftp" else "-p"
    return [*options, port_flag, str(int(connection["port"])), f"{connection['user']}@{connection['host']}"]


if __name__ == "__main__":
    serve(CommandStandIn(), "1.2.1")
