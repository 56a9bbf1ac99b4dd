"""Healthcheck: a service is healthy while its heartbeat is fresh."""

from __future__ import annotations

import sys
import time

from app.runtime import INTERVAL, heartbeat_file

MAX_AGE = max(30.0, 3 * INTERVAL)


def healthy(service: str) -> bool:
    beat = heartbeat_file(service)
    return beat.exists() and time.time() - beat.stat().st_mtime < MAX_AGE


if __name__ == "__main__":
    sys.exit(0 if healthy(sys.argv[1]) else 1)
