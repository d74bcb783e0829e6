//! Moving a city between stores: every table copied row by row from a read snapshot of one store
//! into another, empty one (SQLite → PostgreSQL, PostgreSQL → SQLite, or file to file), then each
//! table counted and hashed on both sides. The same digests let a backup or a restore prove what
//! it holds.
//!
//! Columns are read and written by kind (the PostgreSQL schema's types); a digest hashes each
//! value in one canonical form — times as RFC 3339 text with six decimals, JSON documents parsed
//! and re-serialised with sorted keys (PostgreSQL's `jsonb` keeps no key order), reals by their
//! bits — so equal digests mean equal contents whichever backend holds them.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{Conn, Db};
use crate::sql::{Builder, Value};
use crate::{Backend, Result, StorageError};

/// How a column is read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
    Bool,
    Bytes,
    Time,
    Json,
}

/// One table: its name, the columns that order it, and its columns.
struct Table {
    name: &'static str,
    order: &'static str,
    /// The identity column whose sequence PostgreSQL must move past the copied rows.
    identity: Option<&'static str>,
    columns: &'static [(&'static str, Kind)],
}

use Kind::{Bool, Bytes, Int, Json, Real, Text, Time};

/// Every table of a city, parents before children. `store_probe` (a scratch row) and the
/// migration bookkeeping are not part of a city.
const TABLES: &[Table] = &[
    Table {
        name: "areas",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("name", Text),
            ("level", Text),
            ("parent_id", Int),
            ("path", Text),
            ("geometry", Text),
            ("center_lat", Real),
            ("center_lon", Real),
        ],
    },
    Table {
        name: "departments",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("name", Text),
            ("area_id", Int),
        ],
    },
    Table {
        name: "categories",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("name", Text),
            ("level", Int),
            ("parent_id", Int),
            ("severity", Real),
        ],
    },
    Table {
        name: "time_limits",
        order: "category_id",
        identity: None,
        columns: &[
            ("category_id", Int),
            ("clock", Text),
            ("amount", Int),
            ("remind_before_minutes", Int),
        ],
    },
    Table {
        name: "calendar_days",
        order: "day",
        identity: None,
        columns: &[("day", Text), ("kind", Text), ("note", Text)],
    },
    Table {
        name: "settings",
        order: "key",
        identity: None,
        columns: &[("key", Text), ("value", Text)],
    },
    Table {
        name: "responsibility_versions",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("note", Text),
            ("created_at", Time),
            ("created_by", Int),
            ("active", Bool),
            ("draft", Bool),
        ],
    },
    Table {
        name: "responsibility_rules",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("version_id", Int),
            ("category_id", Int),
            ("area_id", Int),
            ("lead_dept_id", Int),
            ("supporting", Text),
            ("legal_basis", Text),
        ],
    },
    Table {
        name: "users",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("username", Text),
            ("display_name", Text),
            ("password_hash", Text),
            ("role", Text),
            ("area_id", Int),
            ("dept_id", Int),
            ("active", Bool),
            ("created_at", Time),
        ],
    },
    Table {
        name: "sessions",
        order: "token_hash",
        identity: None,
        columns: &[
            ("token_hash", Text),
            ("user_id", Int),
            ("created_at", Time),
            ("expires_at", Time),
        ],
    },
    Table {
        name: "cases",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("number", Text),
            ("state", Text),
            ("channel", Text),
            ("title", Text),
            ("text", Text),
            ("address", Text),
            ("lat", Real),
            ("lon", Real),
            ("category_id", Int),
            ("area_id", Int),
            ("area_path", Text),
            ("lead_dept_id", Int),
            ("supporting_depts", Text),
            ("reporter_user_id", Int),
            ("reporter_name", Text),
            ("reporter_phone", Text),
            ("reporter_count", Int),
            ("urgent", Bool),
            ("pending_kind", Text),
            ("pending_amount", Int),
            ("clock", Text),
            ("limit_amount", Int),
            ("clock_started_at", Time),
            ("due_at", Time),
            ("response_due_at", Time),
            ("accepted_at", Time),
            ("feedback_at", Time),
            ("handled_on_time", Bool),
            ("overdue", Bool),
            ("reminded", Bool),
            ("supervise_count", Int),
            ("rework_count", Int),
            ("return_count", Int),
            ("closure_type", Text),
            ("closed_at", Time),
            ("satisfaction", Text),
            ("resolved", Bool),
            ("rated_at", Time),
            ("stats_day", Text),
            ("created_at", Time),
            ("updated_at", Time),
            ("version", Int),
            ("priority_score", Int),
            ("priority_level", Text),
            ("priority_factors", Json),
            ("suggested_category_id", Int),
            ("suggested_confidence", Real),
            ("asset_id", Text),
            ("asset_distance_m", Real),
            ("suggestions", Json),
            ("needs_review", Bool),
            ("proposed_route", Json),
            ("co_reporters", Text),
            ("anonymous_repeats", Int),
        ],
    },
    Table {
        name: "case_pauses",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("reason", Text),
            ("start_at", Time),
            ("end_at", Time),
        ],
    },
    Table {
        name: "appeals",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("channel", Text),
            ("title", Text),
            ("text", Text),
            ("reporter_user_id", Int),
            ("reporter_name", Text),
            ("reporter_phone", Text),
            ("idempotency_key", Text),
            ("created_at", Time),
            ("idempotency_hash", Text),
        ],
    },
    Table {
        name: "notifications",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("dept_id", Int),
            ("user_id", Int),
            ("kind", Text),
            ("message", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "audit_log",
        order: "seq",
        identity: None,
        columns: &[
            ("seq", Int),
            ("at", Time),
            ("actor_id", Int),
            ("actor_role", Text),
            ("action", Text),
            ("entity", Text),
            ("entity_id", Int),
            ("from_state", Text),
            ("to_state", Text),
            ("detail", Text),
            ("prev_hash", Text),
            ("hash", Text),
        ],
    },
    Table {
        name: "stats_daily",
        order: "day, dim, dim_id, category_id, metric",
        identity: None,
        columns: &[
            ("day", Text),
            ("dim", Text),
            ("dim_id", Int),
            ("category_id", Int),
            ("metric", Text),
            ("n", Int),
        ],
    },
    Table {
        name: "case_state_counts",
        order: "area_id, dept_id, category_id, state, overdue",
        identity: None,
        columns: &[
            ("area_id", Int),
            ("dept_id", Int),
            ("category_id", Int),
            ("state", Text),
            ("overdue", Bool),
            ("n", Int),
        ],
    },
    Table {
        name: "open311_clients",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("name", Text),
            ("key_hash", Text),
            ("created_at", Time),
            ("revoked_at", Time),
        ],
    },
    Table {
        name: "attachments",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("kind", Text),
            ("mime", Text),
            ("size", Int),
            ("sha256", Text),
            ("uploaded_by", Int),
            ("created_at", Time),
            ("bytes", Bytes),
        ],
    },
    Table {
        name: "responsibility_grids",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("name", Text),
            ("supervisor_user_id", Int),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "responsibility_grid_units",
        order: "unit_area_id",
        identity: None,
        columns: &[("unit_area_id", Int), ("grid_id", Int)],
    },
    Table {
        name: "gazetteer_entries",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("name", Text),
            ("kind", Text),
            ("lat", Real),
            ("lon", Real),
            ("aliases", Text),
        ],
    },
    Table {
        name: "assets",
        order: "id",
        identity: None,
        columns: &[
            ("id", Text),
            ("class_code", Text),
            ("subclass_code", Text),
            ("name", Text),
            ("lat", Real),
            ("lon", Real),
            ("owner_dept_id", Int),
            ("maintainer_dept_id", Int),
            ("state", Text),
            ("area_id", Int),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "category_asset_classes",
        order: "category_id",
        identity: None,
        columns: &[("category_id", Int), ("classes", Text)],
    },
    Table {
        name: "training_examples",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("source", Text),
            ("text", Text),
            ("label", Text),
            ("previous", Text),
            ("note", Text),
            ("actor_id", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "open311_requests",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("number", Text),
            ("case_id", Int),
            ("appeal_id", Int),
            ("client_id", Int),
            ("merged", Bool),
            ("media_urls", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "open311_updates",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("request_number", Text),
            ("client_id", Int),
            ("external_id", Text),
            ("client_status", Text),
            ("public_status", Text),
            ("description", Text),
            ("media_urls", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "data_resources",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("name", Text),
            ("description", Text),
            ("owner_dept_id", Int),
            ("source", Text),
            ("api_url", Text),
            ("update_cycle", Text),
            ("format", Text),
            ("sharing_type", Text),
            ("opening_type", Text),
            ("grade", Text),
            ("legal_basis", Text),
            ("fields", Json),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "data_resource_rows",
        order: "resource_id, seq",
        identity: None,
        columns: &[("resource_id", Int), ("seq", Int), ("data", Json)],
    },
    Table {
        name: "sharing_requests",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("resource_id", Int),
            ("requester_dept_id", Int),
            ("requester_user_id", Int),
            ("purpose", Text),
            ("fields", Json),
            ("area_id", Int),
            ("period_days", Int),
            ("state", Text),
            ("granted_fields", Json),
            ("decision_note", Text),
            ("decided_by", Int),
            ("decided_at", Time),
            ("due_at", Time),
            ("remind_at", Time),
            ("reminded_at", Time),
            ("escalated_at", Time),
            ("created_at", Time),
        ],
    },
    Table {
        name: "sharing_grants",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("request_id", Int),
            ("resource_id", Int),
            ("consumer_dept_id", Int),
            ("fields", Json),
            ("clear_fields", Json),
            ("area_id", Int),
            ("purpose", Text),
            ("key_hash", Text),
            ("expires_at", Time),
            ("created_at", Time),
            ("revoked_at", Time),
        ],
    },
    Table {
        name: "open_releases",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("dataset", Text),
            ("version", Int),
            ("row_count", Int),
            ("suppressed", Int),
            ("k", Int),
            ("content_hash", Text),
            ("columns", Json),
            ("rows", Json),
            ("created_at", Time),
        ],
    },
    Table {
        name: "stats_rollup",
        order: "dim, dim_id, day, metric, category",
        identity: None,
        columns: &[
            ("dim", Text),
            ("dim_id", Int),
            ("day", Text),
            ("metric", Text),
            ("category", Text),
            ("n", Int),
        ],
    },
    Table {
        name: "state_rollup",
        order: "area_id, state, overdue",
        identity: None,
        columns: &[
            ("area_id", Int),
            ("state", Text),
            ("overdue", Bool),
            ("n", Int),
        ],
    },
    Table {
        name: "assessment_schemes",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("version", Int),
            ("name", Text),
            ("body", Json),
            ("created_by", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "assessment_results",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("scheme_id", Int),
            ("period", Text),
            ("unit_kind", Text),
            ("unit_id", Int),
            ("unit_name", Text),
            ("revision", Int),
            ("current", Bool),
            ("cases", Int),
            ("score", Real),
            ("grade", Text),
            ("detail", Json),
            ("case_ids", Text),
            ("excluded", Text),
            ("frozen_at", Time),
        ],
    },
    Table {
        name: "assessment_appeals",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("result_id", Int),
            ("reason", Text),
            ("case_ids", Text),
            ("state", Text),
            ("filed_by", Int),
            ("filed_at", Time),
            ("decided_by", Int),
            ("decided_at", Time),
            ("note", Text),
            ("new_result_id", Int),
        ],
    },
    Table {
        name: "sensor_types",
        order: "code",
        identity: None,
        columns: &[
            ("code", Text),
            ("name", Text),
            ("unit", Text),
            ("category_id", Int),
            ("rules", Json),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "sensor_devices",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("code", Text),
            ("type_code", Text),
            ("name", Text),
            ("lat", Real),
            ("lon", Real),
            ("asset_id", Text),
            ("area_id", Int),
            ("rules", Json),
            ("state", Text),
            ("last_value", Real),
            ("last_at", Time),
            ("created_at", Time),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "sensor_readings",
        order: "device_id, at, value, received_at",
        identity: None,
        columns: &[
            ("device_id", Int),
            ("at", Time),
            ("value", Real),
            ("received_at", Time),
        ],
    },
    Table {
        name: "sensor_readings_hourly",
        order: "device_id, hour",
        identity: None,
        columns: &[
            ("device_id", Int),
            ("hour", Time),
            ("n", Int),
            ("min_value", Real),
            ("max_value", Real),
            ("sum_value", Real),
        ],
    },
    Table {
        name: "sensor_dead_letters",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("topic", Text),
            ("reason", Text),
            ("detail", Text),
            ("payload", Text),
            ("size_bytes", Int),
            ("received_at", Time),
        ],
    },
    Table {
        name: "sensor_alarms",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("device_id", Int),
            ("rule", Text),
            ("state", Text),
            ("active", Bool),
            ("value", Real),
            ("message", Text),
            ("supervisor_user_id", Int),
            ("raised_at", Time),
            ("due_at", Time),
            ("ended_at", Time),
            ("decided_by", Int),
            ("case_id", Int),
        ],
    },
    Table {
        name: "resident_profiles",
        order: "user_id",
        identity: None,
        columns: &[
            ("user_id", Int),
            ("phone", Text),
            ("opted_out", Bool),
            ("updated_at", Time),
        ],
    },
    Table {
        name: "resident_channels",
        order: "user_id, channel",
        identity: None,
        columns: &[("user_id", Int), ("channel", Text), ("address", Text)],
    },
    Table {
        name: "otp_codes",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("phone_hash", Text),
            ("client_hash", Text),
            ("code_hash", Text),
            ("attempts", Int),
            ("created_at", Time),
            ("expires_at", Time),
            ("used_at", Time),
        ],
    },
    Table {
        name: "outbox",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("user_id", Int),
            ("channel", Text),
            ("address", Text),
            ("kind", Text),
            ("case_id", Int),
            ("body", Text),
            ("dedup_key", Text),
            ("state", Text),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("last_error", Text),
            ("created_at", Time),
            ("sent_at", Time),
        ],
    },
    Table {
        name: "outbox_deliveries",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("outbox_id", Int),
            ("attempt", Int),
            ("adapter", Text),
            ("ok", Bool),
            ("detail", Text),
            ("at", Time),
        ],
    },
    Table {
        name: "sink_messages",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("outbox_id", Int),
            ("channel", Text),
            ("address", Text),
            ("kind", Text),
            ("body", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "case_appeal_types",
        order: "case_id",
        identity: None,
        columns: &[("case_id", Int), ("appeal_type", Text)],
    },
    Table {
        name: "case_followups",
        order: "case_id, user_id",
        identity: None,
        columns: &[
            ("case_id", Int),
            ("user_id", Int),
            ("fixed", Bool),
            ("reporter", Bool),
            ("answered_at", Time),
        ],
    },
    Table {
        name: "kb_answers",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("question", Text),
            ("answer", Text),
            ("dept_id", Int),
            ("keywords", Text),
            ("valid_from", Time),
            ("valid_to", Time),
            ("created_at", Time),
        ],
    },
    Table {
        name: "consultations",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("kb_id", Int),
            ("appeal_type", Text),
            ("question", Text),
            ("answer", Text),
            ("channel", Text),
            ("operator_id", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "proposals",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("community_id", Int),
            ("author_id", Int),
            ("title", Text),
            ("body", Text),
            ("state", Text),
            ("supports", Int),
            ("threshold", Int),
            ("outcome_reason", Text),
            ("case_id", Int),
            ("created_at", Time),
            ("agenda_at", Time),
            ("decided_at", Time),
        ],
    },
    Table {
        name: "proposal_supports",
        order: "proposal_id, user_id",
        identity: None,
        columns: &[("proposal_id", Int), ("user_id", Int), ("created_at", Time)],
    },
    Table {
        name: "proposal_comments",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("proposal_id", Int),
            ("user_id", Int),
            ("body", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "opinion_polls",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("area_id", Int),
            ("title", Text),
            ("question", Text),
            ("options", Text),
            ("allow_text", Bool),
            ("min_cell", Int),
            ("opens_at", Time),
            ("closes_at", Time),
            ("created_by", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "opinion_answers",
        order: "poll_id, user_id",
        identity: None,
        columns: &[
            ("poll_id", Int),
            ("user_id", Int),
            ("option_idx", Int),
            ("text", Text),
            ("created_at", Time),
        ],
    },
    Table {
        name: "sandbox_scenarios",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("name", Text),
            ("body", Json),
            ("created_by", Int),
            ("created_at", Time),
        ],
    },
    Table {
        name: "sandbox_runs",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("scenario_id", Int),
            ("status", Text),
            ("progress", Real),
            ("result", Json),
            ("error", Text),
            ("created_by", Int),
            ("created_at", Time),
            ("finished_at", Time),
        ],
    },
    Table {
        name: "sandbox_experiments",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("name", Text),
            ("policy", Text),
            ("indicator", Text),
            ("unit_level", Text),
            ("pre_from", Text),
            ("start_day", Text),
            ("end_day", Text),
            ("seed", Int),
            ("treated", Text),
            ("control", Text),
            ("created_by", Int),
            ("registered_at", Time),
        ],
    },
    Table {
        name: "sandbox_estimates",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("experiment_id", Int),
            ("body", Json),
            ("created_at", Time),
        ],
    },
    Table {
        name: "case_subtasks",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("dept_id", Int),
            ("state", Text),
            ("active", Bool),
            ("clock", Text),
            ("limit_amount", Int),
            ("created_at", Time),
            ("due_at", Time),
            ("accepted_at", Time),
            ("done_at", Time),
            ("note", Text),
            ("on_time", Bool),
            ("reminded", Bool),
            ("overdue", Bool),
        ],
    },
    Table {
        name: "responsibility_disputes",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("case_id", Int),
            ("dept_id", Int),
            ("category_id", Int),
            ("area_id", Int),
            ("rule_id", Int),
            ("reason", Text),
            ("state", Text),
            ("opened_by", Int),
            ("opened_at", Time),
            ("due_at", Time),
            ("escalated", Bool),
            ("ruled_by", Int),
            ("ruled_at", Time),
            ("lead_dept_id", Int),
            ("supporting", Text),
            ("ruling", Text),
            ("on_time", Bool),
            ("draft_version_id", Int),
        ],
    },
    Table {
        name: "partners",
        order: "dept_id",
        identity: None,
        columns: &[("dept_id", Int), ("kind", Text), ("created_at", Time)],
    },
    Table {
        name: "partner_grants",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("dept_id", Int),
            ("area_id", Int),
            ("category_id", Int),
        ],
    },
    Table {
        name: "case_pool",
        order: "case_id",
        identity: None,
        columns: &[("case_id", Int), ("offered_by", Int), ("offered_at", Time)],
    },
    Table {
        name: "relay_positions",
        order: "name",
        identity: None,
        columns: &[("name", Text), ("last_seq", Int), ("updated_at", Time)],
    },
    Table {
        name: "dispatch_orders",
        order: "case_id",
        identity: None,
        columns: &[
            ("case_id", Int),
            ("instructions", Text),
            ("limit_amount", Int),
            ("category_amount", Int),
            ("deadline_reason", Text),
            ("dispatched_by", Int),
            ("dispatched_at", Time),
        ],
    },
    Table {
        name: "taxonomy_imports",
        order: "id",
        identity: Some("id"),
        columns: &[
            ("id", Int),
            ("imported_by", Int),
            ("imported_at", Time),
            ("row_count", Int),
            ("category_ids", Text),
            ("undone_at", Time),
        ],
    },
];

