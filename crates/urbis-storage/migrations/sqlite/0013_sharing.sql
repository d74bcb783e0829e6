-- Data sharing and open data (issue 18): the resource catalogue (政务信息资源目录), rows of
-- uploaded resources, sharing requests answered on the working-day clock, grants with consumer
-- keys (stored as SHA-256 only), and versioned open-data releases. Access records go into
-- audit_log (action data_access), not a table of their own.
CREATE TABLE data_resources (
    id             INTEGER PRIMARY KEY,
    code           TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    owner_dept_id  INTEGER REFERENCES departments(id),
    source         TEXT    NOT NULL,
    api_url        TEXT    NOT NULL DEFAULT '',
    update_cycle   TEXT    NOT NULL,
    format         TEXT    NOT NULL,
    sharing_type   TEXT    NOT NULL CHECK (sharing_type IN ('unconditional', 'conditional', 'none')),
    opening_type   TEXT    NOT NULL CHECK (opening_type IN ('unconditional', 'conditional', 'none')),
    grade          TEXT    NOT NULL CHECK (grade IN ('general', 'important', 'core')),
    legal_basis    TEXT    NOT NULL DEFAULT '',
    fields         TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL
);
CREATE INDEX data_resources_owner ON data_resources(owner_dept_id);

CREATE TABLE data_resource_rows (
    resource_id  INTEGER NOT NULL REFERENCES data_resources(id),
    seq          INTEGER NOT NULL,
    data         TEXT    NOT NULL,
    PRIMARY KEY (resource_id, seq)
);

CREATE TABLE sharing_requests (
    id                 INTEGER PRIMARY KEY,
    resource_id        INTEGER NOT NULL REFERENCES data_resources(id),
    requester_dept_id  INTEGER NOT NULL REFERENCES departments(id),
    requester_user_id  INTEGER NOT NULL,
    purpose            TEXT    NOT NULL,
    fields             TEXT    NOT NULL,
    area_id            INTEGER REFERENCES areas(id),
    period_days        INTEGER NOT NULL,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'refused')),
    granted_fields     TEXT,
    decision_note      TEXT    NOT NULL DEFAULT '',
    decided_by         INTEGER,
    decided_at         TEXT,
    due_at             TEXT    NOT NULL,
    remind_at          TEXT    NOT NULL,
    reminded_at        TEXT,
    escalated_at       TEXT,
    created_at         TEXT    NOT NULL
);
CREATE INDEX sharing_requests_state_due ON sharing_requests(state, due_at);
CREATE INDEX sharing_requests_resource ON sharing_requests(resource_id);

CREATE TABLE sharing_grants (
    id                INTEGER PRIMARY KEY,
    request_id        INTEGER REFERENCES sharing_requests(id),
    resource_id       INTEGER NOT NULL REFERENCES data_resources(id),
    consumer_dept_id  INTEGER NOT NULL REFERENCES departments(id),
    fields            TEXT    NOT NULL,
    clear_fields      TEXT    NOT NULL,
    area_id           INTEGER REFERENCES areas(id),
    purpose           TEXT    NOT NULL,
    key_hash          TEXT    NOT NULL UNIQUE,
    expires_at        TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    revoked_at        TEXT
);
CREATE INDEX sharing_grants_resource ON sharing_grants(resource_id);

CREATE TABLE open_releases (
    id            INTEGER PRIMARY KEY,
    dataset       TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    row_count     INTEGER NOT NULL,
    suppressed    INTEGER NOT NULL,
    k             INTEGER NOT NULL,
    content_hash  TEXT    NOT NULL,
    columns       TEXT    NOT NULL,
    rows          TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    UNIQUE (dataset, version)
);

