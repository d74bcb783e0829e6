//! Reference data as use cases: the area tree, departments, the taxonomy and its import, time
//! limits, the working calendar and the versioned responsibility list. Changes are admin-only
//! and audited.

use urbis_domain::area::{AreaLevel, validate_code};
use urbis_domain::calendar::{ClockType, WorkingCalendar};
use urbis_domain::role::{Actor, Role};
use urbis_storage::Db;
use urbis_storage::reference::{
    self, AreaRow, CalendarDayRow, CategoryRow, DeptRow, RuleRow, TimeLimitRow, VersionRow,
};

use crate::auth::require_role;
use crate::{Result, ServiceError, Services};

/// Limits on reference-data input.
pub const NAME_MAX_CHARS: usize = 100;
pub const LEGAL_BASIS_MAX_CHARS: usize = 1_000;
pub const IMPORT_MAX_ROWS: usize = 100_000;

/// Loads the working calendar from the store.
pub(crate) async fn load_calendar(db: &Db) -> Result<WorkingCalendar> {
    let mut conn = db.read().await?;
    crate::sla::load(&mut conn).await
}

pub(crate) fn check_name(field: &'static str, name: &str) -> Result<String> {
    let name = urbis_domain::appeal::bounded_text(field, Some(name), NAME_MAX_CHARS)?;
    if name.is_empty() {
        return Err(ServiceError::invalid(
            "invalid_field",
            format!("{field}: must not be empty"),
        ));
    }
    Ok(name)
}

/// A category to import: its names from level 1 down.
#[derive(Debug, Clone)]
pub struct TaxonomyPath {
    pub names: Vec<String>,
}

impl Services {
    /// Returns the whole area tree (everyone logged in may read it).
    pub async fn list_areas(&self) -> Result<Vec<AreaRow>> {
        let mut conn = self.db().read().await?;
        Ok(reference::list_areas(&mut conn).await?)
    }