/// What one table holds: its rows and a SHA-256 over them in the canonical form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDigest {
    pub table: &'static str,
    pub rows: u64,
    pub sha256: String,
}

/// Counts and hashes every table of a store on one read snapshot.
pub async fn digest(db: &Db) -> Result<Vec<TableDigest>> {
    let mut snapshot = db.read_snapshot().await?;
    let mut out = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let mut hasher = Sha256::new();
        let mut rows = 0u64;
        read_table(&mut snapshot, table, |row| {
            rows += 1;
            for value in row {
                hash_value(&mut hasher, value)?;
            }
            hasher.update([0x1e]);
            Ok(())
        })
        .await?;
        out.push(TableDigest {
            table: table.name,
            rows,
            sha256: hex::encode(hasher.finalize()),
        });
    }
    snapshot.end().await?;
    Ok(out)
}

/// Copies every table of `from` (read on one snapshot, while it may keep serving) into `to`,
/// which must hold no city yet. `progress` hears each table as it is done, with its rows.
pub async fn copy_store(from: &Db, to: &Db, mut progress: impl FnMut(&str, u64)) -> Result<()> {
    {
        let mut conn = to.read().await?;
        for table in ["areas", "users", "cases", "audit_log"] {
            let n: i64 = crate::sql::query(format!("SELECT COUNT(*) FROM {table}"))
                .scalar(&mut conn)
                .await?;
            if n > 0 {
                return Err(StorageError::Refused(format!(
                    "the target store is not empty ({table} has {n} rows); copy into a new one"
                )));
            }
        }
    }
    // The catalogue's built-in resources come with the migrations; the source's rows replace them.
    {
        let mut tx = to.begin_write().await?;
        crate::sql::query("DELETE FROM data_resources WHERE source LIKE 'builtin:%'")
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
    }
    // The source is read on one snapshot by a task of its own and handed over in batches, so a
    // large table never sits in memory whole and reading overlaps writing.
    let mut snapshot = from.read_snapshot().await?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Batch>(4);
    let reader = tokio::spawn(async move {
        for (index, table) in TABLES.iter().enumerate() {
            let per_batch = (30_000 / table.columns.len()).clamp(1, 1_000);
            if let Err(err) = send_table(&mut snapshot, index, table, per_batch, &sender).await {
                let _ = sender.send(Batch::Failed(err)).await;
                return;
            }
        }
        let _ = snapshot.end().await;
    });
    let mut tx = to.begin_write().await?;
    let mut rows = 0u64;
    while let Some(batch) = receiver.recv().await {
        match batch {
            Batch::Rows(index, values) => {
                rows += values.len() as u64;
                insert_rows(&mut tx, &TABLES[index], &values).await?;
            }
            Batch::Done(index) => {
                let table = &TABLES[index];
                if tx.backend() == Backend::Postgres
                    && let Some(column) = table.identity
                {
                    crate::sql::query(format!(
                        "SELECT setval(pg_get_serial_sequence('{name}', '{column}'), \
                         COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)",
                        name = table.name
                    ))
                    .execute(&mut tx)
                    .await?;
                }
                tx.commit().await?;
                progress(table.name, rows);
                rows = 0;
                tx = to.begin_write().await?;
            }
            Batch::Failed(err) => return Err(err),
        }
    }
    tx.commit().await?;
    reader
        .await
        .map_err(|err| StorageError::Refused(format!("the reading task failed: {err}")))?;
    to.analyze().await
}

