//! Recent appeals by category and place with their repeat profiles.
//!
//! Candidates come from the existing MinHash index ([`DedupIndex`]) with no similarity floor — every entry of the
//! same category at the searched places inside the window — because reworded repeats sit far below any useful
//! 3-gram threshold. Those naming a place that conflicts with the new appeal's are dropped first (the place
//! check alone rules them out); each of the rest is then scored by the [`RepeatModel`]. The index also counts
//! document frequencies of the words it sees, so IDF weights come from the city's own appeals.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash};

use crate::dedup::{DedupIndex, Signature};
use crate::repeat::profile::WordHasher;
use crate::repeat::{
    IdfTable, Relation, RepeatExplanation, RepeatModel, RepeatProfile, Weighed, relate_places,
};

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
    /// Looked up for every candidate of every search: for integer ids a multiply-and-shift hash,
    /// not SipHash (the ids are the caller's own, not an adversary's).
    profiles: HashMap<Id, RepeatProfile, BuildHasherDefault<WordHasher>>,
    idf: IdfTable,
    model: RepeatModel,
}

impl<Id: Clone + Eq + Hash> RepeatIndex<Id> {
    /// Returns an empty index holding at most `capacity` appeals, scoring with `model`.
    pub fn new(capacity: usize, model: RepeatModel) -> RepeatIndex<Id> {
        RepeatIndex {
            candidates: DedupIndex::new(capacity, 0.0),
            profiles: HashMap::default(),
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

    /// Scores every appeal of `category` at `place_keys` inside the window against `profile`,
    /// except those naming a place that conflicts with its own; returns those linked or scored at
    /// least `min_score`, best first (linked ones before the rest, then by score, then the most
    /// recent). Only those get an explanation built, so a busy partition costs little more than
    /// the arithmetic.
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
        // A candidate naming another place never links and is never suggested: it is left out
        // before its words are weighed (in a community most open cases name other estates and
        // roads). The rest are scored; only when there are more than MAX_SCORED are their
        // similarities estimated, to keep the most similar.
        let mut scored: Vec<(&Id, &RepeatProfile, Relation<'_>, &Signature, u64)> = Vec::new();
        self.candidates.visit_window(
            category,
            place_keys,
            now,
            window_seconds,
            |id, signature, sequence| {
                let Some(other) = self.profiles.get(id) else {
                    return;
                };
                let place = relate_places(&profile.places, &other.places);
                if !matches!(place, Relation::Conflicts(..)) {
                    scored.push((id, other, place, signature, sequence));
                }
            },
        );
        if scored.len() > MAX_SCORED {
            let mut ranked: Vec<(f32, u64, usize)> = scored
                .iter()
                .enumerate()
                .map(|(i, (_, _, _, signature, sequence))| {
                    (profile.signature.estimate(signature), *sequence, i)
                })
                .collect();
            // Most similar first; among equals, the most recent first.
            ranked.select_nth_unstable_by(MAX_SCORED - 1, |a, b| {
                b.0.total_cmp(&a.0).then(b.1.cmp(&a.1))
            });
            scored = ranked[..MAX_SCORED]
                .iter()
                .map(|&(_, _, i)| scored[i])
                .collect();
        }
        let mut found: Vec<(RepeatMatch<Id>, u64)> = scored
            .into_iter()
            .filter_map(|(id, other, place, _, sequence)| {
                let other = Weighed::new(other, &self.idf);
                let values = self.model.signals_related(&query, &other, &self.idf, place);
                let (score, linked) = self.model.verdict_related(&values, place);
                (linked || score >= min_score).then(|| {
                    let explanation =
                        self.model
                            .explain_weighed(values, place.to_check(), &query, &other);
                    (
                        RepeatMatch {
                            id: id.clone(),
                            explanation,
                        },
                        sequence,
                    )
                })
            })
            .collect();
        // Linked first, then by score; among equals, the most recent first.
        found.sort_by(|(a, a_seq), (b, b_seq)| {
            b.explanation
                .linked
                .cmp(&a.explanation.linked)
                .then(b.explanation.score.total_cmp(&a.explanation.score))
                .then(b_seq.cmp(a_seq))
        });
        found.into_iter().map(|(found, _)| found).collect()
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
