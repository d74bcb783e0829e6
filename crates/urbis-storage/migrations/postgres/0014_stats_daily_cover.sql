-- `stats_daily`'s covering index goes: dashboards read the roll-ups, and only the counter check
-- reads `stats_daily` (SQLite `0024_counters_clustered.sql`). Each counter upsert wrote it too.
DROP INDEX IF EXISTS stats_daily_by_dim_day;