enum Batch {
    Rows(usize, Vec<Vec<Value>>),
    Done(usize),
    Failed(StorageError),
}

async fn send_table(
    conn: &mut Conn,
    index: usize,
    table: &Table,
    per_batch: usize,
    sender: &tokio::sync::mpsc::Sender<Batch>,
) -> Result<()> {
    let sql = select_sql(table);
    let closed = || StorageError::Refused("the copy stopped".into());
    let mut batch = Vec::with_capacity(per_batch);
    let mut rows = value_rows(conn, &sql, table);
    while let Some(values) = rows.try_next().await? {
        batch.push(values);
        if batch.len() == per_batch {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(per_batch));
            sender
                .send(Batch::Rows(index, full))
                .await
                .map_err(|_| closed())?;
        }
    }
    if !batch.is_empty() {
        sender
            .send(Batch::Rows(index, batch))
            .await
            .map_err(|_| closed())?;
    }
    sender.send(Batch::Done(index)).await.map_err(|_| closed())
}

/// A table's rows in order, each as its values in the table's column order.
fn value_rows<'c>(
    conn: &'c mut Conn,
    sql: &'c str,
    table: &'c Table,
) -> futures::stream::BoxStream<'c, Result<Vec<Value>>> {
    use futures::StreamExt;
    match conn {
        Conn::Sqlite(c) => sqlx::query(sql)
            .fetch(&mut **c)
            .map(move |row| sqlite_values(&row?, table))
            .boxed(),
        Conn::Postgres(c) => sqlx::query(sql)
            .fetch(&mut **c)
            .map(move |row| postgres_values(&row?, table))
            .boxed(),
    }
}

