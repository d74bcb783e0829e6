//! Repeat reports at intake: an appeal about the same problem as an open case — same category, same
//! area (or, for a unit grid, another grid of the same community), within the window, and judged the
//! same problem by `urbis_text::repeat` (word overlap that survives rewording, the named places must
//! agree, reporter and time) — is attached to that case instead of opening a new one. The reporter
//! count grows and every appeal (with its reporter) is kept; nothing is merged across categories or
//! beyond the community. The model's explanation goes into the `merge_repeat` audit record.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use urbis_text::repeat::{RepeatExplanation, RepeatIndex, RepeatModel, RepeatProfile};
use urbis_text::segment::Segmenter;

use crate::{Result, Services};

/// How far back an open case can absorb repeat reports.
pub const WINDOW_SECONDS: i64 = 7 * 86_400;
/// Most neighbouring grids searched for repeats.
pub const NEIGHBOURS_MAX: i64 = 64;
/// Most recent cases kept in the index.
pub const CAPACITY: usize = 200_000;
/// Least repeat score for an operator's "possible duplicate" suggestion (a merge needs the model's threshold).
pub const SUGGEST_MIN_SCORE: f32 = 0.5;

/// How intake tells that an appeal repeats an open case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RepeatRule {
    /// The repeat model: meaning, place, reporter and time ([`urbis_text::repeat`]).
    #[default]
    Model,
    /// The earlier rule: character 3-gram MinHash similarity of at least [`NEAR_COPY_MIN`], nothing else
    /// (light edits of one text only; kept for comparison, e.g. `urbis bench intake --city`).
    NearCopy,
    /// No repeat check: every appeal opens a case of its own (a centre that merges by hand; the
    /// baseline `urbis bench intake --city` measures the other rules against).
    Off,
}

/// Least MinHash similarity for a merge under [`RepeatRule::NearCopy`].
pub const NEAR_COPY_MIN: f32 = 0.5;

/// An open case an appeal repeats, and why.
#[derive(Debug, Clone)]
pub struct RepeatLink {
    pub case_id: i64,
    pub explanation: RepeatExplanation,
}

impl RepeatLink {
    /// The calibrated score (0–1).
    pub fn score(&self) -> f32 {
        self.explanation.score
    }

    /// The audit detail fields: score, the Chinese explanation and each signal's contribution.
    pub fn audit_fields(&self) -> serde_json::Value {
        let signals: Vec<serde_json::Value> = self
            .explanation
            .contributions
            .iter()
            .map(|c| {
                serde_json::json!({
                    "signal": c.signal.key(),
                    "value": c.value,
                    "contribution": c.contribution,
                })
            })
            .collect();
        serde_json::json!({
            "similarity": self.explanation.score,
            "explanation": self.explanation.render_zh(),
            "signals": signals,
        })
    }
}

/// The in-memory index of recent open cases, loaded from the store on first use, and the places
/// each area's repeats are looked for at (dropped with the area locator when boundaries change).
#[derive(Default)]
pub(crate) struct DedupState {
    /// Read by every appeal's search at once; written only when a case is remembered.
    index: RwLock<Option<RepeatIndex<i64>>>,
    /// Held while the index loads, so the callers that find it missing wait for that one load
    /// instead of each segmenting every open case (as `built::Built` does for the indexes that
    /// are only replaced, never changed in place).
    loading: tokio::sync::Mutex<()>,
    nearby: Mutex<HashMap<i64, Arc<Vec<String>>>>,
}

/// Most areas whose nearby places are kept (a city has a few thousand unit grids).
const NEARBY_CACHED_MAX: usize = 100_000;

/// Returns the repeat profile of an appeal under `rule`. `reporter` is a stable identity (phone or account), if any.
pub(crate) fn repeat_profile(
    rule: RepeatRule,
    title: &str,
    text: &str,
    reporter: Option<&str>,
    at: i64,
) -> RepeatProfile {
    match rule {
        RepeatRule::Model => {
            RepeatProfile::build(Segmenter::shared_default(), title, text, reporter, Some(at))
        }
        RepeatRule::NearCopy | RepeatRule::Off => RepeatProfile::near_copy(title, text, Some(at)),
    }
}

