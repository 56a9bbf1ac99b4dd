"""`RunPlugin` of a policy pack, as pulumi-language-python's main.go (v3.259.0) does it.

What it copies, step by step (`pythonLanguageHost.RunPlugin`):

- the Python is the pack's `virtualenv` option, relative to the pack's root
  (`parseOptions`; analyzers get no `venv` default, so without the option the
  ambient `python3` runs), activated as toolchain's `ActivateVirtualEnv`
  does: VIRTUAL_ENV set, its bin first on PATH, PYTHONHOME dropped;
- the command is `python -u -m pulumi.policy ARGS... PROGRAM_DIR` run in
  PROGRAM_DIR ("python policy packs used to always run with the working
  directory set to the policy pack directory");
- the Analyzer proxy (tests/standins/policy_proxy.py) prints its port first and
  waits for the stack configuration, which becomes PULUMI_ORGANIZATION,
  PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN and PULUMI_CONFIG (each only when
  not empty), followed by the request's `env`;
- the pack prints its own port first; the proxy attaches to it and the rest of
  its output streams on; a non-zero exit is sent as `exitcode`, a clean exit
  ends the stream;
- the engine cancelling the call kills the pack (`exec.CommandContext`).
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from pathlib import Path

import grpc
from pulumi.runtime.proto import language_pb2

from tests.standins.policy_proxy import PolicyProxy


def run_policy_pack(request, context):
    proxy = PolicyProxy()
    context.add_callback(proxy.stop)
    try:
        yield language_pb2.RunPluginResponse(stdout=f"{proxy.port}\n".encode())
        configuration = proxy.await_configuration()
        if not context.is_active():
            return
        python, env = _python(request)
        env.update(_stack_environment(configuration))
        env.update(entry.split("=", 1) for entry in request.env if "=" in entry)
        program_dir = request.info.program_directory
        pack = subprocess.Popen([python, "-u", "-m", "pulumi.policy", *request.args, program_dir], cwd=program_dir,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        context.add_callback(pack.kill)
        yield from _attach_and_stream(pack, proxy, context)
    finally:
        proxy.stop()


def _python(request) -> tuple[str, dict[str, str]]:
    """The pack's interpreter and its environment, the virtualenv activated."""
    options = dict(request.info.options.items())
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    if "virtualenv" not in options:
        return shutil.which("python3") or "python3", env
    virtualenv = (Path(request.info.root_directory) / options["virtualenv"]).resolve()
    env["VIRTUAL_ENV"] = str(virtualenv)
    env["PATH"] = os.pathsep.join([str(virtualenv / "bin"), env.get("PATH", "")])
    return str(virtualenv / "bin" / "python"), env


def _stack_environment(configuration) -> dict[str, str]:
    if configuration is None:
        return {}
    values = {
        "PULUMI_ORGANIZATION": configuration.organization, "PULUMI_PROJECT": configuration.project,
        "PULUMI_STACK": configuration.stack, "PULUMI_DRY_RUN": "true" if configuration.dry_run else "false",
        "PULUMI_CONFIG": json.dumps(dict(configuration.config.items())) if configuration.config else "",
    }
    return {key: value for key, value in values.items() if value}


def _attach_and_stream(pack: subprocess.Popen, proxy: PolicyProxy, context):
    output: queue.Queue = queue.Queue()
    readers = [threading.Thread(target=_pump, args=(pack.stderr, "stderr", output), daemon=True)]
    readers[0].start()
    first_line = pack.stdout.readline()
    if not first_line.strip().isdigit():
        pack.wait()
        readers[0].join()
        yield from _drain(output)
        context.abort(grpc.StatusCode.UNKNOWN, f"could not read policy pack port: {first_line!r}")
    proxy.attach(int(first_line))
    readers.append(threading.Thread(target=_pump, args=(pack.stdout, "stdout", output), daemon=True))
    readers[1].start()
    finished = 0
    while finished < len(readers):
        item = output.get()
        if item is None:
            finished += 1
        else:
            yield item
    code = pack.wait()
    if code != 0:
        yield language_pb2.RunPluginResponse(exitcode=code)


def _pump(stream, field: str, output: queue.Queue) -> None:
    for line in iter(stream.readline, b""):
        output.put(language_pb2.RunPluginResponse(**{field: line}))
    output.put(None)


def _drain(output: queue.Queue):
    while not output.empty():
        item = output.get()
        if item is not None:
            yield item
