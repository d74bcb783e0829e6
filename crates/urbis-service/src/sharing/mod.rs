//! The data-sharing exchange (信息资源共享): the resource catalogue (this module), sharing
//! requests answered on the working-day clock (`requests`), and reads through consumer keys with
//! field limits, masking and an access record in the audit chain (`access`).
//!
//! Who does what: any staff member browses the catalogue; a data officer (数据专员) registers
//! resources for their department — or for the city platform when they have none, like the
//! admin — asks for other departments' resources on behalf of their own, and answers the
//! requests addressed to their department. Residents see only the open-data portal.

mod access;
mod requests;

pub use access::{DataPage, consumer_key_hash};
pub use requests::{Decision, IssuedKey, NewSharingRequest, SharingTick};

use urbis_domain::appeal::bounded_text;
use urbis_domain::role::{Actor, Role};
use urbis_domain::sharing::{
    self as rules, FieldSpec, Grade, OpeningType, SharingRuleError, SharingType, limits,
};
use urbis_storage::sharing::{self as repo, NewResource, ResourceFilter, ResourceRow};
use urbis_storage::{JsonText, reference};

use crate::{ErrorKind, Result, ServiceError, Services};

/// Most rows one upload may carry.
pub const UPLOAD_ROWS_MAX: usize = 5_000;
/// Most entries one catalogue page lists.
pub const PAGE_MAX: i64 = 200;

/// Update cycles a resource may declare.
pub const UPDATE_CYCLES: &[&str] = &[
    "realtime",
    "daily",
    "weekly",
    "monthly",
    "quarterly",
    "yearly",
    "irregular",
];
/// Formats a resource may declare: a table (rows uploaded or built in), a file, an API.
pub const FORMATS: &[&str] = &["table", "file", "api"];

impl From<SharingRuleError> for ServiceError {
    fn from(err: SharingRuleError) -> Self {
        let kind = match err.code {
            "field_not_granted" => ErrorKind::Forbidden,
            _ => ErrorKind::InvalidInput,
        };
        ServiceError::new(kind, err.code, err.message)
    }
}

/// A catalogue entry with its fields parsed.
#[derive(Debug, Clone)]
pub struct Resource {
    pub row: ResourceRow,
    pub fields: Vec<FieldSpec>,
    pub sharing: SharingType,
    pub opening: OpeningType,
    pub grade: Grade,
}

impl Resource {
    pub(crate) fn from_row(row: ResourceRow) -> Result<Resource> {
        let bad = || {
            tracing::error!(code = row.code, "stored catalogue entry does not parse");
            ServiceError::internal()
        };
        let fields = parse_fields(&row.fields).map_err(|_| bad())?;
        Ok(Resource {
            sharing: SharingType::parse(&row.sharing_type).ok_or_else(bad)?,
            opening: OpeningType::parse(&row.opening_type).ok_or_else(bad)?,
            grade: Grade::parse(&row.grade).ok_or_else(bad)?,
            fields,
            row,
        })
    }

    /// Whether the actor answers for this resource: a data officer of its owner department (the
    /// platform's own data officers for built-in resources), or the admin.
    pub fn answered_by(&self, actor: &Actor) -> bool {
        match actor.role {
            Role::Admin => true,
            Role::DataOfficer => actor.dept_id.map(|d| d.0) == self.row.owner_dept_id,
            _ => false,
        }
    }
}

fn parse_fields(text: &str) -> std::result::Result<Vec<FieldSpec>, ()> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| ())?;
    let items = value.as_array().ok_or(())?;
    items
        .iter()
        .map(|item| {
            Ok(FieldSpec {
                name: item["name"].as_str().ok_or(())?.to_owned(),
                kind: item["type"].as_str().ok_or(())?.to_owned(),
                meaning: item["meaning"].as_str().unwrap_or("").to_owned(),
                personal: item["personal"].as_bool().unwrap_or(false),
                grade: Grade::parse(item["grade"].as_str().unwrap_or("general")).ok_or(())?,
            })
        })
        .collect()
}

fn fields_json(fields: &[FieldSpec]) -> JsonText {
    let items: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name, "type": f.kind, "meaning": f.meaning,
                "personal": f.personal, "grade": f.grade.as_str(),
            })
        })
        .collect();
    JsonText(serde_json::Value::Array(items).to_string())
}