impl Services {
    /// Whether the repeat index is loaded (a poisoned lock counts as loaded: nothing to load into).
    fn dedup_loaded(&self) -> bool {
        self.inner
            .dedup
            .index
            .read()
            .map(|g| g.is_some())
            .unwrap_or(true)
    }

    async fn ensure_dedup_loaded(&self) -> Result<()> {
        if self.dedup_loaded() {
            return Ok(());
        }
        let _loading = self.inner.dedup.loading.lock().await;
        if self.dedup_loaded() {
            return Ok(());
        }
        let since = self.now() - chrono::Duration::seconds(WINDOW_SECONDS);
        let rows = {
            let mut conn = self.db().read().await?;
            urbis_storage::lookups::open_cases_since(&mut conn, since).await?
        };
        let mut index = RepeatIndex::new(CAPACITY, RepeatModel::default());
        for case in rows {
            let Some(category) = case.category_id else {
                continue;
            };
            let at = case.created_at.timestamp();
            let profile =
                repeat_profile(self.config().repeat_rule, &case.title, &case.text, None, at);
            index.insert(
                case.id,
                profile,
                &category.to_string(),
                &case.area_id.to_string(),
                at,
            );
        }
        if let Ok(mut guard) = self.inner.dedup.index.write()
            && guard.is_none()
        {
            *guard = Some(index);
        }
        Ok(())
    }

    /// Returns the open case this appeal repeats, with the model's explanation, if any.
    pub(crate) async fn find_repeat(
        &self,
        profile: &RepeatProfile,
        category_id: i64,
        area_id: i64,
    ) -> Result<Option<RepeatLink>> {
        // Only a link is wanted: under the model no candidate below the line is explained.
        Ok(self
            .find_scored(profile, category_id, area_id, f32::INFINITY)
            .await?
            .into_iter()
            .next()
            .filter(|link| link.explanation.linked))
    }

    /// Returns the open cases of the same category and area that may be the same problem (linked, or
    /// scored at least [`SUGGEST_MIN_SCORE`]; places not in conflict), linked ones first, then by score.
    pub(crate) async fn find_similar(
        &self,
        profile: &RepeatProfile,
        category_id: i64,
        area_id: i64,
    ) -> Result<Vec<RepeatLink>> {
        self.find_scored(profile, category_id, area_id, SUGGEST_MIN_SCORE)
            .await
    }

    /// [`Services::find_similar`] keeping, under the model, the links and the candidates scored
    /// at least `min_score` (the earlier rule judges every candidate by its similarity).
    async fn find_scored(
        &self,
        profile: &RepeatProfile,
        category_id: i64,
        area_id: i64,
        min_score: f32,
    ) -> Result<Vec<RepeatLink>> {
        let rule = self.config().repeat_rule;
        if rule == RepeatRule::Off {
            return Ok(Vec::new());
        }
        self.ensure_dedup_loaded().await?;
        let places = self.nearby_places(area_id).await?;
        let places: Vec<&str> = places.iter().map(String::as_str).collect();
        let now = self.now().timestamp();
        let guard = match self.inner.dedup.index.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let Some(index) = guard.as_ref() else {
            return Ok(Vec::new());
        };
        let mut links: Vec<RepeatLink> = index
            .matches(
                profile,
                &category_id.to_string(),
                &places,
                now,
                WINDOW_SECONDS,
                // The earlier rule judges every candidate by its character similarity below.
                if rule == RepeatRule::NearCopy {
                    f32::NEG_INFINITY
                } else {
                    min_score
                },
            )
            .into_iter()
            .filter_map(|mut m| {
                if rule == RepeatRule::NearCopy {
                    // The earlier rule: the character similarity alone decides.
                    let similarity = m
                        .explanation
                        .value(urbis_text::repeat::Signal::CharacterSimilarity);
                    m.explanation.linked = similarity >= NEAR_COPY_MIN;
                    m.explanation.score = similarity;
                }
                // A link the model makes below the suggestion line (a near copy, a retelling in
                // the same words) is kept too. (The index has already left out cases naming
                // another place.)
                let keep = m.explanation.score >= SUGGEST_MIN_SCORE || m.explanation.linked;
                keep.then_some(RepeatLink {
                    case_id: m.id,
                    explanation: m.explanation,
                })
            })
            .collect();
        if rule == RepeatRule::NearCopy {
            links.sort_by(|a, b| {
                b.explanation
                    .linked
                    .cmp(&a.explanation.linked)
                    .then(b.explanation.score.total_cmp(&a.explanation.score))
            });
        }
        Ok(links)
    }

