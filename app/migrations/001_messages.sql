CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    chat TEXT NOT NULL,
    sender TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (datetime('now')),
    category TEXT
);
CREATE INDEX IF NOT EXISTS messages_unclassified ON messages (id) WHERE category IS NULL;
