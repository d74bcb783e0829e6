-- The write probe: `Db::probe_write` (start and /readyz) proves the store takes a durable write.
CREATE TABLE store_probe (
    id  INTEGER PRIMARY KEY,
    at  TEXT NOT NULL
);

-- What the first appeal under an idempotency key said (SHA-256 of its content), so that the key
-- reused with a different body is refused instead of silently answering with the first case.
ALTER TABLE appeals ADD COLUMN idempotency_hash TEXT;

-- A state count that reached zero is removed, not kept forever.
DELETE FROM case_state_counts WHERE n = 0;
