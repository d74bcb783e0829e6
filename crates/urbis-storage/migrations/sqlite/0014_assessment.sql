-- Assessment (绩效考核, issue 19): versioned schemes, frozen results per period and unit, appeals.
CREATE TABLE assessment_schemes (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT    NOT NULL,
    UNIQUE (code, version)
);
-- One row per unit and revision; `current` marks the revision in force (an accepted appeal adds a
-- revision and clears the flag on the one it replaces). Rows are never updated otherwise.
CREATE TABLE assessment_results (
    id          INTEGER PRIMARY KEY,
    scheme_id   INTEGER NOT NULL REFERENCES assessment_schemes(id),
    period      TEXT    NOT NULL,
    unit_kind   TEXT    NOT NULL,
    unit_id     INTEGER NOT NULL,
    unit_name   TEXT    NOT NULL,
    revision    INTEGER NOT NULL,
    current     INTEGER NOT NULL,
    cases       INTEGER NOT NULL,
    score       REAL,
    grade       TEXT,
    detail      TEXT    NOT NULL,
    case_ids    TEXT    NOT NULL,
    excluded    TEXT    NOT NULL DEFAULT '',
    frozen_at   TEXT    NOT NULL,
    UNIQUE (scheme_id, period, unit_kind, unit_id, revision)
);
CREATE INDEX assessment_results_period ON assessment_results(scheme_id, period, unit_kind, current);
CREATE TABLE assessment_appeals (
    id            INTEGER PRIMARY KEY,
    result_id     INTEGER NOT NULL REFERENCES assessment_results(id),
    reason        TEXT    NOT NULL,
    case_ids      TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    filed_by      INTEGER REFERENCES users(id),
    filed_at      TEXT    NOT NULL,
    decided_by    INTEGER REFERENCES users(id),
    decided_at    TEXT,
    note          TEXT    NOT NULL DEFAULT '',
    new_result_id INTEGER REFERENCES assessment_results(id)
);
