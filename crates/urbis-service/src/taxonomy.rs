//! Importing the category taxonomy: a dry run that says what an import would do (added,
//! unchanged, rejected rows; the first new paths; which new categories would lack a time limit
//! or a responsibility rule), the import itself, recorded so that the latest one can be undone
//! while nothing uses its categories yet. Every step is audited.

use urbis_domain::role::{Actor, Role};
use urbis_storage::reference::{self, CategoryRow};
use urbis_storage::{Conn, taxonomy_imports as repo};

use crate::auth::require_role;
use crate::reference::{IMPORT_MAX_ROWS, TaxonomyPath, check_name};
use crate::{ErrorKind, Result, ServiceError, Services};

/// How many new paths and names a report lists.
const REPORT_NAMES: usize = 20;

/// What an import did, or (dry run) would do.
#[derive(Debug, Clone, Default)]
pub struct TaxonomyReport {
    pub dry_run: bool,
    /// Categories created.
    pub created: usize,
    /// Rows whose every level existed already.
    pub unchanged: usize,
    /// Rows rejected, with the reason.
    pub problems: Vec<String>,
    /// The first new category paths ("一级/二级").
    pub new_paths: Vec<String>,
    /// New categories with no time limit of their own or an ancestor's: they run on the default.
    pub without_limit: Vec<String>,
    pub without_limit_count: usize,
    /// New categories the active responsibility list has no rule for (nor for an ancestor).
    pub without_rule: Vec<String>,
    pub without_rule_count: usize,
    /// The recorded import (applied imports that created something).
    pub import_id: Option<i64>,
}

/// What undoing an import removed.
#[derive(Debug, Clone)]
pub struct UndoneImport {
    pub import_id: i64,
    pub removed: u64,
}

impl Services {
    /// Imports category paths (1–3 levels), creating what is missing; returns (created, problems).
    /// Codes are assigned by position: 2 digits per level (01, 0101, 010101).
    pub async fn import_taxonomy(
        &self,
        actor: &Actor,
        paths: &[TaxonomyPath],
    ) -> Result<(usize, Vec<String>)> {
        let report = self.import_taxonomy_report(actor, paths, false).await?;
        Ok((report.created, report.problems))
    }