/// A resource a department registers.
#[derive(Debug, Clone)]
pub struct NewDataResource {
    pub code: String,
    pub name: String,
    pub description: String,
    /// For the admin: the owner department (none = the platform). A data officer always
    /// registers for their own department.
    pub owner_dept_id: Option<i64>,
    /// `upload` (rows come with it) or `api` (the owner serves it at `api_url`).
    pub source: String,
    pub api_url: String,
    pub update_cycle: String,
    pub format: String,
    pub sharing_type: String,
    pub opening_type: String,
    pub grade: String,
    pub legal_basis: String,
    pub fields: Vec<FieldSpec>,
    /// Rows of an uploaded table: JSON objects with the declared fields.
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// Browsing parameters.
#[derive(Debug, Clone, Default)]
pub struct CatalogueQuery {
    pub q: Option<String>,
    pub owner_dept_id: Option<i64>,
    pub sharing_type: Option<String>,
    pub opening_type: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

fn one_of(field: &'static str, value: &str, allowed: &[&str]) -> Result<String> {
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: one of {}", allowed.join(", ")),
        ))
    }
}

fn parse_enum<T>(field: &'static str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T> {
    parse(value).ok_or_else(|| {
        ServiceError::invalid("invalid_field", format!("{field}: unknown value {value:?}"))
    })
}

/// Staff roles browse the catalogue; residents do not.
pub(crate) fn require_staff(actor: &Actor) -> Result<()> {
    if actor.role.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::forbidden("the catalogue is for staff"))
    }
}

