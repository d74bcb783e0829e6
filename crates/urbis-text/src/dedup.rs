//! Near-duplicate detection for appeals: the same complaint posted again, possibly with small edits.
//!
//! Texts are compared after normalisation (whitespace and punctuation removed, full-width folded, Latin
//! lowercased). [`similarity`] is the exact Jaccard similarity of the two texts' character 3-gram sets.
//! [`DedupIndex`] keeps only a compact [`Signature`] per recent appeal — a fingerprint of the normalised text
//! and a 64-value MinHash of its shingles, whose agreement rate estimates the Jaccard similarity
//! (standard error about 0.06 at 0.5) — so memory stays fixed per entry and no text is retained.
//!
//! The index is partitioned by category key and place key. A query names its category and the places to search
//! (its own grid and the adjacent ones); entries of any other category or place are never even looked at.
//! It holds at most `capacity` entries and evicts the oldest-inserted first.

use std::collections::{HashMap, VecDeque};

use crate::rng::SplitMix64;

/// Number of MinHash values per signature.
pub const MINHASH_SIZE: usize = 64;

/// Returns the normalised text: letters, digits and Han characters only, full-width folded, Latin lowercased.
pub fn normalize(text: &str) -> String {
    text.chars()
        .filter_map(|c| {
            let code = c as u32;
            let c = if (0xFF01..=0xFF5E).contains(&code) {
                char::from_u32(code - 0xFEE0).unwrap_or(c)
            } else {
                c
            };
            c.is_alphanumeric().then(|| c.to_ascii_lowercase())
        })
        .collect()
}

/// Returns a 64-bit fingerprint of the normalised text: equal for texts that differ only in spacing,
/// punctuation, width or Latin case.
pub fn fingerprint(text: &str) -> u64 {
    let mut hash = 0xCBF2_9CE4_8422_2325u64;
    for byte in normalize(text).bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

/// Returns the sorted, distinct hashes of the normalised text's character 3-grams
/// (a text of 1–2 characters is one shingle; an empty text has none).
pub fn shingles(text: &str) -> Vec<u64> {
    let chars: Vec<char> = normalize(text).chars().collect();
    let mut hashes: Vec<u64> = if chars.len() < 3 {
        if chars.is_empty() {
            Vec::new()
        } else {
            vec![hash_chars(&chars)]
        }
    } else {
        chars.windows(3).map(hash_chars).collect()
    };
    hashes.sort_unstable();
    hashes.dedup();
    hashes
}

/// Returns the Jaccard similarity of the character 3-gram sets of `a` and `b` (1.0 for two empty texts).
pub fn similarity(a: &str, b: &str) -> f32 {
    jaccard(&shingles(a), &shingles(b))
}

/// Returns the Jaccard similarity of two sorted, distinct shingle lists.
pub fn jaccard(a: &[u64], b: &[u64]) -> f32 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f32 / (a.len() + b.len() - common) as f32
}

fn hash_chars(chars: &[char]) -> u64 {
    let mut hash = 0u64;
    for &c in chars {
        hash = (hash.rotate_left(21) ^ u64::from(c as u32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    hash ^ (hash >> 29)
}

/// What the index keeps per text: fingerprint and MinHash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub fingerprint: u64,
    pub minhash: [u32; MINHASH_SIZE],
    /// True when the text had no letters, digits or Han characters.
    pub empty: bool,
}

impl Signature {
    /// Computes the signature of `text`.
    pub fn of(text: &str) -> Signature {
        let shingles = shingles(text);
        let mut minhash = [u32::MAX; MINHASH_SIZE];
        for &shingle in &shingles {
            for (slot, seed) in minhash.iter_mut().zip(minhash_seeds()) {
                let mut h = (shingle ^ seed).wrapping_mul(0xD6E8_FEB8_6659_FD93);
                h ^= h >> 32;
                *slot = (*slot).min(h as u32);
            }
        }
        Signature {
            fingerprint: fingerprint(text),
            minhash,
            empty: shingles.is_empty(),
        }
    }

    /// Estimates the Jaccard similarity with another signature (1.0 when the normalised texts are equal).
    pub fn estimate(&self, other: &Signature) -> f32 {
        if self.fingerprint == other.fingerprint {
            return 1.0;
        }
        if self.empty || other.empty {
            return 0.0;
        }
        let agree = self
            .minhash
            .iter()
            .zip(&other.minhash)
            .filter(|(a, b)| a == b)
            .count();
        agree as f32 / MINHASH_SIZE as f32
    }
}

fn minhash_seeds() -> &'static [u64; MINHASH_SIZE] {
    static SEEDS: std::sync::OnceLock<[u64; MINHASH_SIZE]> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut rng = SplitMix64::new(0xD0D0_CAFE);
        std::array::from_fn(|_| rng.next_u64())
    })
}

struct Entry<Id> {
    id: Id,
    signature: Signature,
    timestamp: i64,
    sequence: u64,
}

/// Recent appeals by category and place, for finding near-duplicates of a new one.
/// `Id` is the caller's identifier (a case id).
pub struct DedupIndex<Id> {
    capacity: usize,
    min_similarity: f32,
    /// category → place → entries in insertion order.
    partitions: HashMap<String, HashMap<String, VecDeque<Entry<Id>>>>,
    /// Insertion order over all partitions, for eviction: (category, place, sequence).
    order: VecDeque<(String, String, u64)>,
    next_sequence: u64,
}

