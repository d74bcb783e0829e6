-- Policy sandbox (政策沙盘, issue 22): stored scenarios, their simulation runs, and pre-registered
-- policy experiments (社会联合实验). A simulation never writes cases: its results are one JSON document.
CREATE TABLE sandbox_scenarios (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_by  INTEGER REFERENCES users(id),
    created_at  TEXT    NOT NULL
);
CREATE TABLE sandbox_runs (
    id           INTEGER PRIMARY KEY,
    scenario_id  INTEGER NOT NULL REFERENCES sandbox_scenarios(id),
    status       TEXT    NOT NULL,
    progress     REAL    NOT NULL DEFAULT 0,
    result       TEXT,
    error        TEXT,
    created_by   INTEGER REFERENCES users(id),
    created_at   TEXT    NOT NULL,
    finished_at  TEXT
);
CREATE INDEX sandbox_runs_scenario ON sandbox_runs(scenario_id, id);
-- An experiment is written once, before its period starts (pre-registration); only its estimate
-- is added later, as a new row in sandbox_estimates.
CREATE TABLE sandbox_experiments (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    policy         TEXT    NOT NULL,
    indicator      TEXT    NOT NULL,
    unit_level     TEXT    NOT NULL,
    pre_from       TEXT    NOT NULL,
    start_day      TEXT    NOT NULL,
    end_day        TEXT    NOT NULL,
    seed           INTEGER NOT NULL,
    treated        TEXT    NOT NULL,
    control        TEXT    NOT NULL,
    created_by     INTEGER REFERENCES users(id),
    registered_at  TEXT    NOT NULL
);
CREATE TABLE sandbox_estimates (
    id             INTEGER PRIMARY KEY,
    experiment_id  INTEGER NOT NULL REFERENCES sandbox_experiments(id),
    body           TEXT    NOT NULL,
    created_at     TEXT    NOT NULL
);
