//! The cases behind a dashboard figure: for a rate (结案率, 按期结案率, 响应率, 解决率, 满意率) the
//! cases of its denominator, each marked whether it counts in the numerator; for a count (受理,
//! 立案) the cases counted. Read over the range of `cases_created` under an area, optionally of
//! one lead department, of one intake channel (the channel mix) or of some level-1 categories (the
//! trend by category), so the cost follows the cases of the period. And the latest cases of an
//! area with their area's name, for the dashboard's live feed.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::cases::{CASE_COLUMNS, CaseRow};
use crate::sql::Builder;
use crate::{Conn, Result};

/// A figure of the dashboard whose cases can be listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Figure {
    /// 受理数: every case reported.
    Reported,
    /// 立案数: cases past 受理 (not voided).
    Registered,
    /// 结案率 = closed / registered.
    Closure,
    /// 按期结案率 = closed as 正常 / closed.
    OnTimeClosure,
    /// 响应率 = accepted within the response limit / dispatched.
    Response,
    /// 解决率 = rated as resolved / rated.
    Resolution,
    /// 满意率 = rated 满意 or 基本满意 / rated.
    Satisfaction,
}

impl Figure {
    /// The condition a case meets to be counted in the denominator (or the count).
    fn base(self) -> &'static str {
        match self {
            Figure::Reported => "1 = 1",
            Figure::Registered | Figure::Closure => "state NOT IN ('received', 'voided')",
            Figure::OnTimeClosure => "closed_at IS NOT NULL",
            Figure::Response => "response_due_at IS NOT NULL",
            Figure::Resolution | Figure::Satisfaction => "rated_at IS NOT NULL",
        }
    }

    /// The condition a case of the denominator meets to be counted in the numerator.
    fn meets(self) -> &'static str {
        match self {
            Figure::Reported | Figure::Registered => "1 = 1",
            Figure::Closure => "closed_at IS NOT NULL",
            Figure::OnTimeClosure => "closure_type = 'normal'",
            Figure::Response => "accepted_at IS NOT NULL AND accepted_at <= response_due_at",
            Figure::Resolution => "resolved = TRUE",
            Figure::Satisfaction => "satisfaction IN ('satisfied', 'basically_satisfied')",
        }
    }
}

/// Which cases of a figure.
#[derive(Clone, Debug)]
pub struct FigureScope {
    /// Cases whose area path starts with this.
    pub area_path: String,
    /// Cases opened at `from <= created_at < to`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Only cases led by this department.
    pub lead_dept_id: Option<i64>,
    /// Only cases opened through this channel (web, hotline, grid, api, sensor).
    pub channel: Option<String>,
    /// Only cases under these level-1 categories.
    pub top_categories: Option<TopCategories>,
}

/// Level-1 categories, as the trend by category counts them: a case under a category whose code
/// starts with one of `codes`, or without a category when `uncategorised`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TopCategories {
    pub codes: Vec<String>,
    pub uncategorised: bool,
}

fn filtered(select: String, figure: Figure, scope: &FigureScope) -> Builder {
    let mut query = Builder::new(select);
    query
        .push(" FROM cases WHERE created_at >= ")
        .push_bind(scope.from)
        .push(" AND created_at < ")
        .push_bind(scope.to)
        .push(" AND area_path >= ")
        .push_bind(scope.area_path.clone())
        .push(" AND area_path < ")
        .push_bind(format!("{}\u{10ffff}", scope.area_path));
    if let Some(dept) = scope.lead_dept_id {
        query.push(" AND lead_dept_id = ").push_bind(dept);
    }
    if let Some(channel) = &scope.channel {
        query.push(" AND channel = ").push_bind(channel.clone());
    }
    if let Some(top) = &scope.top_categories {
        push_top_categories(&mut query, top);
    }
    query.push(&format!(" AND {}", figure.base()));
    query
}