impl<Id: Clone> DedupIndex<Id> {
    /// Returns an empty index holding at most `capacity` entries (at least 1) and reporting candidates whose
    /// estimated similarity is at least `min_similarity`.
    pub fn new(capacity: usize, min_similarity: f32) -> DedupIndex<Id> {
        DedupIndex {
            capacity: capacity.max(1),
            min_similarity,
            partitions: HashMap::new(),
            order: VecDeque::new(),
            next_sequence: 0,
        }
    }

    /// Returns the number of entries held.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Returns true when the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// Adds an appeal; evicts the oldest-inserted entry when the index is full.
    /// `timestamp` is in seconds (any epoch, the same as `now` in queries).
    pub fn insert(&mut self, id: Id, text: &str, category: &str, place: &str, timestamp: i64) {
        self.insert_signature(id, Signature::of(text), category, place, timestamp);
    }

    /// Like [`DedupIndex::insert`] with a precomputed signature.
    pub fn insert_signature(
        &mut self,
        id: Id,
        signature: Signature,
        category: &str,
        place: &str,
        timestamp: i64,
    ) {
        self.insert_evicting(id, signature, category, place, timestamp);
    }

    /// Like [`DedupIndex::insert_signature`]; returns the id of the entry evicted to make room, if any.
    pub fn insert_evicting(
        &mut self,
        id: Id,
        signature: Signature,
        category: &str,
        place: &str,
        timestamp: i64,
    ) -> Option<Id> {
        let evicted = if self.order.len() >= self.capacity {
            self.evict_oldest()
        } else {
            None
        };
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.partitions
            .entry(category.to_owned())
            .or_default()
            .entry(place.to_owned())
            .or_default()
            .push_back(Entry {
                id,
                signature,
                timestamp,
                sequence,
            });
        self.order
            .push_back((category.to_owned(), place.to_owned(), sequence));
        evicted
    }

    fn evict_oldest(&mut self) -> Option<Id> {
        let (category, place, sequence) = self.order.pop_front()?;
        let places = self.partitions.get_mut(&category)?;
        let mut evicted = None;
        if let Some(entries) = places.get_mut(&place) {
            // Both queues are in insertion order, so the oldest overall is the oldest of its partition.
            if entries.front().is_some_and(|e| e.sequence == sequence) {
                evicted = entries.pop_front().map(|e| e.id);
            }
            if entries.is_empty() {
                places.remove(&place);
            }
        }
        if places.is_empty() {
            self.partitions.remove(&category);
        }
        evicted
    }

    /// Returns the entries of `category` at one of `place_keys` with `timestamp >= now - window_seconds`
    /// whose estimated similarity to `text` is at least the index's threshold, most similar first.
    pub fn candidates(
        &self,
        text: &str,
        category: &str,
        place_keys: &[&str],
        now: i64,
        window_seconds: i64,
    ) -> Vec<(Id, f32)> {
        self.candidates_for(
            &Signature::of(text),
            category,
            place_keys,
            now,
            window_seconds,
        )
    }

    /// Like [`DedupIndex::candidates`] with a precomputed signature.
    pub fn candidates_for(
        &self,
        signature: &Signature,
        category: &str,
        place_keys: &[&str],
        now: i64,
        window_seconds: i64,
    ) -> Vec<(Id, f32)> {
        let mut found: Vec<(Id, f32, u64)> = Vec::new();
        self.visit_window(
            category,
            place_keys,
            now,
            window_seconds,
            |id, other, sequence| {
                let score = signature.estimate(other);
                if score >= self.min_similarity {
                    found.push((id.clone(), score, sequence));
                }
            },
        );
        // Most similar first; among equals, the most recent first.
        found.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.2.cmp(&a.2)));
        found
            .into_iter()
            .map(|(id, score, _)| (id, score))
            .collect()
    }

    /// Calls `visit` with every entry of `category` at one of `place_keys` (each place once) whose
    /// timestamp is inside the window: its id, its signature and its insertion sequence (larger is
    /// more recent). Nothing is estimated, so a caller that judges entries by other means pays
    /// only for the walk.
    pub fn visit_window<'a>(
        &'a self,
        category: &str,
        place_keys: &[&str],
        now: i64,
        window_seconds: i64,
        mut visit: impl FnMut(&'a Id, &'a Signature, u64),
    ) {
        let Some(places) = self.partitions.get(category) else {
            return;
        };
        let oldest = now.saturating_sub(window_seconds);
        // Each place once (a unit grid's community can list dozens): sorted, not compared
        // pairwise; a caller that keeps its keys sorted saves the sort.
        let mut searched: Vec<&str> = place_keys.to_vec();
        if !searched.is_sorted() {
            searched.sort_unstable();
        }
        searched.dedup();
        for place in searched {
            let Some(entries) = places.get(place) else {
                continue;
            };
            for entry in entries.iter().filter(|e| e.timestamp >= oldest) {
                visit(&entry.id, &entry.signature, entry.sequence);
            }
        }
    }
}

#[cfg(test)]
mod tests;
