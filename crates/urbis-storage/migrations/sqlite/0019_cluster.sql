-- The multi-node mode (issue 16): how far each relay has published the audit log to the broker.
-- A relay stores the sequence number of the last audit record the broker acknowledged, so a relay
-- that starts (after a crash, on another node) resumes after it.
CREATE TABLE IF NOT EXISTS relay_positions (
    name TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
