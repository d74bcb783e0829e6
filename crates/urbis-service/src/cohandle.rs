//! Co-handling rules the workflow applies inside its own transactions: supporting departments'
//! sub-tasks (协办) started with a dispatch and cancelled by a return, reopening or another
//! dispatch; the lead's feedback waiting for them; the one-return rule (a second 回退 of a case by
//! the same department must go the dispute path); partner grants; drafting a ruling's amendment
//! into the next version of the responsibility list; partner administration and the public list.
//!
//! This module never uses `cases` (which calls it); the use cases that move a case on a ruling or
//! a claim live in `cases::disputes` and `cases::pool`.

use chrono::{DateTime, Utc};
use urbis_domain::calendar::ClockType;
use urbis_domain::role::{Actor, Role};
use urbis_storage::cases::{CaseRow, NotificationRow};
use urbis_storage::cohandle::{self as repo, GrantRow, PartnerRow, SubtaskRow};
use urbis_storage::reference::RuleRow;
use urbis_storage::{Conn, reference};

use crate::auth::require_role;
use crate::case_rows::{format_ids, parse_ids, parse_path};
use crate::{ErrorKind, Result, ServiceError, Services};

/// Kinds of partner organisation.
pub const PARTNER_KINDS: [&str; 4] = ["property", "utility", "social", "volunteer"];

/// Most grants one partner holds.
pub const GRANTS_MAX: usize = 50;

/// Starts one sub-task per supporting department on the case's clock; returns their ids.
pub(crate) async fn start_subtasks(
    services: &Services,
    conn: &mut Conn,
    case: &CaseRow,
    supporting: &[i64],
    clock: ClockType,
    amount: u32,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let calendar = services.calendar();
    let due_at = services.due(&calendar, clock, amount, now, &[])?;
    let mut ids = Vec::with_capacity(supporting.len());
    for dept in supporting {
        let row = repo::insert_subtask(
            conn,
            &SubtaskRow {
                id: 0,
                case_id: case.id,
                dept_id: *dept,
                state: "dispatched".into(),
                active: true,
                clock: clock.as_str().to_owned(),
                limit_amount: i64::from(amount),
                created_at: now,
                due_at,
                accepted_at: None,
                done_at: None,
                note: String::new(),
                on_time: None,
                reminded: false,
                overdue: false,
            },
        )
        .await?;
        urbis_storage::cases::insert_notification(
            conn,
            &NotificationRow {
                id: 0,
                case_id: case.id,
                dept_id: Some(*dept),
                user_id: None,
                kind: "subtask".into(),
                message: format!("新协办任务：案件 {}", case.number),
                created_at: now,
            },
        )
        .await?;
        ids.push(row.id);
    }
    Ok(ids)
}

/// Cancels the case's current sub-tasks; returns the ids of those that were still open.
pub(crate) async fn cancel_subtasks(conn: &mut Conn, case_id: i64) -> Result<Vec<i64>> {
    Ok(repo::cancel_case_subtasks(conn, case_id)
        .await?
        .into_iter()
        .filter(|s| s.state == "cancelled")
        .map(|s| s.id)
        .collect())
}

/// Refuses the lead's feedback while a current sub-task is neither done nor released.
pub(crate) async fn check_subtasks_finished(conn: &mut Conn, case_id: i64) -> Result<()> {
    let open: Vec<i64> = repo::case_subtasks(conn, case_id, true)
        .await?
        .into_iter()
        .filter(|s| matches!(s.state.as_str(), "dispatched" | "handling"))
        .map(|s| s.dept_id)
        .collect();
    if open.is_empty() {
        return Ok(());
    }
    Err(ServiceError::new(
        ErrorKind::Conflict,
        "subtasks_pending",
        format!(
            "supporting departments {} have not fed back; wait for them or release their sub-tasks with a reason",
            format_ids(&open)
        ),
    ))
}

