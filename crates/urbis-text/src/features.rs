//! Hashed text features: word uni- and bi-grams and character n-grams in a fixed feature space.
//!
//! Feature hashing maps every n-gram straight to one of `2^hash_bits` buckets, so there is no vocabulary to
//! store or look up: the model stays small, extraction allocates little, and unseen words cost nothing.
//! Weighting is term frequency, optionally sublinear (`1 + ln tf`), then L2 normalisation;
//! the classifier may multiply in per-bucket IDF weights before normalising (see `crate::classifier`).
//!
//! Text is normalised on the fly: full-width ASCII becomes half-width, Latin letters lowercase,
//! digits optionally fold to `0`, whitespace is dropped and punctuation breaks n-grams.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::segment::Segmenter;
use crate::{Result, TextError};

/// Which n-grams to extract and how to weight them. Stored in the model header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureOptions {
    /// The feature space has `2^hash_bits` buckets (10 to 24).
    pub hash_bits: u32,
    /// Shortest character n-gram; 0 disables character n-grams.
    pub char_ngram_min: u32,
    /// Longest character n-gram (at most 5).
    pub char_ngram_max: u32,
    /// 0: no word features; 1: jieba words; 2: words and word bigrams.
    pub word_ngram_max: u32,
    /// Weights a term by `1 + ln tf` instead of `tf`.
    pub sublinear_tf: bool,
    /// Maps every digit to `0`, so that dates, amounts and house numbers share features.
    pub fold_digits: bool,
}

impl FeatureOptions {
    /// Returns an error naming the first option out of range.
    pub fn validate(&self) -> Result<()> {
        let invalid = |name: &'static str, reason: &str| {
            Err(TextError::InvalidOption {
                name,
                reason: reason.to_owned(),
            })
        };
        if !(10..=24).contains(&self.hash_bits) {
            return invalid("hash_bits", "must be between 10 and 24");
        }
        if self.char_ngram_min > self.char_ngram_max || self.char_ngram_max > 5 {
            return invalid(
                "char_ngram_max",
                "need char_ngram_min <= char_ngram_max <= 5",
            );
        }
        if self.word_ngram_max > 2 {
            return invalid("word_ngram_max", "must be 0, 1 or 2");
        }
        if self.char_ngram_min == 0 && self.char_ngram_max > 0 {
            return invalid(
                "char_ngram_min",
                "must be at least 1 when char_ngram_max is set",
            );
        }
        if self.char_ngram_max == 0 && self.word_ngram_max == 0 {
            return invalid("word_ngram_max", "no features enabled");
        }
        Ok(())
    }

    /// Returns the number of buckets, `2^hash_bits`.
    pub fn dimension(&self) -> usize {
        1 << self.hash_bits
    }
}

/// A sparse vector: strictly increasing bucket indices with their values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseVector {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    /// Returns the number of non-zero entries.
    pub fn len(&self) -> usize {
        self.indices.len()
    }

    /// Returns true when the vector has no entries.
    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    /// Returns the dot product with another sparse vector.
    pub fn dot(&self, other: &SparseVector) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0);
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.values[i] * other.values[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// Scales the vector to unit Euclidean length (an empty or zero vector is left as it is).
    pub fn l2_normalize(&mut self) {
        let norm = self.values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if norm > 0.0 {
            self.values.iter_mut().for_each(|v| *v /= norm);
        }
    }
}

/// Bucket counts of one text: distinct buckets, in order of first occurrence, with how often each occurred.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TermCounts {
    pub buckets: Vec<u32>,
    pub counts: Vec<u32>,
}

/// Extracts hashed features. Cheap to clone; share one per model.
#[derive(Clone, Debug)]
pub struct Featurizer {
    options: FeatureOptions,
    segmenter: Option<Arc<Segmenter>>,
    /// Term weight of counts 0..16, so that the common small counts need no logarithm.
    tf_table: [f32; 16],
}

