"""Apply app/migrations/*.sql in order, once each."""

from __future__ import annotations

import logging
from pathlib import Path

from app.runtime import DATABASE, connect

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrate() -> list[str]:
    with connect() as connection:
        connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        done = {row[0] for row in connection.execute("SELECT name FROM schema_migrations")}
        applied = []
        for script in sorted(MIGRATIONS.glob("*.sql")):
            if script.name in done:
                continue
            connection.executescript(script.read_text())
            connection.execute(
                "INSERT INTO schema_migrations VALUES (?, datetime('now'))", (script.name,)
            )
            applied.append(script.name)
    return applied


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s migrate %(message)s")
    logging.info("applied %s to %s", migrate() or "nothing", DATABASE)
