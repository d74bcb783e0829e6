//! Sharing requests (共享申请): a department's data officer asks for a resource with a purpose,
//! fields, an area and a period. 无条件共享 is granted at once; 有条件共享 waits for the owner,
//! who must answer within [`ANSWER_WORKING_DAYS`] working days on the city's working calendar
//! (reminded [`REMIND_WORKING_DAYS_BEFORE`] days before, escalated when the time is up, by
//! [`Services::sharing_tick`] on the SLA worker); 不予共享 cannot be asked for. An approval may
//! narrow the fields and the area, and issues a consumer key that is shown once and stored as
//! its SHA-256 only.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use rand::RngCore;
use urbis_domain::appeal::bounded_text;
use urbis_domain::calendar::ClockType;
use urbis_domain::role::{Actor, Role};
use urbis_domain::sharing::{self as rules, SharingType, limits};
use urbis_storage::JsonText;
use urbis_storage::sharing::{
    self as repo, GrantRow, NewGrant, NewRequest, RequestFilter, RequestRow,
};

use super::{Resource, consumer_key_hash, require_staff};
use crate::{ErrorKind, Result, ServiceError, Services};

/// Working days an owner has to answer a 有条件共享 request (国发〔2016〕51号: 10 working days).
pub const ANSWER_WORKING_DAYS: u32 = 10;
/// How many working days before the deadline the owner is reminded.
pub const REMIND_WORKING_DAYS_BEFORE: u32 = 2;

/// What a department asks for.
#[derive(Debug, Clone)]
pub struct NewSharingRequest {
    pub resource_code: String,
    pub purpose: String,
    pub fields: Vec<String>,
    /// Rows only at or below this area (none: the whole resource).
    pub area_id: Option<i64>,
    pub period_days: u32,
}

/// The owner's answer.
#[derive(Debug, Clone)]
pub enum Decision {
    /// Grant, optionally narrowed to fewer fields or a smaller area.
    Approve {
        fields: Option<Vec<String>>,
        area_id: Option<i64>,
        note: String,
    },
    /// Refuse, with the reason (required).
    Refuse { reason: String },
}

/// A key issued by a grant: the key itself is shown once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub grant_id: i64,
    pub key: String,
    pub fields: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// What one round of the sharing clock did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharingTick {
    pub reminded: usize,
    pub escalated: usize,
}

fn json_list(items: &BTreeSet<String>) -> JsonText {
    JsonText(serde_json::to_string(items).unwrap_or_else(|_| "[]".into()))
}

pub(crate) fn parse_list(text: &str) -> BTreeSet<String> {
    serde_json::from_str(text).unwrap_or_default()
}

fn new_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("udk_{}", hex::encode(bytes))
}