/// Refuses a second 回退 of the same case by the same department: a department that still
/// thinks the case is not its own opens a dispute instead.
pub(crate) async fn check_return_allowed(conn: &mut Conn, case_id: i64, dept: i64) -> Result<()> {
    let trail = urbis_storage::audit::list_for_entity(conn, "case", case_id).await?;
    let returned_before = trail.iter().any(|row| {
        row.action == "return"
            && serde_json::from_str::<serde_json::Value>(&row.detail)
                .ok()
                .and_then(|d| d.get("dept_id").and_then(serde_json::Value::as_i64))
                == Some(dept)
    });
    if returned_before {
        return Err(ServiceError::new(
            ErrorKind::Conflict,
            "return_repeated",
            format!(
                "your department already returned this case once; open a dispute (POST /api/v1/cases/{case_id}/disputes) with your reason and the list entry you rely on"
            ),
        ));
    }
    Ok(())
}

/// Returns a category and its ancestors, nearest first (none without a category).
async fn category_chain(conn: &mut Conn, category_id: Option<i64>) -> Result<Vec<i64>> {
    match category_id {
        Some(id) => crate::routing::category_ancestry(conn, id).await,
        None => Ok(Vec::new()),
    }
}

/// Returns whether a grant covers a case's area and category.
pub(crate) async fn grants_cover(
    conn: &mut Conn,
    grants: &[GrantRow],
    area_path: &str,
    category_id: Option<i64>,
) -> Result<bool> {
    let chain = category_chain(conn, category_id).await?;
    Ok(grants.iter().any(|grant| {
        area_path.starts_with(&grant.area_path)
            && grant.category_id.is_none_or(|c| chain.contains(&c))
    }))
}

/// Refuses to give a partner a case outside its grants (a government department passes).
pub(crate) async fn check_partner_grant(
    conn: &mut Conn,
    dept_id: i64,
    area_path: &str,
    category_id: Option<i64>,
) -> Result<()> {
    if !repo::is_partner(conn, dept_id).await? {
        return Ok(());
    }
    let grants = repo::partner_grants(conn, dept_id).await?;
    if grants_cover(conn, &grants, area_path, category_id).await? {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "partner_out_of_grant",
            format!("partner {dept_id} holds no grant for this place and category"),
        ))
    }
}

/// Writes a ruling's departments into the draft version of the responsibility list (made from
/// the active version when there is none) and returns the draft's id. The amended rule is the one
/// for the disputed rule's category and area when the draft has it, else a new one for the case's
/// category in its district.
pub(crate) async fn draft_amendment(
    conn: &mut Conn,
    actor: &Actor,
    now: DateTime<Utc>,
    relied_on: &RuleRow,
    case: &CaseRow,
    amendment: &Amendment<'_>,
) -> Result<i64> {
    let (lead, supporting, basis_note) = (
        amendment.lead,
        amendment.supporting,
        amendment.note.as_str(),
    );
    let draft = match repo::draft_version(conn).await? {
        Some(draft) => draft.id,
        None => {
            let version =
                reference::insert_version(conn, "争议裁定修订草案", now, Some(actor.user_id.0))
                    .await?;
            repo::set_draft(conn, version.id, true).await?;
            if let Some(active) = repo::active_version_id(conn).await? {
                for rule in reference::list_rules(conn, Some(active)).await? {
                    reference::insert_rule(
                        conn,
                        &RuleRow {
                            version_id: version.id,
                            ..rule
                        },
                    )
                    .await?;
                }
            }
            version.id
        }
    };
    // The entry relied on is amended when it covers the case (its category or an ancestor, its
    // area or one above); otherwise the case's own category gets a rule for its district.
    let path = parse_path(&case.area_path);
    let chain = category_chain(conn, case.category_id).await?;
    let (category_id, area_id) = match case.category_id {
        Some(category)
            if !(chain.contains(&relied_on.category_id) && path.contains(&relied_on.area_id)) =>
        {
            (
                category,
                path.get(1)
                    .or(path.first())
                    .copied()
                    .unwrap_or(case.area_id),
            )
        }
        _ => (relied_on.category_id, relied_on.area_id),
    };
    let basis = |old: &str| {
        let text = if old.is_empty() {
            basis_note.to_owned()
        } else {
            format!("{old}；{basis_note}")
        };
        text.chars()
            .take(crate::reference::LEGAL_BASIS_MAX_CHARS)
            .collect::<String>()
    };
    let existing = reference::list_rules(conn, Some(draft))
        .await?
        .into_iter()
        .find(|r| r.category_id == category_id && r.area_id == area_id);
    match existing {
        Some(rule) => {
            let amended = RuleRow {
                lead_dept_id: lead,
                supporting: format_ids(supporting),
                legal_basis: basis(&rule.legal_basis),
                ..rule
            };
            repo::update_rule(conn, &amended).await?;
        }
        None => {
            reference::insert_rule(
                conn,
                &RuleRow {
                    id: 0,
                    version_id: draft,
                    category_id,
                    area_id,
                    lead_dept_id: lead,
                    supporting: format_ids(supporting),
                    legal_basis: basis(""),
                },
            )
            .await?;
        }
    }
    Ok(draft)
}