impl Featurizer {
    /// Returns a featurizer. `segmenter` is used for word features; `None` means the shared default dictionary.
    pub fn new(options: &FeatureOptions, segmenter: Option<Arc<Segmenter>>) -> Result<Featurizer> {
        options.validate()?;
        let tf_table = std::array::from_fn(|count| tf_formula(options.sublinear_tf, count as u32));
        Ok(Featurizer {
            options: options.clone(),
            segmenter,
            tf_table,
        })
    }

    /// Returns the options this featurizer was built with.
    pub fn options(&self) -> &FeatureOptions {
        &self.options
    }

    /// Returns the term-frequency vector of `text` (sublinear if configured), L2-normalised.
    pub fn vector(&self, text: &str) -> SparseVector {
        let counts = self.counts(text);
        let mut pairs: Vec<(u32, u32)> = counts.buckets.into_iter().zip(counts.counts).collect();
        pairs.sort_unstable();
        let mut vector = SparseVector {
            indices: pairs.iter().map(|&(bucket, _)| bucket).collect(),
            values: pairs.iter().map(|&(_, count)| self.tf(count)).collect(),
        };
        vector.l2_normalize();
        vector
    }

    /// Returns the weight of a term seen `count` times.
    #[inline]
    pub fn tf(&self, count: u32) -> f32 {
        match self.tf_table.get(count as usize) {
            Some(&weight) => weight,
            None => tf_formula(self.options.sublinear_tf, count),
        }
    }

    /// Returns how often each bucket occurs in `text`.
    pub fn counts(&self, text: &str) -> TermCounts {
        let mut buckets = Vec::with_capacity(text.len());
        self.push_buckets(text, &mut buckets);
        count_distinct(&buckets)
    }

    /// Appends the bucket of every n-gram occurrence in `text` to `out` (unsorted, with repeats).
    pub fn push_buckets(&self, text: &str, out: &mut Vec<u32>) {
        let shift = 64 - self.options.hash_bits;
        if self.options.char_ngram_max > 0 {
            push_char_ngrams(text, &self.options, shift, out);
        }
        if self.options.word_ngram_max > 0 {
            let segmenter = self
                .segmenter
                .as_deref()
                .unwrap_or_else(|| Segmenter::shared_default());
            let mut previous: Option<u64> = None;
            for word in segmenter.cut(text) {
                if !word.chars().any(char::is_alphanumeric) {
                    // Punctuation ends a phrase: no bigram across it. Whitespace does not.
                    if !word.chars().all(char::is_whitespace) {
                        previous = None;
                    }
                    continue;
                }
                let hash = word_hash(word, self.options.fold_digits);
                out.push(bucket(mix(SEED_WORD, hash), shift));
                if let Some(prev) = previous.filter(|_| self.options.word_ngram_max >= 2) {
                    out.push(bucket(mix(mix(SEED_WORD_BIGRAM, prev), hash), shift));
                }
                previous = Some(hash);
            }
        }
    }
}

