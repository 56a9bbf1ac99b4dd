"""Test stand-ins for the Pulumi plugins that cannot be built here.

The Pulumi CLI (the engine) is built from the Go module proxy by
scripts/pulumi-from-source. These plugins cannot be, so the tests put these
stand-ins on PATH, where the CLI looks for plugins first ("ambient plugins",
pulumi sdk/go/common/workspace/plugins.go `getPluginInfoAndPath`):

- pulumi-language-python: the language host; Run starts the SDK's own
  `pulumi-language-python-exec` the way the real host does;
- pulumi-resource-command: pulumi-command 1.2.1 (remote and local Command,
  CopyToRemote) over the OpenSSH client;
- pulumi-resource-aws: every resource and lookup the program declares (the
  registry's, a provisioned host's, the ecs target's), on moto;
- pulumi-resource-docker: the Image resource, on a local registry.

Each diff and lifecycle rule cites the provider source it copies.

host-bin/ holds what a provisioned host has and the test host lacks, put on
the PATH of that host's SSH sessions: `cloud-init` (its `status --wait`).
"""
