//! Address gazetteer: resolves free address text (roads, house numbers, points of interest) to a point.
//!
//! Matching runs in stages and every stage adds scored candidates; the best score per entry wins:
//!
//! | stage | score |
//! |---|---|
//! | exact name | 1.00 |
//! | normalised name ([`normalize_address`]: 全角→半角, 號→号, spaces and punctuation removed, trailing 附近/旁/… removed) | 0.95 |
//! | normalised name after dropping a leading administrative prefix (…省/市/区/县/镇/乡/街道) | 0.92 |
//! | road + house number parsed from the text (`朝阳路12号`) matching a house-number entry | 0.90 |
//! | the road alone, when the house number is unknown | 0.75 |
//! | fuzzy: 0.85 × (½ char-bigram Jaccard + ½ share of the entry's bigrams found in the text) | < 0.85 |
//!
//! Fuzzy candidates below [`GazetteerOptions::min_fuzzy_score`] are not returned.

use std::collections::{HashMap, HashSet};

use crate::error::GeoError;

/// What an entry names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// A road or street (街巷); its point is a representative point on it.
    Road,
    /// A door-plate address (门牌) on a road.
    HouseNumber,
    /// A point of interest (兴趣点): a school, a market, a residential compound.
    Poi,
}

/// Longest name [`Gazetteer::named_in`] finds in a text, in characters.
pub const NAME_IN_TEXT_MAX_CHARS: usize = 24;

/// One gazetteer entry (WGS84 point).
#[derive(Debug, Clone, PartialEq)]
pub struct GazetteerEntry {
    /// Full name as written, e.g. `东直门南大街5号` or `东直门南大街`.
    pub name: String,
    /// What the entry names.
    pub kind: EntryKind,
    /// Longitude (WGS84).
    pub lon: f64,
    /// Latitude (WGS84).
    pub lat: f64,
    /// Road name, for house numbers.
    pub road: Option<String>,
    /// House number as written (`5号`, `5`), for house numbers.
    pub house_number: Option<String>,
}

/// How a candidate was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The text equals the entry name.
    Exact,
    /// The normalised text equals the normalised name (possibly after dropping an administrative prefix).
    Normalized,
    /// Road and house number parsed from the text match the entry.
    HouseNumber,
    /// Only the road matched; the house number is unknown.
    RoadOnly,
    /// Character-bigram similarity.
    Fuzzy,
}

/// One answer of [`Gazetteer::lookup`].
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate<'a> {
    /// Position of the entry in the gazetteer.
    pub index: usize,
    /// The entry.
    pub entry: &'a GazetteerEntry,
    /// Confidence in [0, 1].
    pub score: f64,
    /// How it was found.
    pub match_kind: MatchKind,
}

/// Bounds and thresholds of a [`Gazetteer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GazetteerOptions {
    /// Fuzzy candidates scoring below this are dropped.
    pub min_fuzzy_score: f64,
    /// Query text longer than this (in characters) is cut.
    pub max_query_chars: usize,
    /// Maximum number of entries.
    pub max_entries: usize,
}

impl GazetteerOptions {
    /// Returns the defaults: fuzzy score ≥ 0.3, queries up to 200 characters, up to 5,000,000 entries.
    pub fn standard() -> GazetteerOptions {
        GazetteerOptions {
            min_fuzzy_score: 0.3,
            max_query_chars: 200,
            max_entries: 5_000_000,
        }
    }
}

/// An in-memory address index.
#[derive(Debug, Clone)]
pub struct Gazetteer {
    entries: Vec<GazetteerEntry>,
    options: GazetteerOptions,
    exact: HashMap<String, Vec<u32>>,
    normalized: HashMap<String, Vec<u32>>,
    house_numbers: HashMap<(String, String), Vec<u32>>,
    roads: HashMap<String, Vec<u32>>,
    bigram_postings: HashMap<(char, char), Vec<u32>>,
    bigram_counts: Vec<u32>,
}

