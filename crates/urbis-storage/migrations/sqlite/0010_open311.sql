-- Open311 service requests: every POST gets its own service_request_id. A request that opened a
-- case takes the case's number; one that intake attached to an open case (a repeat report) gets
-- "{case number}-{appeal id}" and follows that case's progress. media_urls holds the URLs the
-- client sent, one per line.
CREATE TABLE open311_requests (
    id          INTEGER PRIMARY KEY,
    number      TEXT    NOT NULL UNIQUE,
    case_id     INTEGER NOT NULL REFERENCES cases(id),
    appeal_id   INTEGER NOT NULL REFERENCES appeals(id),
    client_id   INTEGER NOT NULL REFERENCES open311_clients(id),
    merged      INTEGER NOT NULL,
    media_urls  TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL
);
CREATE INDEX open311_requests_case ON open311_requests(case_id);
CREATE INDEX open311_requests_merged_created ON open311_requests(created_at) WHERE merged = 1;

-- Comments and status reports that clients posted on requests (mySociety's
-- servicerequestupdates). They never move the case through the workflow; staff read them in the
-- case's trail (audit record `open311_update`). external_id is the client's own id of the update,
-- so a retry returns the stored one.
CREATE TABLE open311_updates (
    id              INTEGER PRIMARY KEY,
    case_id         INTEGER NOT NULL REFERENCES cases(id),
    request_number  TEXT    NOT NULL,
    client_id       INTEGER NOT NULL REFERENCES open311_clients(id),
    external_id     TEXT    NOT NULL DEFAULT '',
    client_status   TEXT    NOT NULL,
    public_status   TEXT    NOT NULL,
    description     TEXT    NOT NULL,
    media_urls      TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL
);
CREATE INDEX open311_updates_case ON open311_updates(case_id);
CREATE INDEX open311_updates_created ON open311_updates(created_at);
CREATE UNIQUE INDEX open311_updates_external ON open311_updates(client_id, external_id)
    WHERE external_id != '';

-- The public trail by time (servicerequestupdates by date window): state changes of cases only.
CREATE INDEX audit_log_case_changes_at ON audit_log(at)
    WHERE entity = 'case' AND from_state != to_state;