-- Reading who accessed a resource (the owner's view of the access records).
CREATE INDEX audit_log_entity_action ON audit_log(entity, entity_id, action);

-- Urbis's own data, registered as resources of the city platform (owner_dept_id NULL: the
-- platform's data officers answer for them). source 'builtin:<reader>' names the reader in
-- urbis_storage::sharing that serves their rows from the store.
INSERT INTO data_resources (code, name, description, owner_dept_id, source, api_url, update_cycle, format, sharing_type, opening_type, grade, legal_basis, fields, created_at, updated_at) VALUES
('case_records', '案件明细', '每件案件的受理信息、处置状态和诉求人联系方式（含个人信息）。', NULL, 'builtin:case_records', '', 'realtime', 'table', 'conditional', 'none', 'important',
 '《中华人民共和国个人信息保护法》第十三条、第三十四条；《政务信息资源共享管理暂行办法》第九条：含个人信息，按申请的目的、字段和期限共享，不予开放。',
 '[{"name":"number","type":"text","meaning":"案件编号","personal":false,"grade":"general"},{"name":"reported_at","type":"datetime","meaning":"受理时间","personal":false,"grade":"general"},{"name":"category_code","type":"text","meaning":"类别编码","personal":false,"grade":"general"},{"name":"category_name","type":"text","meaning":"类别名称","personal":false,"grade":"general"},{"name":"area_code","type":"text","meaning":"所在区域编码（最细一级）","personal":false,"grade":"general"},{"name":"state","type":"text","meaning":"案件状态","personal":false,"grade":"general"},{"name":"text","type":"text","meaning":"诉求内容（可能含个人信息）","personal":true,"grade":"important"},{"name":"address","type":"text","meaning":"事发地址","personal":true,"grade":"important"},{"name":"lat","type":"number","meaning":"纬度（WGS84）","personal":true,"grade":"important"},{"name":"lon","type":"number","meaning":"经度（WGS84）","personal":true,"grade":"important"},{"name":"reporter_name","type":"text","meaning":"诉求人姓名","personal":true,"grade":"important"},{"name":"reporter_phone","type":"text","meaning":"诉求人电话","personal":true,"grade":"important"}]',
 '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'),
('case_counts', '案件数量（按区域和类别）', '每日各区域、各类别的受理数和结案数。', NULL, 'builtin:case_counts', '', 'daily', 'table', 'unconditional', 'unconditional', 'general', '',
 '[{"name":"day","type":"date","meaning":"受理日","personal":false,"grade":"general"},{"name":"area_code","type":"text","meaning":"区域编码","personal":false,"grade":"general"},{"name":"area_name","type":"text","meaning":"区域名称","personal":false,"grade":"general"},{"name":"category_code","type":"text","meaning":"类别编码","personal":false,"grade":"general"},{"name":"category_name","type":"text","meaning":"类别名称","personal":false,"grade":"general"},{"name":"reported","type":"integer","meaning":"受理数","personal":false,"grade":"general"},{"name":"closed","type":"integer","meaning":"结案数","personal":false,"grade":"general"}]',
 '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'),
('indicators', '考核指标（按区域）', '各区域的受理数、结案数、按期结案数，结案率和按期结案率。', NULL, 'builtin:indicators', '', 'daily', 'table', 'unconditional', 'conditional', 'general', '',
 '[{"name":"area_code","type":"text","meaning":"区域编码","personal":false,"grade":"general"},{"name":"area_name","type":"text","meaning":"区域名称","personal":false,"grade":"general"},{"name":"reported","type":"integer","meaning":"受理数","personal":false,"grade":"general"},{"name":"closed","type":"integer","meaning":"结案数","personal":false,"grade":"general"},{"name":"closed_on_time","type":"integer","meaning":"按期结案数","personal":false,"grade":"general"},{"name":"close_rate","type":"number","meaning":"结案率","personal":false,"grade":"general"},{"name":"on_time_rate","type":"number","meaning":"按期结案率","personal":false,"grade":"general"}]',
 '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'),
('grids', '单元网格', '单元网格的编码、名称、所属社区和中心点。', NULL, 'builtin:grids', '', 'irregular', 'table', 'unconditional', 'unconditional', 'general', '',
 '[{"name":"code","type":"text","meaning":"网格编码（15位）","personal":false,"grade":"general"},{"name":"name","type":"text","meaning":"网格名称","personal":false,"grade":"general"},{"name":"parent_code","type":"text","meaning":"所属社区编码","personal":false,"grade":"general"},{"name":"center_lat","type":"number","meaning":"中心点纬度","personal":false,"grade":"general"},{"name":"center_lon","type":"number","meaning":"中心点经度","personal":false,"grade":"general"}]',
 '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'),
('assets', '城市部件', '城市部件的编码、类别、名称、位置、状态和养护部门。', NULL, 'builtin:assets', '', 'daily', 'table', 'unconditional', 'conditional', 'general', '',
 '[{"name":"id","type":"text","meaning":"部件编码（16位）","personal":false,"grade":"general"},{"name":"subclass_code","type":"text","meaning":"小类编码","personal":false,"grade":"general"},{"name":"name","type":"text","meaning":"部件名称","personal":false,"grade":"general"},{"name":"state","type":"text","meaning":"状态","personal":false,"grade":"general"},{"name":"lat","type":"number","meaning":"纬度","personal":false,"grade":"general"},{"name":"lon","type":"number","meaning":"经度","personal":false,"grade":"general"},{"name":"maintainer","type":"text","meaning":"养护部门","personal":false,"grade":"general"}]',
 '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z'),
('case_open_records', '案件脱敏明细', '已受理案件的脱敏明细：月份、类别、所在单元网格（同月同类不足 k 件时依次并入社区、街道、区）及其中心点、状态、经个人信息遮蔽的诉求内容；到区仍不足 k 件的记录不发布。', NULL, 'builtin:case_open_records', '', 'daily', 'table', 'unconditional', 'unconditional', 'general', '',
 '[{"name":"month","type":"text","meaning":"受理月份","personal":false,"grade":"general"},{"name":"category_code","type":"text","meaning":"类别编码","personal":false,"grade":"general"},{"name":"category_name","type":"text","meaning":"类别名称","personal":false,"grade":"general"},{"name":"area_code","type":"text","meaning":"所在区域编码（单元网格或更粗）","personal":false,"grade":"general"},{"name":"area_level","type":"text","meaning":"区域层级","personal":false,"grade":"general"},{"name":"center_lat","type":"number","meaning":"区域中心纬度","personal":false,"grade":"general"},{"name":"center_lon","type":"number","meaning":"区域中心经度","personal":false,"grade":"general"},{"name":"state","type":"text","meaning":"案件状态","personal":false,"grade":"general"},{"name":"text","type":"text","meaning":"诉求内容（已遮蔽个人信息）","personal":false,"grade":"general"}]',
 '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z');