fn select_sql(table: &Table) -> String {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    format!(
        "SELECT {} FROM {} ORDER BY {}",
        names.join(", "),
        table.name,
        table.order
    )
}

async fn insert_rows(conn: &mut Conn, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
    let names: Vec<&str> = table.columns.iter().map(|(name, _)| *name).collect();
    let mut query = Builder::new(format!(
        "INSERT INTO {} ({}) ",
        table.name,
        names.join(", ")
    ));
    query.push_values(rows, |mut row, values| {
        for value in values {
            row.push_bind(value.clone());
        }
    });
    query.build().execute(conn).await.map(|_| ())
}

/// Reads a table in order, handing each row's values (in the table's column order) to `each`.
async fn read_table(
    conn: &mut Conn,
    table: &Table,
    mut each: impl FnMut(Vec<Value>) -> Result<()>,
) -> Result<()> {
    let sql = select_sql(table);
    let mut rows = value_rows(conn, &sql, table);
    while let Some(values) = rows.try_next().await? {
        each(values)?;
    }
    Ok(())
}

fn sqlite_values(row: &sqlx::sqlite::SqliteRow, table: &Table) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(table.columns.len());
    for (i, (_, kind)) in table.columns.iter().enumerate() {
        out.push(match kind {
            Int => Value::Int(row.try_get(i)?),
            Real => Value::Real(row.try_get(i)?),
            Text => Value::Text(row.try_get(i)?),
            Bool => Value::Bool(row.try_get(i)?),
            Bytes => Value::Bytes(row.try_get(i)?),
            Time => Value::Time(
                row.try_get::<Option<String>, _>(i)?
                    .as_deref()
                    .map(crate::time::from_db)
                    .transpose()?,
            ),
            Json => Value::Json(row.try_get(i)?),
        });
    }
    Ok(out)
}

