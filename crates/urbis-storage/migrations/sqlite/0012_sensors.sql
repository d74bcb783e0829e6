-- Perception (issue 17): sensor types with default rules, the device registry, readings (raw and
-- hourly), the dead letters of ingestion, and alarms with their verification (核实).

-- A device type: its unit, the category its cases take, and its default rules (JSON, see
-- urbis_domain::sensor::RuleSet).
CREATE TABLE sensor_types (
    code         TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    unit         TEXT    NOT NULL,
    category_id  INTEGER REFERENCES categories(id),
    rules        TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);

-- A device. code: the id in its MQTT topic. rules: a per-device override of the type's rules (JSON) or NULL.
-- state: online | offline | alarm.
CREATE TABLE sensor_devices (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    type_code   TEXT    NOT NULL REFERENCES sensor_types(code),
    name        TEXT    NOT NULL,
    lat         REAL    NOT NULL,
    lon         REAL    NOT NULL,
    asset_id    TEXT    REFERENCES assets(id),
    area_id     INTEGER REFERENCES areas(id),
    rules       TEXT,
    state       TEXT    NOT NULL CHECK (state IN ('online', 'offline', 'alarm')),
    last_value  REAL,
    last_at     TEXT,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);

-- Raw readings (kept for the retention period), then hourly aggregates.
CREATE TABLE sensor_readings (
    device_id    INTEGER NOT NULL REFERENCES sensor_devices(id),
    at           TEXT    NOT NULL,
    value        REAL    NOT NULL,
    received_at  TEXT    NOT NULL
);
CREATE INDEX sensor_readings_device_at ON sensor_readings(device_id, at);

CREATE TABLE sensor_readings_hourly (
    device_id  INTEGER NOT NULL REFERENCES sensor_devices(id),
    hour       TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    min_value  REAL    NOT NULL,
    max_value  REAL    NOT NULL,
    sum_value  REAL    NOT NULL,
    PRIMARY KEY (device_id, hour)
);

-- Messages ingestion could not take, with why. payload: its first 1,024 bytes (lossy UTF-8).
CREATE TABLE sensor_dead_letters (
    id           INTEGER PRIMARY KEY,
    topic        TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    detail       TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    size_bytes   INTEGER NOT NULL,
    received_at  TEXT    NOT NULL
);

-- An alarm: raised by a rule, verified by the grid's supervisor before its deadline.
-- state: pending (awaiting 核实) | confirmed | rejected | cleared (recovered before verification) | joined (an open case took it).
-- active: the rule's condition still holds (hysteresis: no new alarm of this rule while one is active).
CREATE TABLE sensor_alarms (
    id                  INTEGER PRIMARY KEY,
    device_id           INTEGER NOT NULL REFERENCES sensor_devices(id),
    rule                TEXT    NOT NULL,
    state               TEXT    NOT NULL CHECK (state IN ('pending', 'confirmed', 'rejected', 'cleared', 'joined')),
    active              INTEGER NOT NULL,
    value               REAL,
    message             TEXT    NOT NULL,
    supervisor_user_id  INTEGER REFERENCES users(id),
    raised_at           TEXT    NOT NULL,
    due_at              TEXT    NOT NULL,
    ended_at            TEXT,
    decided_by          INTEGER REFERENCES users(id),
    case_id             INTEGER REFERENCES cases(id)
);
CREATE INDEX sensor_alarms_device ON sensor_alarms(device_id, active);
CREATE INDEX sensor_alarms_state ON sensor_alarms(state, supervisor_user_id);
