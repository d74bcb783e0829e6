-- Grids and maps (issue 4): responsibility grids, the address gazetteer, city assets (部件) and the
-- asset an appeal names. Unit grids themselves are rows of `areas` with level 'grid' and a 15-digit code.

-- 责任网格: a group of unit grids bound to at most one grid supervisor.
CREATE TABLE responsibility_grids (
    id                  INTEGER PRIMARY KEY,
    code                TEXT    NOT NULL UNIQUE,
    name                TEXT    NOT NULL,
    supervisor_user_id  INTEGER REFERENCES users(id),
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);
CREATE INDEX responsibility_grids_supervisor ON responsibility_grids(supervisor_user_id);

-- A unit grid belongs to at most one responsibility grid (the primary key says so).
CREATE TABLE responsibility_grid_units (
    unit_area_id  INTEGER PRIMARY KEY REFERENCES areas(id),
    grid_id       INTEGER NOT NULL REFERENCES responsibility_grids(id)
);
CREATE INDEX responsibility_grid_units_grid ON responsibility_grid_units(grid_id);

-- Gazetteer (地名地址): roads, door-plate addresses and points of interest, WGS84.
-- aliases: other names separated by '|'. A re-import updates the row with the same (name, kind).
CREATE TABLE gazetteer_entries (
    id       INTEGER PRIMARY KEY,
    name     TEXT NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('road', 'address', 'poi')),
    lat      REAL NOT NULL,
    lon      REAL NOT NULL,
    aliases  TEXT NOT NULL DEFAULT '',
    UNIQUE (name, kind)
);

-- City assets (部件), keyed by their 16-digit 标识码 (county + big class + small class + serial).
-- state: intact 完好 | damaged 破损 | lost 丢失 | occupied 占用. A re-import updates the row with the same id.
CREATE TABLE assets (
    id                  TEXT    PRIMARY KEY,
    class_code          TEXT    NOT NULL,
    subclass_code       TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    lat                 REAL    NOT NULL,
    lon                 REAL    NOT NULL,
    owner_dept_id       INTEGER REFERENCES departments(id),
    maintainer_dept_id  INTEGER REFERENCES departments(id),
    state               TEXT    NOT NULL CHECK (state IN ('intact', 'damaged', 'lost', 'occupied')),
    area_id             INTEGER REFERENCES areas(id),
    updated_at          TEXT    NOT NULL
);
CREATE INDEX assets_subclass ON assets(subclass_code);
CREATE INDEX assets_lat_lon ON assets(lat, lon);

-- Which asset classes a category is about (e.g. 井盖缺损 → '0101,0102'): 2-digit big or 4-digit small classes.
CREATE TABLE category_asset_classes (
    category_id  INTEGER PRIMARY KEY REFERENCES categories(id),
    classes      TEXT    NOT NULL
);

-- The asset an appeal names (nearest of its category's classes within 30 m), set by intake.
ALTER TABLE cases ADD COLUMN asset_id TEXT;
ALTER TABLE cases ADD COLUMN asset_distance_m REAL;