/// ` AND (category under one of the codes OR no category)`; nothing asked matches nothing.
fn push_top_categories(query: &mut Builder, top: &TopCategories) {
    query.push(" AND (1 = 0");
    if !top.codes.is_empty() {
        query.push(" OR category_id IN (SELECT id FROM categories WHERE substr(code, 1, 2) IN (");
        let mut codes = query.separated(", ");
        for code in &top.codes {
            codes.push_bind(code.clone());
        }
        query.push("))");
    }
    if top.uncategorised {
        query.push(" OR category_id IS NULL");
    }
    query.push(")");
}

/// Returns whether some category's code starts with this level-1 code (the codes the trend by
/// category counts under).
pub async fn top_category_exists(conn: &mut Conn, code: &str) -> Result<bool> {
    let n: i64 = crate::sql::query("SELECT COUNT(*) FROM categories WHERE substr(code, 1, 2) = ?")
        .bind(code.to_owned())
        .scalar(conn)
        .await?;
    Ok(n > 0)
}

/// Returns `(denominator, meeting)`: how many cases the figure counts below its line, and how
/// many of them meet it.
pub async fn figure_counts(
    conn: &mut Conn,
    figure: Figure,
    scope: &FigureScope,
) -> Result<(i64, i64)> {
    let select = format!(
        "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN {} THEN 1 ELSE 0 END), 0) AS BIGINT)",
        figure.meets()
    );
    filtered(select, figure, scope)
        .build()
        .fetch_one(conn)
        .await
}

/// A case of a figure and whether it meets it.
#[derive(Debug, Clone, FromRow)]
pub struct FigureCaseRow {
    #[sqlx(flatten)]
    pub case: CaseRow,
    pub meets: bool,
}

/// Returns at most `limit` cases of the figure, those that miss it first, newest first within
/// each; with `missing_only`, only those that miss it.
pub async fn figure_cases(
    conn: &mut Conn,
    figure: Figure,
    scope: &FigureScope,
    missing_only: bool,
    limit: i64,
) -> Result<Vec<FigureCaseRow>> {
    let select = format!(
        "SELECT {CASE_COLUMNS}, CASE WHEN {} THEN TRUE ELSE FALSE END AS meets",
        figure.meets()
    );
    let mut query = filtered(select, figure, scope);
    if missing_only {
        query.push(&format!(
            " AND NOT (CASE WHEN {} THEN TRUE ELSE FALSE END)",
            figure.meets()
        ));
    }
    query
        .push(" ORDER BY meets, id DESC LIMIT ")
        .push_bind(limit);
    query.build().fetch_all(conn).await
}

/// One line of the live feed: a case, its area's name and its state.
#[derive(Debug, Clone, FromRow)]
pub struct FeedRow {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub text: String,
    pub area_id: i64,
    pub area_name: String,
    pub state: String,
    pub updated_at: DateTime<Utc>,
}

/// Returns the newest cases (at most `limit`) whose area path starts with `area_path`, or only
/// the case `case_id` when given, with the names of their areas.
pub async fn feed_rows(
    conn: &mut Conn,
    area_path: &str,
    case_id: Option<i64>,
    limit: i64,
) -> Result<Vec<FeedRow>> {
    let mut query = Builder::new(
        "SELECT c.id, c.number, c.title, c.text, c.area_id, a.name AS area_name, c.state, c.updated_at
         FROM cases c JOIN areas a ON a.id = c.area_id WHERE 1 = 1",
    );
    // The whole city reads the newest ids straight off the primary key.
    if area_path != "/" {
        query
            .push(" AND c.area_path >= ")
            .push_bind(area_path.to_owned())
            .push(" AND c.area_path < ")
            .push_bind(format!("{area_path}\u{10ffff}"));
    }
    if let Some(id) = case_id {
        query.push(" AND c.id = ").push_bind(id);
    }
    query.push(" ORDER BY c.id DESC LIMIT ").push_bind(limit);
    query.build().fetch_all(conn).await
}
