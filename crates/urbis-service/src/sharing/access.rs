//! Graded access: reading a resource with a consumer key. The key must be known, unrevoked,
//! unexpired and granted for this resource; every field asked for must be in the grant; rows are
//! limited to the grant's area; personal fields the grant does not name in clear are masked.
//! Each read appends an access record (`data_access`: which grant and department, which fields,
//! how many rows, the purpose, and a SHA-256 of what was returned) to the audit chain in its own
//! committed transaction before the rows are handed out.

use sha2::{Digest, Sha256};
use urbis_domain::sharing::{self as rules, FieldSpec, GrantScope};
use urbis_storage::audit::{ChainHead, NewAudit};
use urbis_storage::sharing::{self as repo, GrantRow};
use urbis_storage::sharing_sources as src;
use urbis_storage::{Conn, JsonText};

use super::Resource;
use super::requests::parse_list;
use crate::opendata::round;
use crate::{ErrorKind, Result, ServiceError, Services};

/// Most rows one read returns.
pub const READ_LIMIT_MAX: i64 = 1_000;

/// The SHA-256 (hex) a consumer key is stored under.
pub fn consumer_key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// One page read through a key.
#[derive(Debug, Clone)]
pub struct DataPage {
    pub resource: String,
    pub fields: Vec<String>,
    /// Fields whose values were masked.
    pub masked: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub offset: i64,
    /// SHA-256 of the rows as returned (canonical JSON), also in the access record.
    pub content_hash: String,
    /// The access record's sequence number in the audit chain.
    pub audit_seq: i64,
}

fn refused(code: &'static str, message: &str) -> ServiceError {
    ServiceError::new(ErrorKind::Forbidden, code, message)
}

/// Masks one personal value: numbers (coordinates) cut to two decimals (about a kilometre), phone
/// numbers to their first three and last four digits, names to their first character,
/// addresses to road and estate, other text through the personal-data masker.
pub(crate) fn mask_value(field: &FieldSpec, value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Number(n) => n
            .as_f64()
            .map(|f| Value::from(round(f, 2)))
            .unwrap_or(Value::Null),
        Value::String(text) => {
            let name = field.name.as_str();
            let masked = if name.contains("phone") || name.contains("mobile") {
                let chars: Vec<char> = text.chars().collect();
                if chars.len() >= 7 {
                    let head: String = chars[..3].iter().collect();
                    let tail: String = chars[chars.len() - 4..].iter().collect();
                    format!("{head}****{tail}")
                } else {
                    "*".repeat(chars.len())
                }
            } else if name.ends_with("name") {
                let mut chars = text.chars();
                match chars.next() {
                    Some(first) => format!("{first}{}", "*".repeat(chars.count().max(1))),
                    None => String::new(),
                }
            } else if name.contains("address") {
                urbis_text::pii::mask_address(&text)
            } else {
                urbis_text::pii::mask(&text)
            };
            Value::String(masked)
        }
        Value::Null => Value::Null,
        _ => Value::String("***".into()),
    }
}

type Record = serde_json::Map<String, serde_json::Value>;

/// Reads a page of a resource's rows as JSON objects, filtered to an area subtree.
async fn read_rows(
    conn: &mut Conn,
    resource: &Resource,
    area_path: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<Record>> {
    use serde_json::json;
    let obj = |v: serde_json::Value| match v {
        serde_json::Value::Object(map) => map,
        _ => Record::new(),
    };
    let rows: Vec<Record> = match resource.row.source.as_str() {
        "builtin:case_records" => src::case_records(conn, area_path, limit, offset)
            .await?
            .into_iter()
            .map(|r| {
                obj(json!({
                    "number": r.number, "reported_at": crate::time::to_db(r.reported_at),
                    "category_code": r.category_code, "category_name": r.category_name,
                    "area_code": r.area_code, "state": r.state, "text": r.text,
                    "address": r.address, "lat": r.lat, "lon": r.lon,
                    "reporter_name": r.reporter_name, "reporter_phone": r.reporter_phone,
                }))
            })
            .collect(),
        "builtin:case_counts" => src::case_counts(conn, area_path, limit, offset)
            .await?
            .into_iter()
            .map(|r| {
                obj(json!({
                    "day": r.day, "area_code": r.area_code, "area_name": r.area_name,
                    "category_code": r.category_code, "category_name": r.category_name,
                    "reported": r.reported, "closed": r.closed,
                }))
            })
            .collect(),
        "builtin:indicators" => src::indicators(conn, area_path, limit, offset)
            .await?
            .into_iter()
            .map(|r| {
                let rate = |n: i64, d: i64| {
                    if d > 0 {
                        json!(round(n as f64 / d as f64, 4))
                    } else {
                        serde_json::Value::Null
                    }
                };
                obj(json!({
                    "area_code": r.area_code, "area_name": r.area_name, "reported": r.reported,
                    "closed": r.closed, "closed_on_time": r.closed_on_time,
                    "close_rate": rate(r.closed, r.reported),
                    "on_time_rate": rate(r.closed_on_time, r.closed),
                }))
            })
            .collect(),
        "builtin:grids" => src::grids(conn, area_path, limit, offset)
            .await?
            .into_iter()
            .map(|r| {
                obj(json!({
                    "code": r.code, "name": r.name, "parent_code": r.parent_code,
                    "center_lat": r.center_lat, "center_lon": r.center_lon,
                }))
            })
            .collect(),
        "builtin:assets" => src::assets(conn, area_path, limit, offset)
            .await?
            .into_iter()
            .map(|r| {
                obj(json!({
                    "id": r.id, "subclass_code": r.subclass_code, "name": r.name,
                    "state": r.state, "lat": r.lat, "lon": r.lon, "maintainer": r.maintainer,
                }))
            })
            .collect(),
        "builtin:case_open_records" => {
            // Served from the newest open release, which is already de-identified.
            let release = urbis_storage::opendata::release(conn, "case-records", None).await?;
            match release {
                Some(release) => crate::opendata::release_records(&release)
                    .into_iter()
                    .skip(usize::try_from(offset).unwrap_or(0))
                    .take(usize::try_from(limit).unwrap_or(0))
                    .collect(),
                None => Vec::new(),
            }
        }
        "upload" => repo::uploaded_rows(conn, resource.row.id, limit, offset)
            .await?
            .into_iter()
            .map(|text: JsonText| obj(serde_json::from_str(&text).unwrap_or_default()))
            .collect(),
        _ => {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "served_by_owner",
                "this resource is served by its owner's API, not through the exchange",
            ));
        }
    };
    Ok(rows)
}

