-- Open311 GeoReport v2 clients: other systems that may POST service requests with an api_key.
-- Only the SHA-256 (hex) of each key is stored; a revoked client keeps its row for the audit trail.

CREATE TABLE open311_clients (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    key_hash    TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