impl Services {
    /// Lists catalogue entries (staff), with the number that match.
    pub async fn list_data_resources(
        &self,
        actor: &Actor,
        query: &CatalogueQuery,
    ) -> Result<(Vec<Resource>, i64)> {
        require_staff(actor)?;
        let q = match query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => Some(bounded_text("q", Some(q), 100)?),
            None => None,
        };
        let filter = ResourceFilter {
            q,
            owner_dept_id: query.owner_dept_id,
            platform_only: false,
            sharing_type: match &query.sharing_type {
                Some(t) => Some(
                    parse_enum("sharing_type", t, SharingType::parse)?
                        .as_str()
                        .into(),
                ),
                None => None,
            },
            opening_type: match &query.opening_type {
                Some(t) => Some(
                    parse_enum("opening_type", t, OpeningType::parse)?
                        .as_str()
                        .into(),
                ),
                None => None,
            },
            limit: query.limit.unwrap_or(50).clamp(1, PAGE_MAX),
            offset: query.offset.unwrap_or(0).clamp(0, 1_000_000),
        };
        let mut conn = self.db().read().await?;
        let (rows, total) = repo::list_resources(&mut conn, &filter).await?;
        let resources = rows
            .into_iter()
            .map(Resource::from_row)
            .collect::<Result<Vec<_>>>()?;
        Ok((resources, total))
    }

    /// Returns one catalogue entry (staff).
    pub async fn get_data_resource(&self, actor: &Actor, code: &str) -> Result<Resource> {
        require_staff(actor)?;
        let mut conn = self.db().read().await?;
        Resource::from_row(repo::get_resource_by_code(&mut conn, code).await?)
    }

    /// Registers a department's resource (data officer or admin), with its uploaded rows; audited.
    pub async fn register_data_resource(
        &self,
        actor: &Actor,
        new: &NewDataResource,
    ) -> Result<Resource> {
        let owner = match actor.role {
            Role::Admin => new.owner_dept_id,
            Role::DataOfficer => actor.dept_id.map(|d| d.0),
            _ => {
                return Err(ServiceError::forbidden(
                    "only data officers register resources",
                ));
            }
        };
        let code = new.code.trim();
        if code.is_empty()
            || code.len() > 64
            || !code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(ServiceError::invalid(
                "invalid_field",
                "code: 1–64 lowercase letters, digits, _ or -",
            ));
        }
        let name = bounded_text("name", Some(&new.name), 200)?;
        if name.is_empty() {
            return Err(ServiceError::invalid("invalid_field", "name: required"));
        }
        let description = bounded_text("description", Some(&new.description), limits::TEXT_MAX)?;
        let legal_basis = bounded_text("legal_basis", Some(&new.legal_basis), limits::TEXT_MAX)?;
        let source = one_of("source", &new.source, &["upload", "api"])?;
        let api_url = bounded_text("api_url", Some(&new.api_url), 500)?;
        if source == "api" && !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(ServiceError::invalid(
                "invalid_field",
                "api_url: an http(s) URL for a resource served by its owner",
            ));
        }
        let update_cycle = one_of("update_cycle", &new.update_cycle, UPDATE_CYCLES)?;
        let format = one_of("format", &new.format, FORMATS)?;
        let sharing = parse_enum("sharing_type", &new.sharing_type, SharingType::parse)?;
        let opening = parse_enum("opening_type", &new.opening_type, OpeningType::parse)?;
        let grade = parse_enum("grade", &new.grade, Grade::parse)?;
        for field in &new.fields {
            bounded_text("meaning", Some(&field.meaning), 500)?;
        }
        rules::validate_resource(sharing, opening, grade, &legal_basis, &new.fields)?;
        if new.rows.len() > UPLOAD_ROWS_MAX {
            return Err(ServiceError::invalid(
                "too_many_rows",
                format!("an upload carries at most {UPLOAD_ROWS_MAX} rows"),
            ));
        }
        if source == "api" && !new.rows.is_empty() {
            return Err(ServiceError::invalid(
                "invalid_field",
                "rows: a resource served by its owner's API uploads no rows",
            ));
        }
        let mut rows = Vec::with_capacity(new.rows.len());
        for (i, row) in new.rows.iter().enumerate() {
            if let Some(key) = row
                .keys()
                .find(|k| !new.fields.iter().any(|f| &f.name == *k))
            {
                return Err(ServiceError::invalid(
                    "unknown_field",
                    format!("row {}: the resource declares no field {key}", i + 1),
                ));
            }
            let text = serde_json::Value::Object(row.clone()).to_string();
            if text.len() > 16 * 1024 {
                return Err(ServiceError::invalid(
                    "invalid_field",
                    format!("row {}: at most 16 KiB", i + 1),
                ));
            }
            rows.push(text);
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        if let Some(dept) = owner {
            reference::get_dept(&mut tx, dept).await?;
        }
        let id = repo::insert_resource(
            &mut tx,
            &NewResource {
                code,
                name: &name,
                description: &description,
                owner_dept_id: owner,
                source: &source,
                api_url: &api_url,
                update_cycle: &update_cycle,
                format: &format,
                sharing_type: sharing.as_str(),
                opening_type: opening.as_str(),
                grade: grade.as_str(),
                legal_basis: &legal_basis,
                fields: fields_json(&new.fields),
                at: now,
            },
        )
        .await
        .map_err(|err| match err {
            urbis_storage::StorageError::Conflict(_) => ServiceError::new(
                ErrorKind::Conflict,
                "resource_code_taken",
                "a resource with this code is registered already",
            ),
            other => other.into(),
        })?;
        repo::insert_rows(&mut tx, id, 1, &rows).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "data_resource_registered",
            "data_resource",
            id,
            "",
            sharing.as_str(),
            &serde_json::json!({
                "code": code, "owner_dept_id": owner, "sharing_type": sharing.as_str(),
                "opening_type": opening.as_str(), "grade": grade.as_str(),
                "fields": new.fields.len(), "rows": rows.len(),
            }),
        )
        .await?;
        let row = repo::get_resource(&mut tx, id).await?;
        tx.commit().await?;
        Resource::from_row(row)
    }
}

impl Services {
    /// The sharing exchange's part of each SLA worker round: the request clock, then the
    /// scheduled open-data generation. Failures are logged; the worker carries on.
    pub(crate) async fn sharing_worker_round(&self) {
        let now = self.now();
        match self.sharing_tick(now).await {
            Ok(tick) if tick.reminded + tick.escalated > 0 => {
                tracing::info!(
                    reminded = tick.reminded,
                    escalated = tick.escalated,
                    "sharing request round"
                );
            }
            Ok(_) => {}
            Err(err) => tracing::error!(error = %err, "sharing request round failed"),
        }
        match self.open_data_tick(now).await {
            Ok(true) => tracing::info!("open data generated"),
            Ok(false) => {}
            Err(err) => tracing::error!(error = %err, "open data generation failed"),
        }
    }
}