impl Services {
    /// Files a sharing request for the actor's department (data officer with a department).
    /// Returns the request and, for 无条件共享, the key issued at once.
    pub async fn request_sharing(
        &self,
        actor: &Actor,
        new: &NewSharingRequest,
    ) -> Result<(RequestRow, Option<IssuedKey>)> {
        let dept = match (actor.role, actor.dept_id) {
            (Role::DataOfficer, Some(dept)) => dept.0,
            _ => {
                return Err(ServiceError::forbidden(
                    "a department's data officer files sharing requests",
                ));
            }
        };
        let purpose = bounded_text("purpose", Some(&new.purpose), limits::TEXT_MAX)?;
        if purpose.chars().count() < 4 {
            return Err(ServiceError::invalid(
                "purpose_required",
                "state the purpose of the request",
            ));
        }
        if new.period_days == 0 || new.period_days > limits::PERIOD_MAX_DAYS {
            return Err(ServiceError::invalid(
                "invalid_field",
                format!("period_days: 1 to {}", limits::PERIOD_MAX_DAYS),
            ));
        }
        if new.fields.len() > limits::FIELDS_MAX {
            return Err(ServiceError::invalid("invalid_fields", "too many fields"));
        }
        let now = self.now();
        let calendar = self.calendar();
        let due = self
            .due(
                &calendar,
                ClockType::WorkingDay,
                ANSWER_WORKING_DAYS,
                now,
                &[],
            )?
            .unwrap_or(now);
        let remind = self
            .due(
                &calendar,
                ClockType::WorkingDay,
                ANSWER_WORKING_DAYS - REMIND_WORKING_DAYS_BEFORE,
                now,
                &[],
            )?
            .unwrap_or(now);
        let mut tx = self.db().begin_write().await?;
        let resource =
            Resource::from_row(repo::get_resource_by_code(&mut tx, &new.resource_code).await?)?;
        if resource.sharing == SharingType::None {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "not_shareable",
                format!(
                    "{} is 不予共享: {}",
                    resource.row.name, resource.row.legal_basis
                ),
            ));
        }
        if resource.row.owner_dept_id == Some(dept) {
            return Err(ServiceError::invalid(
                "own_resource",
                "a department does not request its own resource",
            ));
        }
        let fields = rules::check_requested_fields(&resource.fields, &new.fields)?;
        if let Some(area) = new.area_id {
            repo::area_path(&mut tx, area).await?;
        }
        let id = repo::insert_request(
            &mut tx,
            &NewRequest {
                resource_id: resource.row.id,
                requester_dept_id: dept,
                requester_user_id: actor.user_id.0,
                purpose: &purpose,
                fields: json_list(&fields),
                area_id: new.area_id,
                period_days: i64::from(new.period_days),
                state: "pending",
                due_at: due,
                remind_at: remind,
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sharing_request",
            "sharing_request",
            id,
            "",
            "pending",
            &serde_json::json!({
                "resource": resource.row.code, "fields": fields, "area_id": new.area_id,
                "period_days": new.period_days, "purpose": purpose, "due_at": due,
            }),
        )
        .await?;
        let mut key = None;
        if resource.sharing == SharingType::Unconditional {
            let request = repo::get_request(&mut tx, id).await?;
            key = Some(
                self.grant(
                    &mut tx,
                    None,
                    &request,
                    &resource,
                    fields,
                    new.area_id,
                    "无条件共享，自动授权",
                    now,
                )
                .await?,
            );
        }
        let request = repo::get_request(&mut tx, id).await?;
        tx.commit().await?;
        Ok((request, key))
    }

    /// Approves (possibly narrowed) or refuses a pending request; only the resource's owner
    /// answers. An approval returns the consumer key.
    pub async fn decide_sharing(
        &self,
        actor: &Actor,
        request_id: i64,
        decision: &Decision,
    ) -> Result<(RequestRow, Option<IssuedKey>)> {
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let request = repo::get_request(&mut tx, request_id).await?;
        let resource = Resource::from_row(repo::get_resource(&mut tx, request.resource_id).await?)?;
        if !resource.answered_by(actor) {
            return Err(ServiceError::forbidden(
                "only the resource's owner answers its requests",
            ));
        }
        if request.state != "pending" {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "request_decided",
                "the request was answered already",
            ));
        }
        let key = match decision {
            Decision::Approve {
                fields,
                area_id,
                note,
            } => {
                let asked = parse_list(&request.fields);
                let granted = match fields {
                    Some(list) => {
                        let granted = rules::check_requested_fields(&resource.fields, list)?;
                        if !granted.is_subset(&asked) {
                            return Err(ServiceError::invalid(
                                "widens_request",
                                "an approval may narrow the fields asked for, never add to them",
                            ));
                        }
                        granted
                    }
                    None => asked,
                };
                let area = match (area_id, request.area_id) {
                    (Some(narrow), Some(asked)) => {
                        let narrow_path = repo::area_path(&mut tx, *narrow).await?;
                        let asked_path = repo::area_path(&mut tx, asked).await?;
                        if !narrow_path.starts_with(&asked_path) {
                            return Err(ServiceError::invalid(
                                "widens_request",
                                "an approval may narrow the area asked for, never widen it",
                            ));
                        }
                        Some(*narrow)
                    }
                    (Some(narrow), None) => {
                        repo::area_path(&mut tx, *narrow).await?;
                        Some(*narrow)
                    }
                    (None, asked) => asked,
                };
                let note = bounded_text("note", Some(note), limits::TEXT_MAX)?;
                Some(
                    self.grant(
                        &mut tx,
                        Some(actor),
                        &request,
                        &resource,
                        granted,
                        area,
                        &note,
                        now,
                    )
                    .await?,
                )
            }
            Decision::Refuse { reason } => {
                let reason = bounded_text("reason", Some(reason), limits::TEXT_MAX)?;
                if reason.trim().is_empty() {
                    return Err(ServiceError::invalid(
                        "reason_required",
                        "a refusal states its reason",
                    ));
                }
                repo::decide_request(
                    &mut tx,
                    request.id,
                    "refused",
                    None,
                    &reason,
                    Some(actor.user_id.0),
                    now,
                )
                .await?;
                crate::audit::record(
                    &mut tx,
                    now,
                    Some(actor),
                    "sharing_refuse",
                    "sharing_request",
                    request.id,
                    "pending",
                    "refused",
                    &serde_json::json!({ "reason": reason, "late": now > request.due_at }),
                )
                .await?;
                None
            }
        };
        let request = repo::get_request(&mut tx, request.id).await?;
        tx.commit().await?;
        Ok((request, key))
    }

    /// Marks the request approved, stores the grant and its key hash, and audits both.
    #[allow(clippy::too_many_arguments)]
    async fn grant(
        &self,
        tx: &mut urbis_storage::WriteTx,
        actor: Option<&Actor>,
        request: &RequestRow,
        resource: &Resource,
        fields: BTreeSet<String>,
        area_id: Option<i64>,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedKey> {
        let scope = rules::grant_scope(&resource.fields, fields, resource.sharing);
        let key = new_key();
        let expires_at = now + chrono::Duration::days(request.period_days);
        repo::decide_request(
            &mut *tx,
            request.id,
            "approved",
            Some(json_list(&scope.fields)),
            note,
            actor.map(|a| a.user_id.0),
            now,
        )
        .await?;
        let grant_id = repo::insert_grant(
            &mut *tx,
            &NewGrant {
                request_id: Some(request.id),
                resource_id: resource.row.id,
                consumer_dept_id: request.requester_dept_id,
                fields: json_list(&scope.fields),
                clear_fields: json_list(&scope.clear),
                area_id,
                purpose: &request.purpose,
                key_hash: &consumer_key_hash(&key),
                expires_at,
                created_at: now,
            },
        )
        .await?;
        crate::audit::record(
            &mut *tx,
            now,
            actor,
            "sharing_approve",
            "sharing_request",
            request.id,
            "pending",
            "approved",
            &serde_json::json!({
                "grant_id": grant_id, "fields": scope.fields, "clear_fields": scope.clear,
                "area_id": area_id, "expires_at": expires_at, "note": note,
                "late": now > request.due_at,
            }),
        )
        .await?;
        Ok(IssuedKey {
            grant_id,
            key,
            fields: scope.fields.into_iter().collect(),
            expires_at,
        })
    }

    /// Lists sharing requests: a data officer sees those of their department (asked by it or
    /// addressed to it); the admin sees all. `direction` is `incoming`, `outgoing` or all.
    pub async fn list_sharing_requests(
        &self,
        actor: &Actor,
        direction: Option<&str>,
        state: Option<&str>,
    ) -> Result<Vec<RequestRow>> {
        require_staff(actor)?;
        let dept = actor.dept_id.map(|d| d.0);
        let mut filters = Vec::new();
        let base = RequestFilter {
            state: state.map(str::to_owned),
            limit: 500,
            ..RequestFilter::default()
        };
        match (actor.role, direction) {
            (Role::Admin, None) => filters.push(base),
            (Role::Admin, Some("incoming")) => filters.push(RequestFilter {
                owner: Some(None),
                ..base
            }),
            (Role::DataOfficer, dir) => {
                if dir != Some("outgoing") {
                    filters.push(RequestFilter {
                        owner: Some(dept),
                        ..base.clone()
                    });
                }
                if dir != Some("incoming")
                    && let Some(dept) = dept
                {
                    filters.push(RequestFilter {
                        requester_dept_id: Some(dept),
                        ..base
                    });
                }
            }
            (Role::Admin, Some(_)) => {}
            _ => {
                return Err(ServiceError::forbidden(
                    "sharing requests are for data officers",
                ));
            }
        }
        let mut conn = self.db().read().await?;
        let mut out: Vec<RequestRow> = Vec::new();
        for filter in filters {
            for row in repo::list_requests(&mut conn, &filter).await? {
                if !out.iter().any(|r| r.id == row.id) {
                    out.push(row);
                }
            }
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.id));
        Ok(out)
    }

    /// Grants on a resource (its owner or the admin).
    pub async fn list_grants(&self, actor: &Actor, code: &str) -> Result<Vec<GrantRow>> {
        let mut conn = self.db().read().await?;
        let resource = Resource::from_row(repo::get_resource_by_code(&mut conn, code).await?)?;
        if !resource.answered_by(actor) {
            return Err(ServiceError::forbidden(
                "only the resource's owner sees its grants",
            ));
        }
        Ok(repo::grants_of_resource(&mut conn, resource.row.id).await?)
    }

    /// Revokes a grant (the resource's owner or the admin); its key stops working at once.
    pub async fn revoke_grant(
        &self,
        actor: &Actor,
        grant_id: i64,
        reason: &str,
    ) -> Result<GrantRow> {
        let reason = bounded_text("reason", Some(reason), limits::TEXT_MAX)?;
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let grant = repo::get_grant(&mut tx, grant_id).await?;
        let resource = Resource::from_row(repo::get_resource(&mut tx, grant.resource_id).await?)?;
        if !resource.answered_by(actor) {
            return Err(ServiceError::forbidden(
                "only the resource's owner revokes its grants",
            ));
        }
        if !repo::revoke_grant(&mut tx, grant_id, now).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "already_revoked",
                "the grant is revoked already",
            ));
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "sharing_revoke",
            "sharing_grant",
            grant_id,
            "active",
            "revoked",
            &serde_json::json!({ "resource": resource.row.code, "reason": reason }),
        )
        .await?;
        let grant = repo::get_grant(&mut tx, grant_id).await?;
        tx.commit().await?;
        Ok(grant)
    }

    /// One round of the sharing clock at `now`: reminds owners of requests close to their
    /// deadline and escalates (督办) those past it, each with an audit record.
    pub async fn sharing_tick(&self, now: DateTime<Utc>) -> Result<SharingTick> {
        let mut tick = SharingTick::default();
        let mut tx = self.db().begin_write().await?;
        for request in repo::requests_to_remind(&mut tx, now, 500).await? {
            if request.due_at <= now {
                continue; // escalated below instead
            }
            repo::mark_request(&mut tx, request.id, false, now).await?;
            crate::audit::record(
                &mut tx,
                now,
                None,
                "sharing_remind",
                "sharing_request",
                request.id,
                "pending",
                "pending",
                &serde_json::json!({ "due_at": request.due_at, "owner_dept_id": request.owner_dept_id }),
            )
            .await?;
            tick.reminded += 1;
        }
        for request in repo::requests_to_escalate(&mut tx, now, 500).await? {
            repo::mark_request(&mut tx, request.id, true, now).await?;
            crate::audit::record(
                &mut tx,
                now,
                None,
                "sharing_escalate",
                "sharing_request",
                request.id,
                "pending",
                "pending",
                &serde_json::json!({ "due_at": request.due_at, "owner_dept_id": request.owner_dept_id }),
            )
            .await?;
            tick.escalated += 1;
        }
        tx.commit().await?;
        Ok(tick)
    }
}