    /// Returns the places whose open cases an appeal in `area_id` may repeat: the area itself
    /// and, for a unit grid, the other grids of its community (a few hundred metres at most).
    /// Read once per area, then kept until boundaries change.
    async fn nearby_places(&self, area_id: i64) -> Result<Arc<Vec<String>>> {
        let cached = match self.inner.dedup.nearby.lock() {
            Ok(map) => map.get(&area_id).cloned(),
            Err(_) => None,
        };
        if let Some(places) = cached {
            return Ok(places);
        }
        let mut places = vec![area_id.to_string()];
        let siblings = {
            let mut conn = self.db().read().await?;
            urbis_storage::lookups::sibling_grids(&mut conn, area_id, NEIGHBOURS_MAX).await?
        };
        places.extend(siblings.into_iter().map(|id| id.to_string()));
        // Sorted and each once: the index walks them in this order without sorting per search.
        places.sort_unstable();
        places.dedup();
        let places = Arc::new(places);
        if let Ok(mut map) = self.inner.dedup.nearby.lock() {
            if map.len() >= NEARBY_CACHED_MAX {
                map.clear();
            }
            map.insert(area_id, places.clone());
        }
        Ok(places)
    }

    /// Forgets the places kept per area (boundaries or grids changed).
    pub(crate) fn forget_nearby_places(&self) {
        if let Ok(mut map) = self.inner.dedup.nearby.lock() {
            map.clear();
        }
    }

    /// Remembers a new case for later repeats (once: a case this node opened is also heard back
    /// from the cluster's stream).
    pub(crate) fn remember_case(
        &self,
        case_id: i64,
        profile: RepeatProfile,
        category_id: i64,
        area_id: i64,
    ) {
        if let Ok(mut guard) = self.inner.dedup.index.write()
            && let Some(index) = guard.as_mut()
            && !index.contains(&case_id)
        {
            index.insert(
                case_id,
                profile,
                &category_id.to_string(),
                &area_id.to_string(),
                self.now().timestamp(),
            );
        }
    }

    /// Remembers an open case read from the store (one opened or split off on any node) for
    /// later repeats, with its reporter as intake would have keyed it.
    pub(crate) fn remember_case_row(&self, row: &urbis_storage::cases::CaseRow) {
        let Some(category_id) = row.category_id.filter(|_| row.state.is_open()) else {
            return;
        };
        // A case this node opened is already held: it is not segmented again.
        let held = match self.inner.dedup.index.read() {
            Ok(guard) => guard.as_ref().is_some_and(|index| index.contains(&row.id)),
            Err(_) => false,
        };
        if held {
            return;
        }
        let reporter = reporter_key(&row.reporter_phone, row.reporter_user_id);
        let profile = repeat_profile(
            self.config().repeat_rule,
            &row.title,
            &row.text,
            reporter.as_deref(),
            row.created_at.timestamp(),
        );
        self.remember_case(row.id, profile, category_id, row.area_id);
    }
}

/// The reporter identity the repeat model compares: the phone's digits, else the resident's account.
pub(crate) fn reporter_key(phone: &str, user: Option<i64>) -> Option<String> {
    match (phone.trim(), user) {
        ("", Some(user)) => Some(format!("user:{user}")),
        ("", None) => None,
        (phone, _) => Some(phone.chars().filter(char::is_ascii_digit).collect()),
    }
}
