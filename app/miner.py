"""Miner: ingest exported WhatsApp messages (JSON lines) from the inbox."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from app.runtime import run_forever

INBOX = Path(os.environ.get("INBOX_DIR", "/data/inbox"))


def ingest(connection: sqlite3.Connection) -> int:
    """Load every *.jsonl file in the inbox, then mark it done."""
    count = 0
    INBOX.mkdir(parents=True, exist_ok=True)
    for export in sorted(INBOX.glob("*.jsonl")):
        rows = [json.loads(line) for line in export.read_text().splitlines() if line.strip()]
        connection.executemany(
            "INSERT INTO messages (chat, sender, body) VALUES (:chat, :sender, :body)", rows
        )
        export.rename(export.with_suffix(".done"))
        count += len(rows)
    return count


if __name__ == "__main__":
    run_forever("miner", ingest)
