//! What intake knows about an appeal before a person reads it, and the same answer while the
//! operator is still typing: the classifier's top categories, open cases about the same problem,
//! personal data found in the text, the explainable priority and the department the
//! responsibility list proposes.

use serde::{Deserialize, Serialize};
use urbis_domain::appeal::limits;
use urbis_domain::role::{Actor, Role};
use urbis_storage::cases::CaseRow;
use urbis_storage::{Conn, reference};

use crate::classify::SuggestedCategory;
use crate::routing::{RouteSuggestion, route_in_chain};
use crate::{Result, ServiceError, Services};

/// How far back earlier cases of the same category at the same place raise the priority.
pub const REPEAT_PLACE_WINDOW_DAYS: i64 = 90;
/// Most open cases a suggestion lists as possible duplicates.
pub const DUPLICATES_MAX: usize = 5;

/// Facts about the category and the place of an appeal that weigh into its priority and route.
#[derive(Debug, Clone, Default)]
pub struct PlaceFacts {
    /// Severity of the (applied or best suggested) category, 0–1; 0.5 when unknown.
    pub severity: f32,
    /// Earlier cases of that category in the same area within [`REPEAT_PLACE_WINDOW_DAYS`]
    /// (counted only at community or grid level, where "the same place" means something).
    pub repeat_place_count: u32,
    /// The responsibility list's proposal for that category and area.
    pub route: Option<RouteSuggestion>,
}

/// The route proposed at intake, as stored on the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposedRoute {
    pub lead_dept_id: i64,
    pub supporting: Vec<i64>,
    pub rule_id: i64,
    pub legal_basis: String,
    /// Whether the route follows the case's category ("category") or the classifier's best
    /// suggestion while the category waits for review ("suggestion").
    pub basis: String,
}

impl ProposedRoute {
    pub(crate) fn new(route: &RouteSuggestion, from_suggestion: bool) -> ProposedRoute {
        ProposedRoute {
            lead_dept_id: route.lead_dept_id,
            supporting: route.supporting.clone(),
            rule_id: route.rule_id,
            legal_basis: route.legal_basis.clone(),
            basis: if from_suggestion {
                "suggestion"
            } else {
                "category"
            }
            .into(),
        }
    }
}

/// What the operator has typed so far.
#[derive(Debug, Clone, Default)]
pub struct SuggestInput {
    pub title: String,
    pub text: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub area_code: Option<String>,
    pub category_code: Option<String>,
    /// The address typed (not yet matched to a place); blank when none.
    pub address: String,
}

/// Most places named in a text that are looked up in the gazetteer for its area.
const NAMED_PLACES_MAX: usize = 4;

impl Services {
    /// The finest area of a place the operator named but did not pick: the address typed when the
    /// gazetteer knows it with confidence, else the first place (not a road) the text names word for
    /// word that lies in an area.
    async fn place_in_words(&self, address: &str, text: &str) -> Result<Option<i64>> {
        let mut points = Vec::new();
        if let Some(found) = self.geocode_for_intake(address).await? {
            points.push((found.lat, found.lon));
        }
        points.extend(self.places_named_in(text, NAMED_PLACES_MAX).await?);
        for (lat, lon) in points {
            if let Some(area) = self.locate_area_id(lat, lon).await? {
                return Ok(Some(area));
            }
        }
        Ok(None)
    }
}

/// An open case that may be the same problem.
#[derive(Debug, Clone)]
pub struct DuplicateCandidate {
    pub case: CaseRow,
    /// The repeat model's calibrated score (0–1).
    pub similarity: f32,
    /// Why, in Chinese, signal by signal.
    pub reason: String,
}

/// The intake assistant's answer.
#[derive(Debug, Clone)]
pub struct SuggestOutcome {
    pub categories: Vec<SuggestedCategory>,
    pub duplicates: Vec<DuplicateCandidate>,
    pub pii: Vec<&'static str>,
    pub masked_text: String,
    pub priority: urbis_text::priority::Priority,
    pub route: Option<RouteSuggestion>,
    pub area: Option<reference::AreaRow>,
}

