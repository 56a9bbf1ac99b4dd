"""The sample workload's own logic, on a real SQLite database."""

from __future__ import annotations

import importlib
import json
import os
import time

import pytest


@pytest.fixture
def app(tmp_path, monkeypatch):
    """The app modules reading their paths from a fresh environment."""
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("HEARTBEAT_DIR", str(tmp_path))
    monkeypatch.setenv("INBOX_DIR", str(tmp_path / "inbox"))
    modules = {}
    for name in ("runtime", "migrate", "miner", "classifier", "healthcheck"):
        modules[name] = importlib.reload(importlib.import_module(f"app.{name}"))
    return modules


def test_migrations_apply_once(app):
    assert app["migrate"].migrate() == ["001_messages.sql"]
    assert app["migrate"].migrate() == []


def test_miner_ingests_exports_and_classifier_labels_them(app, tmp_path):
    app["migrate"].migrate()
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rows = [{"chat": "shop", "sender": "a", "body": "What is the price?"},
            {"chat": "shop", "sender": "b", "body": "Hello there"},
            {"chat": "shop", "sender": "c", "body": "It arrived broken"}]
    (inbox / "export.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    with app["runtime"].connect() as connection:
        assert app["miner"].ingest(connection) == 3
        assert app["miner"].ingest(connection) == 0  # the export is marked done
        assert app["classifier"].classify_pending(connection) == 3
        labels = connection.execute("SELECT sender, category FROM messages ORDER BY sender").fetchall()
    assert labels == [("a", "order"), ("b", "greeting"), ("c", "support")]
    assert (inbox / "export.done").exists()


def test_healthcheck_follows_the_heartbeat(app):
    beat = app["runtime"].heartbeat_file("miner")
    assert not app["healthcheck"].healthy("miner")
    beat.touch()
    assert app["healthcheck"].healthy("miner")
    stale = time.time() - 2 * app["healthcheck"].MAX_AGE
    os.utime(beat, (stale, stale))
    assert not app["healthcheck"].healthy("miner")
