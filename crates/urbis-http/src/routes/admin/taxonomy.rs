//! The taxonomy import: a dry run that says what it would do, the import, and undoing the latest.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use urbis_service::reference::TaxonomyPath;
use urbis_service::taxonomy::TaxonomyReport;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_categories))
        .routes(routes!(last_import))
        .routes(routes!(undo_import))
}

/// Rows of a taxonomy table: each row names level 1, 2 and optionally 3.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaxonomyImport {
    pub rows: Vec<Vec<String>>,
    /// Only say what the import would do; nothing is stored.
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import did (or, as a dry run, would do).
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Categories created.
    pub created: usize,
    /// Rows whose every level existed already.
    pub unchanged: usize,
    /// Rows rejected, with the reason.
    pub problems: Vec<String>,
    /// The first new category paths, levels joined by "/".
    pub new_paths: Vec<String>,
    /// New categories with no time limit of their own or an ancestor's (first 20; they run on
    /// the default limit), and how many.
    pub without_limit: Vec<String>,
    pub without_limit_count: usize,
    /// New categories no rule of the active responsibility list covers (first 20), and how many.
    pub without_rule: Vec<String>,
    pub without_rule_count: usize,
    /// The recorded import, which `POST /api/v1/categories/import/undo` can undo.
    pub import_id: Option<i64>,
}

impl From<TaxonomyReport> for ImportReport {
    fn from(r: TaxonomyReport) -> Self {
        ImportReport {
            dry_run: r.dry_run,
            created: r.created,
            unchanged: r.unchanged,
            problems: r.problems,
            new_paths: r.new_paths,
            without_limit: r.without_limit,
            without_limit_count: r.without_limit_count,
            without_rule: r.without_rule,
            without_rule_count: r.without_rule_count,
            import_id: r.import_id,
        }
    }
}

/// Imports taxonomy rows, creating missing categories, or with `dry_run` says what it would do
/// (admin).
#[utoipa::path(post, path = "/api/v1/categories/import", tag = "admin", request_body = TaxonomyImport,
    responses((status = 200, body = ImportReport), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
async fn import_categories(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiJson(body): ApiJson<TaxonomyImport>,
) -> ApiResult<Json<ImportReport>> {
    let paths: Vec<TaxonomyPath> = body
        .rows
        .into_iter()
        .map(|names| TaxonomyPath {
            names: names.into_iter().filter(|n| !n.trim().is_empty()).collect(),
        })
        .collect();
    let report = state
        .services
        .import_taxonomy_report(&actor, &paths, body.dry_run)
        .await?;
    Ok(Json(report.into()))
}

/// The latest import that can still be undone.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastImport {
    pub import_id: i64,
    pub imported_at: String,
    pub rows: i64,
    /// How many categories it created.
    pub categories: usize,
}

/// Returns the latest taxonomy import that can still be undone, or null (admin).
#[utoipa::path(get, path = "/api/v1/categories/import/last", tag = "admin",
    responses((status = 200, body = Option<LastImport>)), security(("bearer" = [])))]
async fn last_import(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<Option<LastImport>>> {
    let last = state.services.last_taxonomy_import(&actor).await?;
    Ok(Json(last.map(|l| LastImport {
        import_id: l.id,
        imported_at: urbis_service::time::to_db(l.imported_at),
        rows: l.row_count,
        categories: urbis_service::case_rows::parse_ids(&l.category_ids).len(),
    })))
}

/// What undoing removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct UndoneImportBody {
    pub import_id: i64,
    /// Categories removed.
    pub removed: u64,
}

/// Undoes the latest taxonomy import: removes the categories it created, refused with
/// `import_in_use` when a case, rule, grant, sensor type or asset class uses one (admin).
#[utoipa::path(post, path = "/api/v1/categories/import/undo", tag = "admin",
    responses((status = 200, body = UndoneImportBody), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
async fn undo_import(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> ApiResult<Json<UndoneImportBody>> {
    let undone = state.services.undo_taxonomy_import(&actor).await?;
    Ok(Json(UndoneImportBody {
        import_id: undone.import_id,
        removed: undone.removed,
    }))
}