fn tf_formula(sublinear: bool, count: u32) -> f32 {
    match (sublinear, count) {
        (_, 0) => 0.0,
        (true, _) => 1.0 + (count as f32).ln(),
        (false, _) => count as f32,
    }
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;
const SEED_CHAR: [u64; 6] = [
    0x243F_6A88_85A3_08D3,
    0x1319_8A2E_0370_7344,
    0xA409_3822_299F_31D0,
    0x082E_FA98_EC4E_6C89,
    0x4528_21E6_38D0_1377,
    0xBE54_66CF_34E9_0C6C,
];
const SEED_WORD: u64 = 0xC0AC_29B7_C97C_50DD;
const SEED_WORD_BIGRAM: u64 = 0x3F84_D5B5_B547_0917;

/// How one character takes part in character n-grams.
enum CharClass {
    /// Dropped: whitespace and control characters.
    Skip,
    /// Ends the current run: punctuation and symbols.
    Boundary,
    /// Part of n-grams, with its normalised code.
    Text(u32),
}

/// Normalises one character (see the module docs).
#[inline]
fn classify_char(c: char, fold_digits: bool) -> CharClass {
    let mut code = c as u32;
    // Fast path: CJK unified ideographs are most of the text.
    if (0x4E00..=0x9FFF).contains(&code) {
        return CharClass::Text(code);
    }
    if (0xFF01..=0xFF5E).contains(&code) {
        code -= 0xFEE0;
    }
    let c = char::from_u32(code).unwrap_or(c);
    if c.is_ascii() {
        return match c {
            '0'..='9' => CharClass::Text(if fold_digits { '0' as u32 } else { code }),
            'A'..='Z' => CharClass::Text(c.to_ascii_lowercase() as u32),
            'a'..='z' => CharClass::Text(code),
            _ if c.is_ascii_whitespace() || c.is_ascii_control() => CharClass::Skip,
            _ => CharClass::Boundary,
        };
    }
    if c.is_whitespace() || c.is_control() {
        CharClass::Skip
    } else if c.is_alphanumeric() {
        CharClass::Text(code)
    } else {
        CharClass::Boundary
    }
}

fn push_char_ngrams(text: &str, options: &FeatureOptions, shift: u32, out: &mut Vec<u32>) {
    let (min_n, max_n) = (
        options.char_ngram_min as usize,
        options.char_ngram_max as usize,
    );
    // The last `max_n` characters of the current run, newest last.
    let mut window = [0u32; 5];
    let mut run = 0usize;
    for c in text.chars() {
        let code = match classify_char(c, options.fold_digits) {
            CharClass::Skip => continue,
            CharClass::Boundary => {
                run = 0;
                continue;
            }
            CharClass::Text(code) => code,
        };
        window.copy_within(1..max_n, 0);
        window[max_n - 1] = code;
        run += 1;
        let mut hash = 0u64;
        for n in 1..=max_n.min(run) {
            hash = mix(hash, u64::from(window[max_n - n]));
            if n >= min_n {
                out.push(bucket(hash ^ SEED_CHAR[n], shift));
            }
        }
    }
}

fn word_hash(word: &str, fold_digits: bool) -> u64 {
    let mut hash = 0xCBF2_9CE4_8422_2325u64;
    for c in word.chars() {
        let code = match classify_char(c, fold_digits) {
            CharClass::Text(code) => code,
            CharClass::Skip | CharClass::Boundary => c as u32,
        };
        hash = mix(hash, u64::from(code));
    }
    hash
}

#[inline]
fn mix(hash: u64, value: u64) -> u64 {
    (hash.rotate_left(26) ^ value).wrapping_mul(MULTIPLIER)
}

/// Maps a hash to a bucket by multiplicative (Fibonacci) hashing: the top bits of a product depend on every
/// input bit.
#[inline]
fn bucket(hash: u64, shift: u32) -> u32 {
    (hash.wrapping_mul(0xD6E8_FEB8_6659_FD93) >> shift) as u32
}

/// Returns each distinct bucket of `occurrences` with its count, in order of first occurrence.
/// A small open-addressing table keyed by bucket beats sorting for the few hundred n-grams of a message.
fn count_distinct(occurrences: &[u32]) -> TermCounts {
    const EMPTY: u32 = u32::MAX;
    let capacity = (occurrences.len() * 2).next_power_of_two().max(16);
    let mask = capacity - 1;
    let mut slots = vec![EMPTY; capacity];
    let mut counts = TermCounts {
        buckets: Vec::with_capacity(occurrences.len()),
        counts: Vec::with_capacity(occurrences.len()),
    };
    for &bucket in occurrences {
        // Buckets are the top bits of a well-mixed hash, so their low bits are uniform too.
        let mut slot = bucket as usize & mask;
        loop {
            let index = slots[slot];
            if index == EMPTY {
                slots[slot] = counts.buckets.len() as u32;
                counts.buckets.push(bucket);
                counts.counts.push(1);
                break;
            }
            if counts.buckets[index as usize] == bucket {
                counts.counts[index as usize] += 1;
                break;
            }
            slot = (slot + 1) & mask;
        }
    }
    counts
}

#[cfg(test)]
mod tests;
