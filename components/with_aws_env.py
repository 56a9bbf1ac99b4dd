"""scripts/with-aws-env: run a command with the secrets as a CI job's steps see them.

`doppler run` hands every command the aliases (AWS_EC2_REGION, ...), maybe
quoted; the program maps them itself, but the Pulumi CLI (an s3:// state
backend) and scripts/host-status read only the standard names. This applies
the program's own rules (components.config.environment) and then becomes the command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

from components.config import environment

USAGE = "usage: scripts/with-aws-env [--] COMMAND [ARGUMENT...]"
# What a shell answers for a command it cannot find or run.
EXIT_USAGE, EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND = 2, 126, 127


def main(argv: Sequence[str], environ: Mapping[str, str],
         execvpe: Callable[[str, Sequence[str], Mapping[str, str]], object] = os.execvpe) -> int:
    """Warn about differing alias pairs (names only), then exec ARGV with
    the mapped environment. Returns only when the command could not start."""
    command = list(argv[1:] if argv[:1] == ["--"] else argv)
    if not command:
        print(f"with-aws-env: no command given\n{USAGE}", file=sys.stderr)
        return EXIT_USAGE
    for warning in environment.alias_conflicts(environ):
        print(f"with-aws-env: warning: {warning}", file=sys.stderr)
    try:
        execvpe(command[0], command, environment.command_environment(environ))
    except FileNotFoundError:
        print(f"with-aws-env: {command[0]}: command not found", file=sys.stderr)
        return EXIT_NOT_FOUND
    except PermissionError:
        print(f"with-aws-env: {command[0]}: permission denied", file=sys.stderr)
        return EXIT_NOT_EXECUTABLE
    return 0  # only a stand-in execvpe returns


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
