//! Recent appeals by category and place with their repeat profiles.
//!
//! Candidates come from the existing MinHash index ([`DedupIndex`]) with no similarity floor — every entry of the
//! same category at the searched places inside the window — because reworded repeats sit far below any useful
//! 3-gram threshold; each candidate is then scored by [`RepeatModel::compare`]. The index also counts document
//! frequencies of the words it sees, so IDF weights come from the city's own appeals.

use std::collections::HashMap;
use std::hash::Hash;

use crate::dedup::DedupIndex;
use crate::repeat::{IdfTable, RepeatExplanation, RepeatModel, RepeatProfile, Weighed};

/// Most candidates scored per query (the most similar by MinHash first), bounding the work in a busy partition.
pub const MAX_SCORED: usize = 2_000;

/// A recent appeal judged against a new one.
#[derive(Clone, Debug)]
pub struct RepeatMatch<Id> {
    pub id: Id,
    pub explanation: RepeatExplanation,
}

/// Recent appeals with their profiles, partitioned by category and place.
pub struct RepeatIndex<Id> {
    candidates: DedupIndex<Id>,
    profiles: HashMap<Id, RepeatProfile>,
    idf: IdfTable,
    model: RepeatModel,
}

impl<Id: Clone + Eq + Hash> RepeatIndex<Id> {
    /// Returns an empty index holding at most `capacity` appeals, scoring with `model`.
    pub fn new(capacity: usize, model: RepeatModel) -> RepeatIndex<Id> {
        RepeatIndex {
            candidates: DedupIndex::new(capacity, 0.0),
            profiles: HashMap::new(),
            idf: IdfTable::new(),
            model,
        }
    }

    /// Returns the number of appeals held.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Returns true when the index holds appeal `id`.
    pub fn contains(&self, id: &Id) -> bool {
        self.profiles.contains_key(id)
    }

    /// Returns true when the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// Returns the model the index scores with.
    pub fn model(&self) -> &RepeatModel {
        &self.model
    }

    /// Returns the word statistics gathered so far.
    pub fn idf(&self) -> &IdfTable {
        &self.idf
    }

    /// Counts a text's words for IDF without indexing it (a corpus of older appeals).
    pub fn observe(&mut self, profile: &RepeatProfile) {
        self.idf.add_document(&profile.words);
    }

    /// Adds an appeal (and counts its words); evicts the oldest when full. `timestamp` is in seconds.
    pub fn insert(
        &mut self,
        id: Id,
        profile: RepeatProfile,
        category: &str,
        place: &str,
        timestamp: i64,
    ) {
        self.idf.add_document(&profile.words);
        let signature = profile.signature.clone();
        if let Some(evicted) =
            self.candidates
                .insert_evicting(id.clone(), signature, category, place, timestamp)
            && evicted != id
        {
            self.profiles.remove(&evicted);
        }
        self.profiles.insert(id, profile);
    }

    /// Scores every appeal of `category` at `place_keys` inside the window against `profile`;
    /// returns those linked or scored at least `min_score`, best first (linked ones before the
    /// rest, then by score). Only those get an explanation built, so a busy partition costs
    /// little more than the arithmetic.
    pub fn matches(
        &self,
        profile: &RepeatProfile,
        category: &str,
        place_keys: &[&str],
        now: i64,
        window_seconds: i64,
        min_score: f32,
    ) -> Vec<RepeatMatch<Id>> {
        // The new appeal is weighed once, not once per candidate.
        let query = Weighed::new(profile, &self.idf);
        let mut found: Vec<RepeatMatch<Id>> = self
            .candidates
            .candidates_for(
                &profile.signature,
                category,
                place_keys,
                now,
                window_seconds,
            )
            .into_iter()
            .take(MAX_SCORED)
            .filter_map(|(id, _)| {
                let other = Weighed::new(self.profiles.get(&id)?, &self.idf);
                let (values, place) = self.model.signals_weighed(&query, &other, &self.idf);
                let (score, linked) = self.model.verdict(&values, &place);
                (linked || score >= min_score).then(|| RepeatMatch {
                    explanation: self.model.explain_weighed(values, place, &query, &other),
                    id,
                })
            })
            .collect();
        found.sort_by(|a, b| {
            b.explanation
                .linked
                .cmp(&a.explanation.linked)
                .then(b.explanation.score.total_cmp(&a.explanation.score))
        });
        found
    }

    /// Returns the best linked appeal, if any.
    pub fn best_repeat(
        &self,
        profile: &RepeatProfile,
        category: &str,
        place_keys: &[&str],
        now: i64,
        window_seconds: i64,
    ) -> Option<RepeatMatch<Id>> {
        // No score is high enough: only links are explained and returned.
        self.matches(
            profile,
            category,
            place_keys,
            now,
            window_seconds,
            f32::INFINITY,
        )
        .into_iter()
        .next()
    }
}