/// Reads severity, repeat count and route for a category and an area.
pub(crate) async fn place_facts(
    conn: &mut Conn,
    category_id: Option<i64>,
    area_id: Option<i64>,
    asset_id: Option<&str>,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<PlaceFacts> {
    let mut facts = PlaceFacts {
        severity: 0.5,
        ..PlaceFacts::default()
    };
    let Some(category_id) = category_id else {
        return Ok(facts);
    };
    // The category and its ancestors in one read: its severity, and the chain the route needs.
    let chain = urbis_storage::lookups::category_chain(&mut *conn, category_id).await?;
    facts.severity = chain.first().map_or(0.5, |(_, severity)| *severity as f32);
    let Some(area_id) = area_id else {
        return Ok(facts);
    };
    let area = urbis_storage::lookups::area_path_level(&mut *conn, area_id).await?;
    let Some((path, level)) = area else {
        return Ok(facts);
    };
    if matches!(level.as_str(), "community" | "grid") {
        let count =
            urbis_storage::lookups::cases_at_place_since(&mut *conn, &path, category_id, since)
                .await?;
        facts.repeat_place_count = u32::try_from(count).unwrap_or(u32::MAX);
    }
    let category_chain: Vec<i64> = chain.iter().map(|(id, _)| *id).collect();
    facts.route = route_in_chain(conn, &category_chain, &path).await?;
    if let Some(asset_id) = asset_id {
        facts.route =
            crate::assets::maintainer_route(conn, asset_id, &path, facts.route.take()).await?;
    }
    Ok(facts)
}

impl Services {
    /// Returns the start of the repeat-place window.
    pub(crate) fn repeat_place_since(&self) -> chrono::DateTime<chrono::Utc> {
        self.now() - chrono::Duration::days(REPEAT_PLACE_WINDOW_DAYS)
    }

    /// Reads place facts on a reader connection.
    pub(crate) async fn read_place_facts(
        &self,
        category_id: Option<i64>,
        area_id: Option<i64>,
        asset_id: Option<&str>,
    ) -> Result<PlaceFacts> {
        let mut conn = self.db().read().await?;
        place_facts(
            &mut conn,
            category_id,
            area_id,
            asset_id,
            self.repeat_place_since(),
        )
        .await
    }

    /// Answers what intake would make of an appeal, without storing anything: for the hotline
    /// console and the portal while the text is typed. Residents get no duplicates (those are
    /// other people's cases).
    pub async fn suggest_intake(
        &self,
        actor: &Actor,
        input: &SuggestInput,
    ) -> Result<SuggestOutcome> {
        let text = format!("{} {}", input.title.trim(), input.text.trim());
        let text = text.trim();
        if text.is_empty() {
            return Err(ServiceError::invalid("empty_text", "type some text first"));
        }
        if input.title.chars().count() > limits::TITLE_MAX_CHARS
            || input.text.chars().count() > limits::TEXT_MAX_CHARS
            || input.address.chars().count() > limits::ADDRESS_MAX_CHARS
        {
            return Err(ServiceError::invalid(
                "text_too_long",
                format!(
                    "title at most {}, text at most {} and address at most {} characters",
                    limits::TITLE_MAX_CHARS,
                    limits::TEXT_MAX_CHARS,
                    limits::ADDRESS_MAX_CHARS
                ),
            ));
        }
        let mut conn = self.db().read().await?;
        let area = match (&input.area_code, input.lat.zip(input.lon)) {
            (Some(code), _) => Some(
                reference::find_area_by_code(&mut conn, code)
                    .await?
                    .ok_or_else(|| {
                        ServiceError::invalid("unknown_area", format!("no area with code {code}"))
                    })?,
            ),
            (None, Some((lat, lon))) => {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(ServiceError::invalid(
                        "invalid_location",
                        "lat must be within ±90 and lon within ±180",
                    ));
                }
                match self.locate_area_id(lat, lon).await? {
                    Some(id) => Some(reference::get_area(&mut conn, id).await?),
                    None => None,
                }
            }
            (None, None) => match self.place_in_words(&input.address, text).await? {
                Some(id) => Some(reference::get_area(&mut conn, id).await?),
                None => None,
            },
        };
        let given = match &input.category_code {
            Some(code) => Some(
                reference::list_categories(&mut conn)
                    .await?
                    .into_iter()
                    .find(|c| &c.code == code)
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "unknown_category",
                            format!("no category with code {code}"),
                        )
                    })?,
            ),
            None => None,
        };
        let categories = self.classify(text).map(|s| s.top).unwrap_or_default();
        let category_id = given
            .as_ref()
            .map(|c| c.id)
            .or_else(|| categories.first().map(|c| c.category_id));
        let facts = place_facts(
            &mut conn,
            category_id,
            area.as_ref().map(|a| a.id),
            None,
            self.repeat_place_since(),
        )
        .await?;
        let mut duplicates = Vec::new();
        if actor.role != Role::Resident
            && let (Some(category_id), Some(area)) = (category_id, area.as_ref())
        {
            let profile = crate::dedup::repeat_profile(
                self.config().repeat_rule,
                &input.title,
                &input.text,
                None,
                self.now().timestamp(),
            );
            for link in self.find_similar(&profile, category_id, area.id).await? {
                let case = urbis_storage::cases::get_case(&mut conn, link.case_id).await?;
                if urbis_domain::workflow::can_view(actor, &crate::case_rows::facts_of(&case)) {
                    duplicates.push(DuplicateCandidate {
                        case,
                        similarity: link.score(),
                        reason: link.explanation.render_zh(),
                    });
                }
                if duplicates.len() >= DUPLICATES_MAX {
                    break;
                }
            }
        }
        let priority = urbis_text::priority::score(&urbis_text::priority::PriorityInput {
            text,
            category_severity: facts.severity,
            duplicate_count: 0,
            repeat_place_count: facts.repeat_place_count,
        });
        let pii = urbis_text::pii::detect(text)
            .into_iter()
            .map(|span| span.kind.as_str())
            .collect();
        Ok(SuggestOutcome {
            categories,
            duplicates,
            pii,
            masked_text: urbis_text::pii::mask(text),
            priority,
            route: facts.route,
            area,
        })
    }
}