const SCORE_EXACT: f64 = 1.0;
const SCORE_NORMALIZED: f64 = 0.95;
const SCORE_PREFIX_DROPPED: f64 = 0.92;
const SCORE_HOUSE_NUMBER: f64 = 0.90;
const SCORE_ROAD_ONLY: f64 = 0.75;
const SCORE_FUZZY_MAX: f64 = 0.85;

impl Gazetteer {
    /// Builds a gazetteer with [`GazetteerOptions::standard`].
    pub fn new(entries: Vec<GazetteerEntry>) -> Result<Gazetteer, GeoError> {
        Gazetteer::with_options(entries, GazetteerOptions::standard())
    }

    /// Builds a gazetteer. Entries need a non-empty name and a finite WGS84 point.
    pub fn with_options(
        entries: Vec<GazetteerEntry>,
        options: GazetteerOptions,
    ) -> Result<Gazetteer, GeoError> {
        if entries.len() > options.max_entries {
            return Err(GeoError::TooLarge {
                what: "gazetteer entries",
                actual: entries.len(),
                limit: options.max_entries,
            });
        }
        let mut gazetteer = Gazetteer {
            entries: Vec::new(),
            options,
            exact: HashMap::new(),
            normalized: HashMap::new(),
            house_numbers: HashMap::new(),
            roads: HashMap::new(),
            bigram_postings: HashMap::new(),
            bigram_counts: Vec::with_capacity(entries.len()),
        };
        for (idx, entry) in entries.iter().enumerate() {
            let invalid = |reason: &str| GeoError::InvalidGeometry {
                subject: format!("gazetteer entry {idx}"),
                reason: reason.to_owned(),
            };
            if entry.name.trim().is_empty() {
                return Err(invalid("empty name"));
            }
            if !(entry.lon.is_finite()
                && entry.lat.is_finite()
                && entry.lon.abs() <= 180.0
                && entry.lat.abs() <= 90.0)
            {
                return Err(invalid("point is not a valid longitude/latitude"));
            }
            let id = idx as u32;
            gazetteer
                .exact
                .entry(entry.name.trim().to_owned())
                .or_default()
                .push(id);
            let normalized = normalize_address(&entry.name);
            gazetteer
                .normalized
                .entry(normalized.clone())
                .or_default()
                .push(id);
            match entry.kind {
                EntryKind::HouseNumber => {
                    let parsed = match (&entry.road, &entry.house_number) {
                        (Some(road), Some(number)) => {
                            Some((normalize_address(road), normalize_house_number(number)))
                        }
                        _ => split_house_number(&normalized),
                    };
                    if let Some(key) = parsed {
                        gazetteer.house_numbers.entry(key).or_default().push(id);
                    }
                }
                EntryKind::Road => gazetteer
                    .roads
                    .entry(normalized.clone())
                    .or_default()
                    .push(id),
                EntryKind::Poi => {}
            }
            let grams = bigrams(&normalized);
            gazetteer.bigram_counts.push(grams.len() as u32);
            for gram in grams {
                gazetteer.bigram_postings.entry(gram).or_default().push(id);
            }
        }
        gazetteer.entries = entries;
        Ok(gazetteer)
    }

    /// Returns the entries.
    pub fn entries(&self) -> &[GazetteerEntry] {
        &self.entries
    }

