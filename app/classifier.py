"""Classifier: label unclassified messages by keyword rules."""

from __future__ import annotations

import sqlite3

from app.runtime import run_forever

RULES = {
    "order": ("order", "buy", "price", "invoice"),
    "support": ("help", "broken", "problem", "refund"),
    "greeting": ("hello", "hi", "good morning"),
}


def classify(body: str) -> str:
    text = body.lower()
    for category, keywords in RULES.items():
        if any(keyword in text for keyword in keywords):
            return category
    return "other"


def classify_pending(connection: sqlite3.Connection) -> int:
    pending = connection.execute("SELECT id, body FROM messages WHERE category IS NULL LIMIT 500").fetchall()
    connection.executemany(
        "UPDATE messages SET category = ? WHERE id = ?", [(classify(body), id_) for id_, body in pending]
    )
    return len(pending)


if __name__ == "__main__":
    run_forever("classifier", classify_pending)