impl Services {
    /// Reads a page of `code` with a consumer key: only granted fields (all of them when none
    /// are asked for), only rows inside the grant's area, personal fields masked unless the
    /// grant names them; the read is in the audit chain before it is returned.
    pub async fn read_shared(
        &self,
        key: Option<&str>,
        code: &str,
        fields: &[String],
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<DataPage> {
        let key = key
            .map(str::trim)
            .filter(|k| !k.is_empty() && k.len() <= 100)
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::Unauthenticated,
                    "invalid_data_key",
                    "a consumer key (X-Data-Key) is required",
                )
            })?;
        let limit = limit.unwrap_or(100).clamp(1, READ_LIMIT_MAX);
        let offset = offset.unwrap_or(0).clamp(0, 10_000_000);
        let now = self.now();
        let mut conn = self.db().read().await?;
        let grant: GrantRow = repo::find_grant_by_hash(&mut conn, &consumer_key_hash(key))
            .await?
            .ok_or_else(|| {
                ServiceError::new(
                    ErrorKind::Unauthenticated,
                    "invalid_data_key",
                    "the consumer key is not valid",
                )
            })?;
        if grant.revoked_at.is_some() {
            return Err(refused("key_revoked", "the consumer key was revoked"));
        }
        if now >= grant.expires_at {
            return Err(refused(
                "key_expired",
                "the consumer key's grant has expired",
            ));
        }
        let resource = match repo::get_resource_by_code(&mut conn, code).await {
            Ok(row) => Resource::from_row(row)?,
            Err(urbis_storage::StorageError::NotFound(_)) => {
                return Err(refused(
                    "key_wrong_resource",
                    "the consumer key is not granted for this resource",
                ));
            }
            Err(err) => return Err(err.into()),
        };
        if resource.row.id != grant.resource_id {
            return Err(refused(
                "key_wrong_resource",
                "the consumer key is not granted for this resource",
            ));
        }
        let scope = GrantScope {
            fields: parse_list(&grant.fields),
            clear: parse_list(&grant.clear_fields),
        };
        let chosen = rules::fields_for_read(&resource.fields, &scope, fields)?;
        let records = read_rows(
            &mut conn,
            &resource,
            grant.area_path.as_deref(),
            limit,
            offset,
        )
        .await?;
        drop(conn);
        let specs: Vec<&FieldSpec> = chosen
            .iter()
            .filter_map(|name| resource.fields.iter().find(|f| &f.name == name))
            .collect();
        let masked: Vec<String> = specs
            .iter()
            .filter(|f| f.personal && !scope.clear.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let rows: Vec<Vec<serde_json::Value>> = records
            .into_iter()
            .map(|mut record| {
                specs
                    .iter()
                    .map(|spec| {
                        let value = record.remove(&spec.name).unwrap_or(serde_json::Value::Null);
                        if masked.contains(&spec.name) {
                            mask_value(spec, value)
                        } else {
                            value
                        }
                    })
                    .collect()
            })
            .collect();
        let content_hash = hex::encode(Sha256::digest(
            serde_json::to_string(&rows).unwrap_or_default().as_bytes(),
        ));
        let detail = serde_json::json!({
            "grant_id": grant.id, "consumer_dept_id": grant.consumer_dept_id,
            "consumer_dept": grant.consumer_dept_name, "resource": resource.row.code,
            "fields": chosen, "masked": masked, "rows": rows.len(), "offset": offset,
            "purpose": grant.purpose, "content_hash": content_hash,
        })
        .to_string();
        let mut tx = self.db().begin_write().await?;
        let mut head = ChainHead::load(&mut tx).await?;
        let audit_seq = head
            .append(
                &mut tx,
                &NewAudit {
                    at: now,
                    actor_id: None,
                    actor_role: "data_consumer",
                    action: "data_access",
                    entity: "data_resource",
                    entity_id: resource.row.id,
                    from_state: "",
                    to_state: "",
                    detail: &detail,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(DataPage {
            resource: resource.row.code,
            fields: chosen,
            masked,
            rows,
            offset,
            content_hash,
            audit_seq,
        })
    }

    /// The access records of a resource, newest first (its owner or the admin): who read, which
    /// fields, how many rows, why.
    pub async fn data_access_log(
        &self,
        actor: &urbis_domain::role::Actor,
        code: &str,
    ) -> Result<Vec<crate::rows::AuditRow>> {
        let mut conn = self.db().read().await?;
        let resource = Resource::from_row(repo::get_resource_by_code(&mut conn, code).await?)?;
        if !resource.answered_by(actor) {
            return Err(ServiceError::forbidden(
                "only the resource's owner sees who read it",
            ));
        }
        Ok(repo::access_records(&mut conn, resource.row.id, 500).await?)
    }
}
