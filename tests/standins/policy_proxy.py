"""The language host's Analyzer proxy for policy packs, as pulumi's sdk/policy_proxy.go (v3.259.0) has it.

The engine talks to the proxy, which answers `Handshake` and takes
`ConfigureStack` itself; the host starts the real policy pack only once the
stack configuration is known (it goes into the pack's environment), then
forwards that configuration and every other call to the pack.
"""

from __future__ import annotations

import threading
from concurrent import futures

import grpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

FORWARDED = ("Analyze", "AnalyzeStack", "Remediate", "GetAnalyzerInfo", "GetPluginInfo", "Configure", "Cancel")


class PolicyProxy(analyzer_pb2_grpc.AnalyzerServicer):
    def __init__(self):
        self._configured = threading.Event()
        self._configuration: analyzer_pb2.AnalyzerStackConfigureRequest | None = None
        self._attached = threading.Event()
        self._client: analyzer_pb2_grpc.AnalyzerStub | None = None
        for method in FORWARDED:  # before registering: the server binds the methods it finds then
            setattr(self, method, self._forward(method))
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        analyzer_pb2_grpc.add_AnalyzerServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    def Handshake(self, request, context):
        return analyzer_pb2.AnalyzerHandshakeResponse()

    def ConfigureStack(self, request, context):
        self._configuration = request
        self._configured.set()
        return analyzer_pb2.AnalyzerStackConfigureResponse()

    def await_configuration(self) -> analyzer_pb2.AnalyzerStackConfigureRequest | None:
        """The stack's configuration; None when the engine called anything else first (`awaitClient`)."""
        self._configured.wait()
        return self._configuration

    def attach(self, port: int) -> None:
        """Connect to the started pack and hand it the configuration (Unimplemented is fine: older packs)."""
        client = analyzer_pb2_grpc.AnalyzerStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        if self._configuration is not None:
            try:
                client.ConfigureStack(self._configuration)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
        self._client = client
        self._attached.set()

    def stop(self) -> None:
        self._configured.set()  # nothing waits any longer: calls still waiting get "not started"
        self._attached.set()
        self._server.stop(grace=None)

    def _forward(self, method: str):
        def forward(request, context):
            self._configured.set()
            self._attached.wait()
            if self._client is None:
                context.abort(grpc.StatusCode.UNAVAILABLE, "policy pack not started")
            return getattr(self._client, method)(request)
        return forward