    /// Returns the entries (their positions) whose names appear word for word in a free text — "青山
    /// 实验小学门口的垃圾桶满了" names 青山实验小学 — in order of appearance, at most `limit`. At each
    /// position the longest name wins and the scan goes on after it; only the first
    /// `max_query_chars × 4` characters are read, and names longer than [`NAME_IN_TEXT_MAX_CHARS`]
    /// are not looked for.
    pub fn named_in(&self, text: &str, limit: usize) -> Vec<usize> {
        // Byte offsets of the first characters read, and of the end of the last one.
        let read = self.options.max_query_chars * 4;
        let mut starts: Vec<usize> = text
            .char_indices()
            .map(|(at, _)| at)
            .take(read + 1)
            .collect();
        if starts.len() <= read {
            starts.push(text.len());
        }
        let chars = starts.len() - 1;
        let mut found = Vec::new();
        let mut i = 0;
        while i < chars && found.len() < limit {
            let longest = (2..=NAME_IN_TEXT_MAX_CHARS.min(chars - i))
                .rev()
                .find_map(|len| {
                    let name = &text[starts[i]..starts[i + len]];
                    self.exact.get(name).map(|ids| (len, ids))
                });
            match longest {
                Some((len, ids)) => {
                    for &id in ids {
                        if found.len() < limit && !found.contains(&(id as usize)) {
                            found.push(id as usize);
                        }
                    }
                    i += len;
                }
                None => i += 1,
            }
        }
        found
    }

    /// Returns up to `limit` candidates for an address text, best first (ties: shorter name, then index).
    pub fn lookup(&self, query: &str, limit: usize) -> Vec<Candidate<'_>> {
        let query: String = query
            .trim()
            .chars()
            .take(self.options.max_query_chars)
            .collect();
        if query.is_empty() || limit == 0 {
            return Vec::new();
        }
        let mut best: HashMap<u32, (f64, MatchKind)> = HashMap::new();
        let mut offer = |ids: &[u32], score: f64, kind: MatchKind| {
            for &id in ids {
                let slot = best.entry(id).or_insert((score, kind));
                if score > slot.0 {
                    *slot = (score, kind);
                }
            }
        };
        if let Some(ids) = self.exact.get(&query) {
            offer(ids, SCORE_EXACT, MatchKind::Exact);
        }
        let normalized = normalize_address(&query);
        if let Some(ids) = self.normalized.get(&normalized) {
            offer(ids, SCORE_NORMALIZED, MatchKind::Normalized);
        }
        for rest in without_admin_prefixes(&normalized) {
            if let Some(ids) = self.normalized.get(rest) {
                offer(ids, SCORE_PREFIX_DROPPED, MatchKind::Normalized);
            }
        }
        let structured =
            std::iter::once(normalized.as_str()).chain(without_admin_prefixes(&normalized));
        for text in structured {
            if let Some((road, number)) = split_house_number(text) {
                match self.house_numbers.get(&(road.clone(), number)) {
                    Some(ids) => offer(ids, SCORE_HOUSE_NUMBER, MatchKind::HouseNumber),
                    None => {
                        if let Some(ids) = self.roads.get(&road) {
                            offer(ids, SCORE_ROAD_ONLY, MatchKind::RoadOnly);
                        }
                    }
                }
            }
        }
        // Fuzzy: shared distinct bigrams per entry through the postings lists.
        let query_grams = bigrams(&normalized);
        if !query_grams.is_empty() {
            let mut shared: HashMap<u32, u32> = HashMap::new();
            for gram in &query_grams {
                if let Some(ids) = self.bigram_postings.get(gram) {
                    for &id in ids {
                        *shared.entry(id).or_default() += 1;
                    }
                }
            }
            let n_query = query_grams.len() as f64;
            for (id, common) in shared {
                let n_entry = f64::from(self.bigram_counts[id as usize]);
                let common = f64::from(common);
                let jaccard = common / (n_query + n_entry - common);
                let covered = common / n_entry;
                let score = SCORE_FUZZY_MAX * (0.5 * jaccard + 0.5 * covered);
                if score >= self.options.min_fuzzy_score {
                    offer(&[id], score, MatchKind::Fuzzy);
                }
            }
        }
        let mut candidates: Vec<Candidate<'_>> = best
            .into_iter()
            .map(|(id, (score, match_kind))| Candidate {
                index: id as usize,
                entry: &self.entries[id as usize],
                score,
                match_kind,
            })
            .collect();
        candidates.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(
                    a.entry
                        .name
                        .chars()
                        .count()
                        .cmp(&b.entry.name.chars().count()),
                )
                .then(a.index.cmp(&b.index))
        });
        candidates.truncate(limit);
        candidates
    }
}

