//! Repeat reports at intake: an appeal about the same problem as an open case — similar text
//! (MinHash over character shingles), same category, same area (or, for a unit grid, another grid
//! of the same community), within the window — is attached to that case instead of opening a new
//! one. The reporter count grows and every appeal (with its reporter) is kept; nothing is merged
//! across categories or beyond the community.

use std::sync::Mutex;

use urbis_text::dedup::DedupIndex;

use crate::{Result, Services};

/// How far back an open case can absorb repeat reports.
pub const WINDOW_SECONDS: i64 = 7 * 86_400;
/// Similarity at or above which two appeals are the same problem (see bench/classify/README.md).
pub const MIN_SIMILARITY: f32 = 0.5;
/// Most neighbouring grids searched for repeats.
pub const NEIGHBOURS_MAX: i64 = 64;
/// Most recent cases kept in the index.
pub const CAPACITY: usize = 200_000;

/// The in-memory index of recent open cases, loaded from the store on first use.
#[derive(Default)]
pub(crate) struct DedupState {
    index: Mutex<Option<DedupIndex<i64>>>,
}

impl Services {
    async fn ensure_dedup_loaded(&self) -> Result<()> {
        if self
            .inner
            .dedup
            .index
            .lock()
            .map(|g| g.is_some())
            .unwrap_or(true)
        {
            return Ok(());
        }
        let since = self.now() - chrono::Duration::seconds(WINDOW_SECONDS);
        let rows = {
            let mut conn = self.db().read().await?;
            urbis_storage::lookups::open_cases_since(&mut conn, since).await?
        };
        let mut index = DedupIndex::new(CAPACITY, MIN_SIMILARITY);
        for case in rows {
            let Some(category) = case.category_id else { continue };
            index.insert(
                case.id,
                &format!("{} {}", case.title, case.text),
                &category.to_string(),
                &case.area_id.to_string(),
                case.created_at.timestamp(),
            );
        }
        if let Ok(mut guard) = self.inner.dedup.index.lock()
            && guard.is_none()
        {
            *guard = Some(index);
        }
        Ok(())
    }

    /// Returns the open case this appeal repeats, with the similarity, if any.
    pub(crate) async fn find_repeat(
        &self,
        text: &str,
        category_id: i64,
        area_id: i64,
    ) -> Result<Option<(i64, f32)>> {
        Ok(self
            .find_similar(text, category_id, area_id)
            .await?
            .into_iter()
            .next())
    }

    /// Returns the open cases similar to a text in the same category and area, most similar first.
    pub(crate) async fn find_similar(
        &self,
        text: &str,
        category_id: i64,
        area_id: i64,
    ) -> Result<Vec<(i64, f32)>> {
        self.ensure_dedup_loaded().await?;
        let places = self.nearby_places(area_id).await?;
        let places: Vec<&str> = places.iter().map(String::as_str).collect();
        let now = self.now().timestamp();
        let guard = match self.inner.dedup.index.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        Ok(guard
            .as_ref()
            .map(|index| {
                index.candidates(text, &category_id.to_string(), &places, now, WINDOW_SECONDS)
            })
            .unwrap_or_default())
    }

    /// Returns the places whose open cases an appeal in `area_id` may repeat: the area itself
    /// and, for a unit grid, the other grids of its community (a few hundred metres at most).
    async fn nearby_places(&self, area_id: i64) -> Result<Vec<String>> {
        let mut places = vec![area_id.to_string()];
        let siblings = {
            let mut conn = self.db().read().await?;
            urbis_storage::lookups::sibling_grids(&mut conn, area_id, NEIGHBOURS_MAX).await?
        };
        places.extend(siblings.into_iter().map(|id| id.to_string()));
        Ok(places)
    }

    /// Remembers a new case for later repeats.
    pub(crate) fn remember_case(&self, case_id: i64, text: &str, category_id: i64, area_id: i64) {
        if let Ok(mut guard) = self.inner.dedup.index.lock()
            && let Some(index) = guard.as_mut()
        {
            index.insert(
                case_id,
                text,
                &category_id.to_string(),
                &area_id.to_string(),
                self.now().timestamp(),
            );
        }
    }
}
