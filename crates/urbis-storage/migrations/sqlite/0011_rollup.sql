-- Counters rolled up when they are written, so that a dashboard call reads rows in proportion to
-- the areas and days it shows, never to grids × categories × days.
--
-- stats_rollup holds, per report day and metric:
--   dim 'area'     dim_id = every area on the case's area path (the area itself and each ancestor),
--                  category '' (all categories);
--   dim 'area_top' the same areas, category = the level-1 category code ('' for no category);
--   dim 'dept'     dim_id = the department, category '' (all categories).
-- Each equals the sum of the stats_daily rows below it; `audit verify` recounts them.
CREATE TABLE stats_rollup (
    dim       TEXT    NOT NULL,
    dim_id    INTEGER NOT NULL,
    day       TEXT    NOT NULL,
    metric    TEXT    NOT NULL,
    category  TEXT    NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (dim, dim_id, day, metric, category)
);

-- Current number of cases per state under every area (the area itself and each ancestor).
CREATE TABLE state_rollup (
    area_id  INTEGER NOT NULL,
    state    TEXT    NOT NULL,
    overdue  INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (area_id, state, overdue)
);

-- Every area with itself and each ancestor, for the backfill.
CREATE TEMP TABLE rollup_lineage AS
WITH RECURSIVE lineage (area_id, ancestor) AS (
    SELECT id, id FROM areas
    UNION ALL
    SELECT l.area_id, a.parent_id FROM lineage l JOIN areas a ON a.id = l.ancestor
    WHERE a.parent_id IS NOT NULL)
SELECT area_id, ancestor FROM lineage;

INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n)
SELECT 'area', g.ancestor, s.day, s.metric, '', SUM(s.n)
FROM stats_daily s
JOIN rollup_lineage g ON g.area_id = s.dim_id
WHERE s.dim = 'area'
GROUP BY g.ancestor, s.day, s.metric;

INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n)
SELECT 'area_top', g.ancestor, s.day, s.metric, COALESCE(substr(k.code, 1, 2), ''), SUM(s.n)
FROM stats_daily s
JOIN rollup_lineage g ON g.area_id = s.dim_id
LEFT JOIN categories k ON k.id = s.category_id
WHERE s.dim = 'area'
GROUP BY g.ancestor, s.day, s.metric, COALESCE(substr(k.code, 1, 2), '');

INSERT INTO stats_rollup (dim, dim_id, day, metric, category, n)
SELECT 'dept', s.dim_id, s.day, s.metric, '', SUM(s.n)
FROM stats_daily s
WHERE s.dim = 'dept'
GROUP BY s.dim_id, s.day, s.metric;

INSERT INTO state_rollup (area_id, state, overdue, n)
SELECT g.ancestor, c.state, c.overdue, SUM(c.n)
FROM case_state_counts c
JOIN rollup_lineage g ON g.area_id = c.area_id
GROUP BY g.ancestor, c.state, c.overdue
HAVING SUM(c.n) <> 0;

DROP TABLE rollup_lineage;