/// What a ruling writes into the draft list: the departments and a note for the legal basis.
pub(crate) struct Amendment<'a> {
    pub lead: i64,
    pub supporting: &'a [i64],
    pub note: String,
}

/// A partner with its grants.
#[derive(Debug, Clone)]
pub struct Partner {
    pub row: PartnerRow,
    pub grants: Vec<GrantRow>,
}

/// A grant asked for: an area subtree and optionally a category subtree.
#[derive(Debug, Clone)]
pub struct GrantInput {
    pub area_id: i64,
    pub category_id: Option<i64>,
}

/// One row of the public responsibility list.
#[derive(Debug, Clone)]
pub struct PublicRule {
    pub category_code: String,
    pub category_name: String,
    pub area_code: String,
    pub area_name: String,
    pub lead: String,
    pub supporting: Vec<String>,
    pub legal_basis: String,
}

impl Services {
    /// Registers a partner organisation (a department row of a kind) with its grants (admin).
    pub async fn create_partner(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        kind: &str,
        grants: &[GrantInput],
    ) -> Result<Partner> {
        require_role(actor, &[Role::Admin])?;
        if !PARTNER_KINDS.contains(&kind) {
            return Err(ServiceError::invalid(
                "invalid_partner_kind",
                "kind is property, utility, social or volunteer",
            ));
        }
        if grants.is_empty() || grants.len() > GRANTS_MAX {
            return Err(ServiceError::invalid(
                "invalid_grants",
                format!("between 1 and {GRANTS_MAX} grants"),
            ));
        }
        let code = urbis_domain::appeal::bounded_text("code", Some(code), 64)?;
        let name = urbis_domain::appeal::bounded_text("name", Some(name), 100)?;
        if code.trim().is_empty() || name.trim().is_empty() {
            return Err(ServiceError::invalid(
                "invalid_field",
                "code and name are required",
            ));
        }
        let now = self.now();
        let mut tx = self.db().begin_write().await?;
        let dept = reference::insert_dept(&mut tx, &code, &name, None).await?;
        repo::insert_partner(&mut tx, dept.id, kind, now).await?;
        for grant in grants {
            reference::get_area(&mut tx, grant.area_id)
                .await
                .map_err(|_| ServiceError::invalid("unknown_area", "no such area"))?;
            if let Some(category) = grant.category_id
                && !urbis_storage::lookups::category_exists(&mut tx, category).await?
            {
                return Err(ServiceError::invalid(
                    "unknown_category",
                    "no such category",
                ));
            }
            repo::insert_grant(&mut tx, dept.id, grant.area_id, grant.category_id).await?;
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "partner_created",
            "department",
            dept.id,
            "",
            "",
            &serde_json::json!({
                "code": code, "name": name, "kind": kind,
                "grants": grants.iter().map(|g| serde_json::json!({"area_id": g.area_id, "category_id": g.category_id})).collect::<Vec<_>>(),
            }),
        )
        .await?;
        tx.commit().await?;
        self.partner(dept.id).await
    }

