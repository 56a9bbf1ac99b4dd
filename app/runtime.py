"""What the services share: database, heartbeat, a loop that stops cleanly."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

DATABASE = Path(os.environ.get("DATABASE_PATH", "/data/whatsapp-miner.sqlite3"))
HEARTBEAT_DIR = Path(os.environ.get("HEARTBEAT_DIR", "/tmp"))
INTERVAL = float(os.environ.get("POLL_SECONDS", "5"))


def connect() -> sqlite3.Connection:
    DATABASE.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(DATABASE, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def heartbeat_file(service: str) -> Path:
    return HEARTBEAT_DIR / f"heartbeat-{service}"


def run_forever(service: str, step: Callable[[sqlite3.Connection], int]) -> None:
    """Call STEP every INTERVAL seconds, beat after each, stop on SIGTERM."""
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {service} %(message)s")
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.info("starting in %s", os.environ.get("ENV_NAME", "unknown"))
    with connect() as connection:
        while not stopping:
            handled = step(connection)
            connection.commit()
            if handled:
                logging.info("handled %d messages", handled)
            heartbeat_file(service).touch()
            time.sleep(INTERVAL)
    logging.info("stopped")