fn postgres_values(row: &sqlx::postgres::PgRow, table: &Table) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(table.columns.len());
    for (i, (_, kind)) in table.columns.iter().enumerate() {
        out.push(match kind {
            Int => Value::Int(row.try_get(i)?),
            Real => Value::Real(row.try_get(i)?),
            Text => Value::Text(row.try_get(i)?),
            Bool => Value::Bool(row.try_get(i)?),
            Bytes => Value::Bytes(row.try_get(i)?),
            Time => Value::Time(row.try_get::<Option<DateTime<Utc>>, _>(i)?),
            Json => Value::Json(
                row.try_get::<Option<crate::sql::JsonText>, _>(i)?
                    .map(|j| j.0),
            ),
        });
    }
    Ok(out)
}

fn hash_value(hasher: &mut Sha256, value: Value) -> Result<()> {
    let (tag, bytes): (u8, Vec<u8>) = match value {
        Value::Int(None)
        | Value::Real(None)
        | Value::Text(None)
        | Value::Bool(None)
        | Value::Bytes(None)
        | Value::Time(None)
        | Value::Json(None) => (0, Vec::new()),
        Value::Int(Some(v)) => (1, v.to_be_bytes().to_vec()),
        Value::Real(Some(v)) => (2, v.to_bits().to_be_bytes().to_vec()),
        Value::Text(Some(v)) => (3, v.into_bytes()),
        Value::Bool(Some(v)) => (4, vec![u8::from(v)]),
        Value::Bytes(Some(v)) => (5, v),
        Value::Time(Some(v)) => (6, crate::time::to_db(v).into_bytes()),
        Value::Json(Some(v)) => {
            let parsed: serde_json::Value = serde_json::from_str(&v)
                .map_err(|err| StorageError::Corrupt(format!("bad JSON {v:?}: {err}")))?;
            (7, parsed.to_string().into_bytes())
        }
    };
    hasher.update([0x1f, tag]);
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
    Ok(())
}
