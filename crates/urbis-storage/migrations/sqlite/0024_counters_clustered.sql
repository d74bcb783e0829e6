-- The counter tables are stored by their keys (WITHOUT ROWID). As rowid tables each was two
-- b-trees, the rows in the order they were first counted and an index on the key, so every upsert
-- wrote a page of each, and the rows a group commit adds to (today's counters of the areas it
-- touches and of their ancestors) lay scattered through the table in the order they were first
-- counted; a group commit of about 31 appeals wrote about 185 of its 380 pages to the counters
-- (issue 23). Stored by the key, a counter is one b-tree entry beside its neighbours.
-- `stats_daily`'s covering index goes: dashboards read the roll-ups, and only the counter check and
-- the roll-up rebuild read `stats_daily`, by scanning it.
CREATE TABLE stats_daily_by_key (
    day          TEXT    NOT NULL,
    dim          TEXT    NOT NULL,
    dim_id       INTEGER NOT NULL,
    category_id  INTEGER NOT NULL,
    metric       TEXT    NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (day, dim, dim_id, category_id, metric)
) WITHOUT ROWID;
INSERT INTO stats_daily_by_key (day, dim, dim_id, category_id, metric, n)
    SELECT day, dim, dim_id, category_id, metric, n FROM stats_daily;
DROP TABLE stats_daily;
ALTER TABLE stats_daily_by_key RENAME TO stats_daily;

CREATE TABLE case_state_counts_by_key (
    area_id      INTEGER NOT NULL,
    dept_id      INTEGER NOT NULL,
    category_id  INTEGER NOT NULL,
    state        TEXT    NOT NULL,
    overdue      INTEGER NOT NULL,
    n            INTEGER NOT NULL,
    PRIMARY KEY (area_id, dept_id, category_id, state, overdue)
) WITHOUT ROWID;
INSERT INTO case_state_counts_by_key (area_id, dept_id, category_id, state, overdue, n)
    SELECT area_id, dept_id, category_id, state, overdue, n FROM case_state_counts;
DROP TABLE case_state_counts;
ALTER TABLE case_state_counts_by_key RENAME TO case_state_counts;

CREATE TABLE stats_rollup_by_key (
    dim       TEXT    NOT NULL,
    dim_id    INTEGER NOT NULL,
    day       TEXT    NOT NULL,
    metric    TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (dim, dim_id, day, metric, category)
) WITHOUT ROWID;
INSERT INTO stats_rollup_by_key (dim, dim_id, day, metric, category, n)
    SELECT dim, dim_id, day, metric, category, n FROM stats_rollup;
DROP TABLE stats_rollup;
ALTER TABLE stats_rollup_by_key RENAME TO stats_rollup;

CREATE TABLE state_rollup_by_key (
    area_id  INTEGER NOT NULL,
    state    TEXT    NOT NULL,
    overdue  INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (area_id, state, overdue)
) WITHOUT ROWID;
INSERT INTO state_rollup_by_key (area_id, state, overdue, n)
    SELECT area_id, state, overdue, n FROM state_rollup;
DROP TABLE state_rollup;
ALTER TABLE state_rollup_by_key RENAME TO state_rollup;