    /// Imports category paths, or with `dry_run` only says what the import would do (the same
    /// work in a transaction that is rolled back).
    pub async fn import_taxonomy_report(
        &self,
        actor: &Actor,
        paths: &[TaxonomyPath],
        dry_run: bool,
    ) -> Result<TaxonomyReport> {
        require_role(actor, &[Role::Admin])?;
        if paths.len() > IMPORT_MAX_ROWS {
            return Err(ServiceError::invalid(
                "too_many_rows",
                format!("at most {IMPORT_MAX_ROWS} rows"),
            ));
        }
        let mut tx = self.db().begin_write().await?;
        let mut report = TaxonomyReport {
            dry_run,
            ..TaxonomyReport::default()
        };
        let mut fresh: Vec<(CategoryRow, String)> = Vec::new();
        for (row_idx, path) in paths.iter().enumerate() {
            if path.names.is_empty() || path.names.len() > 3 {
                report.problems.push(format!(
                    "row {}: a category path has 1 to 3 levels",
                    row_idx + 1
                ));
                continue;
            }
            let mut parent: Option<CategoryRow> = None;
            let mut names: Vec<String> = Vec::new();
            let mut created_here = false;
            let mut complete = true;
            for (depth, raw) in path.names.iter().enumerate() {
                let name = match check_name("category", raw) {
                    Ok(name) => name,
                    Err(err) => {
                        report
                            .problems
                            .push(format!("row {}: {}", row_idx + 1, err.message));
                        complete = false;
                        break;
                    }
                };
                names.push(name.clone());
                let parent_id = parent.as_ref().map(|p| p.id);
                let row = match reference::find_category(&mut tx, parent_id, &name).await? {
                    Some(row) => row,
                    None => {
                        let siblings = reference::count_children(&mut tx, parent_id).await?;
                        if siblings >= 99 {
                            report.problems.push(format!(
                                "row {}: more than 99 children under one category",
                                row_idx + 1
                            ));
                            complete = false;
                            break;
                        }
                        let code = format!(
                            "{}{:02}",
                            parent.as_ref().map(|p| p.code.as_str()).unwrap_or(""),
                            siblings + 1
                        );
                        let row = reference::insert_category(
                            &mut tx,
                            &code,
                            &name,
                            depth as i64 + 1,
                            parent_id,
                            0.5,
                        )
                        .await?;
                        created_here = true;
                        fresh.push((row.clone(), names.join("/")));
                        row
                    }
                };
                parent = Some(row);
            }
            if complete && !created_here {
                report.unchanged += 1;
            }
        }
        report.created = fresh.len();
        report.new_paths = fresh
            .iter()
            .take(REPORT_NAMES)
            .map(|(_, p)| p.clone())
            .collect();
        let ids: Vec<i64> = fresh.iter().map(|(row, _)| row.id).collect();
        // What the new categories lack: a time limit (their own or an ancestor's) and a rule.
        for (row, path) in &fresh {
            if !has_limit(&mut tx, row.id).await? {
                report.without_limit_count += 1;
                if report.without_limit.len() < REPORT_NAMES {
                    report.without_limit.push(path.clone());
                }
            }
            let chain = crate::routing::category_ancestry(&mut tx, row.id).await?;
            if repo::categories_with_rules(&mut tx, &chain)
                .await?
                .is_empty()
            {
                report.without_rule_count += 1;
                if report.without_rule.len() < REPORT_NAMES {
                    report.without_rule.push(path.clone());
                }
            }
        }
        if dry_run {
            // Nothing is kept.
            tx.rollback().await?;
            return Ok(report);
        }
        let now = self.now();
        if !ids.is_empty() {
            let list = ids
                .iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(",");
            report.import_id = Some(
                repo::insert_taxonomy_import(
                    &mut tx,
                    Some(actor.user_id.0),
                    now,
                    paths.len() as i64,
                    &list,
                )
                .await?,
            );
        }
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "taxonomy_imported",
            "taxonomy",
            report.import_id.unwrap_or(0),
            "",
            "",
            &serde_json::json!({
                "rows": paths.len(),
                "created": report.created,
                "unchanged": report.unchanged,
                "problems": report.problems.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        // The classifier's labels may name categories that exist only now.
        self.remap_classifier().await?;
        Ok(report)
    }

    /// Removes the categories the latest applied import created, unless a case, a rule, a grant,
    /// a sensor type or an asset class uses one of them already (`import_in_use`).
    pub async fn undo_taxonomy_import(&self, actor: &Actor) -> Result<UndoneImport> {
        require_role(actor, &[Role::Admin])?;
        let mut tx = self.db().begin_write().await?;
        let last = repo::last_taxonomy_import(&mut tx).await?.ok_or_else(|| {
            ServiceError::new(
                ErrorKind::Conflict,
                "no_import_to_undo",
                "no taxonomy import is left to undo",
            )
        })?;
        let ids = crate::case_rows::parse_ids(&last.category_ids);
        let (cases, other) = repo::category_uses(&mut tx, &ids).await?;
        if cases > 0 || other > 0 {
            return Err(ServiceError::new(
                ErrorKind::Conflict,
                "import_in_use",
                format!(
                    "the import's categories are in use ({cases} cases, {other} rules, grants or classes); it cannot be undone"
                ),
            ));
        }
        let removed = repo::delete_categories(&mut tx, &ids).await?;
        let now = self.now();
        repo::mark_taxonomy_import_undone(&mut tx, last.id, now).await?;
        crate::audit::record(
            &mut tx,
            now,
            Some(actor),
            "taxonomy_import_undone",
            "taxonomy",
            last.id,
            "",
            "",
            &serde_json::json!({ "removed": removed, "category_ids": last.category_ids }),
        )
        .await?;
        tx.commit().await?;
        self.remap_classifier().await?;
        Ok(UndoneImport {
            import_id: last.id,
            removed,
        })
    }

    /// The latest applied import that can still be undone, if any.
    pub async fn last_taxonomy_import(
        &self,
        actor: &Actor,
    ) -> Result<Option<crate::rows::TaxonomyImportRow>> {
        require_role(actor, &[Role::Admin])?;
        let mut conn = self.db().read().await?;
        Ok(repo::last_taxonomy_import(&mut conn).await?)
    }
}

/// Whether the category or an ancestor has a time limit of its own.
async fn has_limit(conn: &mut Conn, id: i64) -> Result<bool> {
    let mut next = Some(id);
    let mut depth = 0;
    while let Some(c) = next {
        let Some((_, amount, _, parent)) =
            urbis_storage::lookups::category_limit(&mut *conn, c).await?
        else {
            return Ok(false);
        };
        if amount.is_some() {
            return Ok(true);
        }
        next = parent;
        depth += 1;
        if depth > 8 {
            break;
        }
    }
    Ok(false)
}
