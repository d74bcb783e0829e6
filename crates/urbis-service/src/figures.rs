//! Behind the dashboard's figures: the cases a rate is computed over, each marked whether it
//! meets the rate (the overdue closures behind 按期结案率, the unhappy ratings behind 满意率…), and
//! the latest cases for the live feed, with titles masked of personal data (a wall screen is seen
//! by anyone in the room) and the names of their areas.

use urbis_domain::role::{Actor, Role};
use urbis_storage::cases::CaseRow;
use urbis_storage::figures::{self, Figure, FigureScope, TopCategories};

use crate::stats::Period;
use crate::{Result, ServiceError, Services};

/// Most cases one list returns.
pub const FIGURE_CASES_MAX: i64 = 500;

/// Parses a figure's wire name (the rate's name in the indicators, or a count's).
fn parse_figure(name: &str) -> Option<Figure> {
    Some(match name {
        "reported" => Figure::Reported,
        "registered" => Figure::Registered,
        "closure_rate" => Figure::Closure,
        "on_time_closure_rate" => Figure::OnTimeClosure,
        "response_rate" => Figure::Response,
        "resolution_rate" => Figure::Resolution,
        "satisfaction_rate" => Figure::Satisfaction,
        _ => return None,
    })
}

/// The cases of one figure.
#[derive(Debug, Clone)]
pub struct FigureCases {
    /// Cases the figure counts below its line (all of them for a count).
    pub denominator: i64,
    /// Of those, the ones that meet it.
    pub meeting: i64,
    /// At most the limit asked, those that miss first; each with whether it meets the figure.
    pub cases: Vec<(CaseRow, bool)>,
}

/// One line of the live feed.
#[derive(Debug, Clone)]
pub struct FeedLine {
    pub case_id: i64,
    pub number: String,
    /// The title (or the text's start when there is none), personal data masked.
    pub title: String,
    pub area_id: i64,
    pub area_name: String,
    pub state: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// Which cases to list behind a figure.
#[derive(Debug, Clone)]
pub struct FigureQuery {
    pub figure: String,
    pub area_id: Option<i64>,
    /// Only cases led by this department (the department ranking).
    pub dept_id: Option<i64>,
    /// Only cases opened through this channel (a segment of the channel mix).
    pub channel: Option<String>,
    /// Only cases under these level-1 category codes, `none` standing for the cases without a
    /// category (a series of the trend by category; 其他 asks for several).
    pub categories: Option<Vec<String>>,
    /// Only the cases that miss the figure.
    pub missing_only: bool,
    pub limit: i64,
}

/// The word that asks for the cases without a category in a category filter.
pub const UNCATEGORISED: &str = "none";

/// Most level-1 codes one category filter names.
const CATEGORY_CODES_MAX: usize = 100;

/// Checks the level-1 codes of a category filter: each a code the trend by category counts under
/// (the first two characters of a category's code), or [`UNCATEGORISED`].
async fn top_categories(conn: &mut urbis_storage::Conn, codes: &[String]) -> Result<TopCategories> {
    if codes.is_empty() || codes.len() > CATEGORY_CODES_MAX {
        return Err(ServiceError::invalid(
            "unknown_category",
            format!("name 1 to {CATEGORY_CODES_MAX} level-1 category codes"),
        ));
    }
    let mut top = TopCategories::default();
    for code in codes {
        if code == UNCATEGORISED {
            top.uncategorised = true;
        } else if code.chars().count() == 2 && figures::top_category_exists(conn, code).await? {
            if !top.codes.contains(code) {
                top.codes.push(code.clone());
            }
        } else {
            return Err(ServiceError::invalid(
                "unknown_category",
                format!("no level-1 category {code:?}"),
            ));
        }
    }
    Ok(top)
}

impl Services {
    /// Returns the cases behind a figure of the dashboard for a period, in the caller's scope (a
    /// department's handler: their own department's cases only).
    pub async fn figure_cases(
        &self,
        actor: &Actor,
        query: &FigureQuery,
        period: &Period,
    ) -> Result<FigureCases> {
        let figure = parse_figure(&query.figure).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_figure",
                format!("unknown figure {:?}", query.figure),
            )
        })?;
        if !(1..=FIGURE_CASES_MAX).contains(&query.limit) {
            return Err(ServiceError::invalid(
                "invalid_limit",
                format!("limit must be between 1 and {FIGURE_CASES_MAX}"),
            ));
        }
        let area_path = self.scope_path(actor, query.area_id).await?;
        let lead_dept_id = match actor.role {
            Role::DeptHandler => {
                let own = actor.dept_id.map(|d| d.0);
                if query.dept_id.is_some() && query.dept_id != own {
                    return Err(ServiceError::forbidden("another department's cases"));
                }
                Some(own.ok_or_else(|| ServiceError::forbidden("no department"))?)
            }
            _ => query.dept_id,
        };
        if let Some(channel) = &query.channel
            && urbis_domain::appeal::Channel::parse(channel).is_none()
        {
            return Err(ServiceError::invalid(
                "invalid_channel",
                format!("unknown channel {channel:?}"),
            ));
        }
        let (from, to) = self.period_instants(period)?;
        let mut conn = self.db().read().await?;
        let top_categories = match &query.categories {
            Some(codes) => Some(top_categories(&mut conn, codes).await?),
            None => None,
        };
        let scope = FigureScope {
            area_path,
            from,
            to,
            lead_dept_id,
            channel: query.channel.clone(),
            top_categories,
        };
        let (denominator, meeting) = figures::figure_counts(&mut conn, figure, &scope).await?;
        let rows =
            figures::figure_cases(&mut conn, figure, &scope, query.missing_only, query.limit)
                .await?;
        Ok(FigureCases {
            denominator,
            meeting,
            cases: rows.into_iter().map(|r| (r.case, r.meets)).collect(),
        })
    }

    /// Returns the newest cases of the caller's scope (or of one area), at most `limit`, or only
    /// the case `case_id` when it is in that scope: the lines of the dashboard's live feed.
    pub async fn feed_lines(
        &self,
        actor: &Actor,
        area_id: Option<i64>,
        case_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<FeedLine>> {
        if !(1..=50).contains(&limit) {
            return Err(ServiceError::invalid(
                "invalid_limit",
                "limit must be between 1 and 50",
            ));
        }
        let path = self.scope_path(actor, area_id).await?;
        let mut conn = self.db().read().await?;
        let rows = figures::feed_rows(&mut conn, &path, case_id, limit).await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let title = if r.title.trim().is_empty() {
                    r.text.chars().take(30).collect()
                } else {
                    r.title
                };
                FeedLine {
                    case_id: r.id,
                    number: r.number,
                    title: urbis_text::pii::mask(&title),
                    area_id: r.area_id,
                    area_name: r.area_name,
                    state: r.state,
                    updated_at: r.updated_at,
                }
            })
            .collect())
    }
}
