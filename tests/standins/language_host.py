"""Test stand-in for the pulumi-language-python plugin (the Python language host).

The real host (pulumi sdk/python/cmd/pulumi-language-python, its own Go
module) is not served by the Go module proxy here; the engine talking to it
is real. What this copies from the real host's main.go at v3.259.0:

- `Run` starts `<virtualenv>/bin/python -u pulumi-language-python-exec
  --monitor M --engine E --project P --root_directory R --stack S --pwd D
  --dry_run B --parallel N --organization O ENTRYPOINT` (`constructArguments`),
  with the config as JSON in PULUMI_CONFIG and the secret keys in
  PULUMI_CONFIG_SECRET_KEYS (`constructConfig`, `constructConfigSecretKeys`);
  the exec script is the SDK's own, installed next to the CLI;
- exit code 32 means the program already reported its error: `bail`;
  any other failure is "program exited with non-zero exit code: N";
- plugins are not installed by the host: the tests put them on PATH, so
  `GetRequiredPackages` answers with none;
- `RunPlugin` of a policy pack (kind `analyzer`: `pulumi preview --policy-pack
  DIR`, which the engine starts through the language host named in the
  pack's PulumiPolicy.yaml, pulumi sdk/go/common/resource/plugin/plugin.go
  `newPlugin`): the Analyzer proxy of pulumi sdk/policy_proxy.go prints its
  port, takes the stack configuration, and only then the host runs
  `<virtualenv>/bin/python -u -m pulumi.policy ARGS... PROGRAM_DIR` in the
  pack's directory with PULUMI_ORGANIZATION, PULUMI_PROJECT, PULUMI_STACK,
  PULUMI_DRY_RUN and PULUMI_CONFIG set (when not empty), then the request's
  own environment; a non-zero exit is sent as the exit code. Other plugin
  kinds (resource plugins written in Python) are not run by this stand-in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

from tests.standins.policy_run import run_policy_pack

EXEC_SCRIPT = "pulumi-language-python-exec"
USER_ACTIONABLE_EXIT = 32  # pythonProcessExitedAfterShowingUserActionableMessage


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    def __init__(self, engine_address: str):
        self.engine_address = engine_address

    def GetPluginInfo(self, request, context):
        return plugin_pb2.PluginInfo(version="3.259.0")

    def GetRequiredPackages(self, request, context):
        return language_pb2.GetRequiredPackagesResponse()

    def GetRequiredPlugins(self, request, context):
        return language_pb2.GetRequiredPluginsResponse()

    def InstallDependencies(self, request, context):
        return iter(())

    def Run(self, request, context):
        root = Path(request.info.root_directory)
        options = dict(request.info.options.items())
        python = root / options.get("virtualenv", ".venv") / "bin" / "python"
        executor = shutil.which(EXEC_SCRIPT)
        if executor is None:
            return language_pb2.RunResponse(error=f"{EXEC_SCRIPT} is not on PATH (scripts/pulumi-from-source)")
        argv = [str(python), "-u", executor]
        for flag, value in (
            ("monitor", request.monitor_address), ("engine", self.engine_address), ("project", request.project),
            ("root_directory", request.info.root_directory), ("stack", request.stack), ("pwd", request.pwd),
            ("dry_run", "true" if request.dryRun else "false"), ("parallel", str(request.parallel)),
            ("organization", request.organization),
        ):
            if value:
                argv += [f"--{flag}", value]
        argv += [request.info.entry_point, *request.args]
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        env["PULUMI_CONFIG"] = json.dumps(dict(request.config.items()))
        env["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(request.configSecretKeys))
        code = subprocess.run(argv, env=env, check=False).returncode
        if code == 0:
            return language_pb2.RunResponse()
        if code == USER_ACTIONABLE_EXIT:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"program exited with non-zero exit code: {code}")

    def RunPlugin(self, request, context):
        if request.kind != "analyzer":
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "this stand-in runs only policy packs (kind analyzer)")
        yield from run_policy_pack(request, context)


def main() -> None:
    engine_address = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    # A policy pack's RunPlugin stream holds one worker for the whole run.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(LanguageHost(engine_address), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:  # how the engine stops its plugins
        server.stop(grace=None)


if __name__ == "__main__":
    main()