    /// Returns one partner with its grants.
    pub async fn partner(&self, dept_id: i64) -> Result<Partner> {
        let mut conn = self.db().read().await?;
        let row = repo::list_partners(&mut conn)
            .await?
            .into_iter()
            .find(|p| p.dept_id == dept_id)
            .ok_or_else(|| ServiceError::not_found("partner"))?;
        let grants = repo::partner_grants(&mut conn, dept_id).await?;
        Ok(Partner { row, grants })
    }

    /// Lists partners with their grants: staff see all, a partner user only its own.
    pub async fn list_partners(&self, actor: &Actor) -> Result<Vec<Partner>> {
        let reader = actor.role == Role::Partner
            || (actor.role.is_staff() && actor.role != Role::DataOfficer);
        if !reader {
            return Err(ServiceError::forbidden("partners are listed for staff"));
        }
        let mut conn = self.db().read().await?;
        let mut out = Vec::new();
        for row in repo::list_partners(&mut conn).await? {
            if actor.role == Role::Partner && actor.dept_id.map(|d| d.0) != Some(row.dept_id) {
                continue;
            }
            let grants = repo::partner_grants(&mut conn, row.dept_id).await?;
            out.push(Partner { row, grants });
        }
        Ok(out)
    }

    /// Returns the published responsibility list for everyone, no login needed: category → lead
    /// and supporting departments with the legal basis.
    pub async fn public_responsibility(&self) -> Result<Vec<PublicRule>> {
        let mut conn = self.db().read().await?;
        let Some(active) = repo::active_version_id(&mut conn).await? else {
            return Ok(Vec::new());
        };
        let rules = reference::list_rules(&mut conn, Some(active)).await?;
        let categories = reference::list_categories(&mut conn).await?;
        let depts = reference::list_depts(&mut conn).await?;
        let dept_name = |id: i64| {
            depts
                .iter()
                .find(|d| d.id == id)
                .map(|d| d.name.clone())
                .unwrap_or_default()
        };
        let mut out = Vec::with_capacity(rules.len());
        for rule in rules {
            let category = categories.iter().find(|c| c.id == rule.category_id);
            let area = reference::get_area(&mut conn, rule.area_id).await?;
            out.push(PublicRule {
                category_code: category.map(|c| c.code.clone()).unwrap_or_default(),
                category_name: category.map(|c| c.name.clone()).unwrap_or_default(),
                area_code: area.code,
                area_name: area.name,
                lead: dept_name(rule.lead_dept_id),
                supporting: parse_ids(&rule.supporting)
                    .into_iter()
                    .map(dept_name)
                    .collect(),
                legal_basis: rule.legal_basis,
            });
        }
        Ok(out)
    }

    /// Returns the draft version of the responsibility list and its rules, if there is one
    /// (admins, who own the list, and the command centre, whose rulings draft it).
    pub async fn responsibility_draft(
        &self,
        actor: &Actor,
    ) -> Result<Option<(urbis_storage::reference::VersionRow, Vec<RuleRow>)>> {
        require_role(actor, &[Role::Admin, Role::ShiftLead, Role::Leader])?;
        let mut conn = self.db().read().await?;
        let Some(draft) = repo::draft_version(&mut conn).await? else {
            return Ok(None);
        };
        let rules = reference::list_rules(&mut conn, Some(draft.id)).await?;
        Ok(Some((draft, rules)))
    }

    /// Publishes a draft version after review: it becomes the active list (admin, the owner).
    pub async fn publish_draft(
        &self,
        actor: &Actor,
        version_id: i64,
    ) -> Result<urbis_storage::reference::VersionRow> {
        require_role(actor, &[Role::Admin])?;
        let mut tx = self.db().begin_write().await?;
        if !repo::is_draft(&mut tx, version_id).await? {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "not_a_draft",
                "only an unpublished draft version can be published",
            ));
        }
        reference::activate_version(&mut tx, version_id).await?;
        repo::set_draft(&mut tx, version_id, false).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "responsibility_published",
            "responsibility_version",
            version_id,
            "draft",
            "active",
            &serde_json::json!({ "from_draft": true }),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.db().read().await?;
        reference::list_versions(&mut conn)
            .await?
            .into_iter()
            .find(|v| v.id == version_id)
            .ok_or_else(ServiceError::internal)
    }
}