    /// Creates the city root on a store that has no areas yet (the start-up bootstrap of `serve`
    /// and `demo`, before any account exists): audited as the system. Returns the new root, or
    /// `None` when the store already has areas.
    pub async fn ensure_city_root(
        &self,
        code: &str,
        name: &str,
        center: Option<(f64, f64)>,
    ) -> Result<Option<AreaRow>> {
        let mut tx = self.db().begin_write().await?;
        if urbis_storage::lookups::count_areas(&mut tx).await? > 0 {
            tx.commit().await?;
            return Ok(None);
        }
        let row = reference::insert_area(&mut tx, code, name, "city", None, center, None).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            None,
            "area_created",
            "area",
            row.id,
            "",
            "",
            &serde_json::json!({ "code": code, "name": name, "bootstrap": true }),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    /// How many user accounts exist (the bootstrap makes the first admin when there are none).
    pub async fn user_count(&self) -> Result<i64> {
        let mut conn = self.db().read().await?;
        Ok(urbis_storage::lookups::count_users(&mut conn).await?)
    }

    /// Creates an area under a parent (admin only; seeding calls it with an admin actor).
    pub async fn create_area(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        level: AreaLevel,
        parent_id: Option<i64>,
        center: Option<(f64, f64)>,
    ) -> Result<AreaRow> {
        require_role(actor, &[Role::Admin])?;
        let name = check_name("name", name)?;
        let mut tx = self.db().begin_write().await?;
        let parent = match parent_id {
            Some(id) => Some(reference::get_area(&mut tx, id).await?),
            None => None,
        };
        if let Some(parent) = &parent {
            let parent_level = parent.level;
            if level.parent() != Some(parent_level) {
                return Err(ServiceError::invalid(
                    "invalid_area_level",
                    format!(
                        "a {} goes under a {:?}",
                        level.as_str(),
                        level.parent().map(|l| l.as_str())
                    ),
                ));
            }
        } else if level != AreaLevel::City {
            return Err(ServiceError::invalid(
                "invalid_area_level",
                "only the city has no parent",
            ));
        }
        validate_code(level, code, parent.as_ref().map(|p| p.code.as_str()))
            .map_err(|message| ServiceError::invalid("invalid_area_code", message))?;
        let row = reference::insert_area(
            &mut tx,
            code,
            &name,
            level.as_str(),
            parent.as_ref(),
            center,
            None,
        )
        .await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "area_created",
            "area",
            row.id,
            "",
            "",
            &serde_json::json!({ "code": code, "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Returns every department.
    pub async fn list_depts(&self) -> Result<Vec<DeptRow>> {
        let mut conn = self.db().read().await?;
        Ok(reference::list_depts(&mut conn).await?)
    }

    /// Creates a department (admin only).
    pub async fn create_dept(
        &self,
        actor: &Actor,
        code: &str,
        name: &str,
        area_id: Option<i64>,
    ) -> Result<DeptRow> {
        require_role(actor, &[Role::Admin])?;
        let name = check_name("name", name)?;
        let code = check_name("code", code)?;
        let mut tx = self.db().begin_write().await?;
        if let Some(area) = area_id {
            reference::get_area(&mut tx, area).await?;
        }
        let row = reference::insert_dept(&mut tx, &code, &name, area_id).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "dept_created",
            "department",
            row.id,
            "",
            "",
            &serde_json::json!({ "code": code, "name": name }),
        )
        .await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Returns the taxonomy.
    pub async fn list_categories(&self) -> Result<Vec<CategoryRow>> {
        let mut conn = self.db().read().await?;
        Ok(reference::list_categories(&mut conn).await?)
    }

    /// Returns every time limit.
    pub async fn list_time_limits(&self) -> Result<Vec<TimeLimitRow>> {
        let mut conn = self.db().read().await?;
        Ok(reference::list_time_limits(&mut conn).await?)
    }

    /// Sets the handling time limit of a category (admin only).
    pub async fn set_time_limit(
        &self,
        actor: &Actor,
        category_id: i64,
        clock: &str,
        amount: i64,
        remind_before_minutes: i64,
    ) -> Result<()> {
        require_role(actor, &[Role::Admin])?;
        ClockType::parse(clock)
            .map_err(|err| ServiceError::invalid("invalid_clock", err.to_string()))?;
        if !(1..=1000).contains(&amount) || !(0..=7 * 24 * 60).contains(&remind_before_minutes) {
            return Err(ServiceError::invalid(
                "invalid_time_limit",
                "amount 1–1000, reminder 0–10080 minutes",
            ));
        }
        let mut tx = self.db().begin_write().await?;
        if !urbis_storage::lookups::category_exists(&mut tx, category_id).await? {
            return Err(ServiceError::not_found("category"));
        }
        reference::upsert_time_limit(
            &mut tx,
            &TimeLimitRow {
                category_id,
                clock: clock.to_owned(),
                amount,
                remind_before_minutes,
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "time_limit_set",
            "category",
            category_id,
            "",
            "",
            &serde_json::json!({ "clock": clock, "amount": amount }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Returns the calendar exceptions and office hours.
    pub async fn calendar_days(&self) -> Result<(String, Vec<CalendarDayRow>)> {
        let mut conn = self.db().read().await?;
        let hours = reference::get_setting(&mut conn, "office_hours")
            .await?
            .unwrap_or_else(|| "09:00-12:00,13:30-18:00".into());
        Ok((hours, reference::list_calendar_days(&mut conn).await?))
    }

    /// Changes the working calendar (admin only): office hours and/or exception days; the new
    /// calendar is validated as a whole before it is stored and takes effect at once.
    pub async fn update_calendar(
        &self,
        actor: &Actor,
        office_hours: Option<&str>,
        set_days: &[CalendarDayRow],
        remove_days: &[String],
    ) -> Result<()> {
        require_role(actor, &[Role::Admin])?;
        if set_days.len() + remove_days.len() > 1000 {
            return Err(ServiceError::invalid(
                "too_many_rows",
                "at most 1000 days per change",
            ));
        }
        for day in set_days {
            chrono::NaiveDate::parse_from_str(&day.day, "%Y-%m-%d").map_err(|_| {
                ServiceError::invalid("invalid_day", format!("bad day {:?}", day.day))
            })?;
            if day.kind != "holiday" && day.kind != "workday" {
                return Err(ServiceError::invalid(
                    "invalid_day",
                    "kind is holiday or workday",
                ));
            }
        }
        if let Some(hours) = office_hours {
            crate::sla::parse_office_hours(hours)?;
        }
        let mut tx = self.db().begin_write().await?;
        if let Some(hours) = office_hours {
            reference::set_setting(&mut tx, "office_hours", hours).await?;
        }
        for day in set_days {
            reference::upsert_calendar_day(&mut tx, day).await?;
        }
        for day in remove_days {
            reference::delete_calendar_day(&mut tx, day).await?;
        }
        let calendar = crate::sla::load(&mut tx).await?;
        crate::audit::record(&mut tx, self.now(), Some(actor), "calendar_updated", "calendar", 0, "", "", &serde_json::json!({ "office_hours": office_hours, "set": set_days.len(), "removed": remove_days.len() })).await?;
        tx.commit().await?;
        self.set_calendar(calendar);
        Ok(())
    }

    /// Returns the responsibility list versions.
    pub async fn list_versions(&self) -> Result<Vec<VersionRow>> {
        let mut conn = self.db().read().await?;
        Ok(reference::list_versions(&mut conn).await?)
    }

    /// Returns the rules of a version.
    pub async fn list_rules(&self, version_id: Option<i64>) -> Result<Vec<RuleRow>> {
        let mut conn = self.db().read().await?;
        Ok(reference::list_rules(&mut conn, version_id).await?)
    }

    /// Publishes a new version of the responsibility list and makes it active (admin only).
    /// Rules of earlier versions stay for history.
    pub async fn publish_responsibility(
        &self,
        actor: &Actor,
        note: &str,
        rules: &[RuleRow],
    ) -> Result<VersionRow> {
        require_role(actor, &[Role::Admin])?;
        if rules.is_empty() || rules.len() > IMPORT_MAX_ROWS {
            return Err(ServiceError::invalid(
                "invalid_rules",
                format!("between 1 and {IMPORT_MAX_ROWS} rules"),
            ));
        }
        let note = urbis_domain::appeal::bounded_text("note", Some(note), NAME_MAX_CHARS * 2)?;
        let mut tx = self.db().begin_write().await?;
        let version =
            reference::insert_version(&mut tx, &note, self.now(), Some(actor.user_id.0)).await?;
        for (idx, rule) in rules.iter().enumerate() {
            let fail = |what: &str| {
                ServiceError::invalid("invalid_rules", format!("rule {}: {what}", idx + 1))
            };
            urbis_domain::appeal::bounded_text(
                "legal_basis",
                Some(&rule.legal_basis),
                LEGAL_BASIS_MAX_CHARS,
            )?;
            if !urbis_storage::lookups::category_exists(&mut tx, rule.category_id).await? {
                return Err(fail("unknown category"));
            }
            reference::get_area(&mut tx, rule.area_id)
                .await
                .map_err(|_| fail("unknown area"))?;
            let supporting = crate::case_rows::parse_ids(&rule.supporting);
            for dept in std::iter::once(rule.lead_dept_id).chain(supporting.iter().copied()) {
                reference::get_dept(&mut tx, dept)
                    .await
                    .map_err(|_| fail("unknown department"))?;
            }
            if supporting.contains(&rule.lead_dept_id) {
                return Err(fail("lead department also supporting"));
            }
            reference::insert_rule(
                &mut tx,
                &RuleRow {
                    version_id: version.id,
                    ..rule.clone()
                },
            )
            .await?;
        }
        reference::activate_version(&mut tx, version.id).await?;
        crate::audit::record(
            &mut tx,
            self.now(),
            Some(actor),
            "responsibility_published",
            "responsibility_version",
            version.id,
            "",
            "active",
            &serde_json::json!({ "rules": rules.len(), "note": note }),
        )
        .await?;
        tx.commit().await?;
        let mut conn = self.db().read().await?;
        reference::list_versions(&mut conn)
            .await?
            .into_iter()
            .find(|v| v.id == version.id)
            .ok_or_else(ServiceError::internal)
    }
}