/// Normalises address text for matching: full-width ASCII and the ideographic space become half-width,
/// ASCII letters lower-case, `號` becomes `号`, whitespace and punctuation (except `-`) are removed, and
/// trailing vague-location words (附近, 旁边, 旁, 周边, 对面, 门口, 一带) are stripped.
pub fn normalize_address(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        let ch = match ch {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
            _ => ch,
        };
        let ch = match ch {
            '號' => '号',
            '—' | '–' | '~' => '-',
            _ => ch,
        };
        if ch.is_whitespace() || is_ignorable_punctuation(ch) {
            continue;
        }
        out.push(ch.to_ascii_lowercase());
    }
    loop {
        let before = out.len();
        for suffix in VAGUE_SUFFIXES {
            if out.len() > suffix.len() && out.ends_with(suffix) {
                out.truncate(out.len() - suffix.len());
            }
        }
        if out.len() == before {
            break;
        }
    }
    out
}

/// Trailing words that say "around here" rather than name a place; longest first.
const VAGUE_SUFFIXES: [&str; 7] = ["附近", "旁边", "周边", "对面", "门口", "一带", "旁"];

fn is_ignorable_punctuation(ch: char) -> bool {
    matches!(
        ch,
        ',' | '.'
            | ';'
            | ':'
            | '!'
            | '?'
            | '"'
            | '\''
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '#'
            | '/'
            | '\\'
            | '，'
            | '。'
            | '、'
            | '；'
            | '：'
            | '！'
            | '？'
            | '“'
            | '”'
            | '‘'
            | '’'
            | '（'
            | '）'
            | '【'
            | '】'
            | '《'
            | '》'
            | '·'
            | '…'
    )
}

/// Normalises a house number: `12号`, `12`, `１２號` → `12`; other text is kept normalised.
fn normalize_house_number(text: &str) -> String {
    let normalized = normalize_address(text);
    normalized
        .strip_suffix('号')
        .map(str::to_owned)
        .unwrap_or(normalized)
}

/// Splits normalised text ending in a house number (`…路12号`, `…街5-3号`) into (road, number).
fn split_house_number(normalized: &str) -> Option<(String, String)> {
    let body = normalized.strip_suffix('号')?;
    let number_start = body
        .char_indices()
        .rev()
        .take_while(|(_, ch)| ch.is_ascii_digit() || *ch == '-')
        .last()
        .map(|(idx, _)| idx)?;
    let (road, number) = body.split_at(number_start);
    let number = number.trim_start_matches('-');
    if road.is_empty() || number.is_empty() || !number.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((road.to_owned(), number.to_owned()))
}

/// Yields the text after each administrative marker (省/市/区/县/镇/乡/街道), shortest prefix first.
fn without_admin_prefixes(normalized: &str) -> impl Iterator<Item = &str> {
    const MARKERS: [&str; 7] = ["省", "市", "区", "县", "镇", "乡", "街道"];
    normalized.char_indices().filter_map(move |(idx, _)| {
        let rest = &normalized[idx..];
        MARKERS
            .iter()
            .find(|m| rest.starts_with(*m))
            .map(|m| &normalized[idx + m.len()..])
            .filter(|r| !r.is_empty())
    })
}

/// Distinct character bigrams; a one-character text yields one (c, c) gram so it can still match.
fn bigrams(normalized: &str) -> Vec<(char, char)> {
    let chars: Vec<char> = normalized.chars().collect();
    let mut set = HashSet::new();
    if chars.len() == 1 {
        set.insert((chars[0], chars[0]));
    }
    for pair in chars.windows(2) {
        set.insert((pair[0], pair[1]));
    }
    let mut grams: Vec<(char, char)> = set.into_iter().collect();
    grams.sort_unstable();
    grams
}
