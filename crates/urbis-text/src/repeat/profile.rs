//! What the repeat model keeps per appeal: hashed content words of the title and the whole text, the named
//! places, the MinHash signature, the reporter (hashed) and the time. No text is retained except the short
//! place names, which the dispatcher's explanation quotes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use crate::dedup::{Signature, normalize};
use crate::segment::Segmenter;

use super::lexicon::{
    GENERIC_CORES, NAME_TAGS, NOT_A_NAME, NOT_A_PLACE, ROAD_NAME_TAGS, ROAD_SUFFIXES,
    SITE_SUFFIXES, STOP_WORDS,
};

/// Most place names kept per appeal.
const MAX_PLACES: usize = 8;
/// Most content words kept per appeal (the rest of a very long text adds little).
const MAX_WORDS: usize = 400;
/// Longest place name core kept, in characters.
const MAX_CORE_CHARS: usize = 10;

/// Whether a named place is a site (estate, school, unit) or a road.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PlaceKind {
    Site,
    Road,
}

/// A named place in an appeal: the name as written (suffix included) and its core (the name before the suffix,
/// normalised), which is what two appeals are compared on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub kind: PlaceKind,
    pub name: String,
    pub core: String,
}

/// Hashes a word key that is already a 64-bit hash ([`hash_str`]) with one multiply-and-shift
/// finalisation instead of SipHash: the IDF table is read for every word of every pair compared, and
/// its keys come from our own hash, not from an adversary's choice of key bits alone. The repeat
/// index keys its profiles by case id with it too.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        let x = self.0 ^ (self.0 >> 33);
        x.wrapping_mul(0xFF51_AFD7_ED55_8CCD) ^ (x >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }

    /// A case id is keyed like a word hash: the finalisation alone spreads it.
    fn write_i64(&mut self, id: i64) {
        self.write_u64(id as u64);
    }
}

/// Document frequencies of content words over a corpus (the city's own appeals), for IDF weights.
/// Words are kept as 64-bit hashes, each with `ln(df + 1)` beside its count, so that a weight is one
/// lookup and a subtraction: the repeat index weighs every word of every candidate it scores.
#[derive(Clone, Debug, Default)]
pub struct IdfTable {
    documents: u32,
    /// `ln(documents + 1)`.
    ln_documents: f64,
    frequency: HashMap<u64, Frequency, std::hash::BuildHasherDefault<WordHasher>>,
}

/// A word's document frequency and `ln(df + 1)`.
#[derive(Clone, Copy, Debug, Default)]
struct Frequency {
    count: u32,
    ln: f64,
}

impl IdfTable {
    /// Returns an empty table: every word weighs the same until documents are added.
    pub fn new() -> IdfTable {
        IdfTable::default()
    }

    /// Counts one document's distinct words.
    pub fn add_document(&mut self, words: &[u64]) {
        self.documents = self.documents.saturating_add(1);
        self.ln_documents = (f64::from(self.documents) + 1.0).ln();
        for word in words {
            let entry = self.frequency.entry(*word).or_default();
            entry.count = entry.count.saturating_add(1);
            entry.ln = (f64::from(entry.count) + 1.0).ln();
        }
    }

    /// Returns the number of documents counted.
    pub fn documents(&self) -> u32 {
        self.documents
    }

    /// Returns the IDF weight of a word: `ln((N + 1) / (df + 1)) + 1`, so an unseen word weighs most
    /// and a word in every document weighs 1.
    pub fn weight(&self, word: u64) -> f32 {
        (self.ln_documents - self.ln_frequency(word)) as f32 + 1.0
    }

    /// `ln(df + 1)` of a word (0 for an unseen word).
    fn ln_frequency(&self, word: u64) -> f64 {
        self.frequency.get(&word).map_or(0.0, |f| f.ln)
    }
}

/// The compact description of one appeal that the repeat model compares.
#[derive(Clone, Debug)]
pub struct RepeatProfile {
    /// MinHash of the character 3-grams of title and text.
    pub signature: Signature,
    /// Sorted, distinct hashes of the content words of title and text.
    pub words: Vec<u64>,
    /// Sorted, distinct hashes of the content words of the title alone (empty without a title).
    pub title_words: Vec<u64>,
    /// Named places, in order of first mention.
    pub places: Vec<Place>,
    /// A hash of the reporter's identity (account or phone), when known.
    pub reporter: Option<u64>,
    /// When the appeal came in, in seconds (any epoch, the same for all profiles compared).
    pub timestamp: Option<i64>,
}

impl RepeatProfile {
    /// Builds the profile of an appeal. `reporter` is any stable identity of the reporter (account id, phone);
    /// blank means unknown.
    pub fn build(
        segmenter: &Segmenter,
        title: &str,
        text: &str,
        reporter: Option<&str>,
        timestamp: Option<i64>,
    ) -> RepeatProfile {
        let full = format!("{title}。{text}");
        let tagged = tag_before_places(segmenter, &full);
        let places = places(&tagged);
        // The title's tokens are the first ones of the whole: jieba cuts at the "。" that follows it.
        let title_end = if title.trim().is_empty() {
            0
        } else {
            title.len()
        };
        let (mut words, mut title_words) = (Vec::new(), Vec::new());
        for (token, _) in &tagged {
            let Some(word) = content_word(token) else {
                continue;
            };
            // Words of place names are left to the place check: two problems at one estate share them.
            // So are the names of districts and towns: intake compares appeals of one area anyway.
            if places.iter().any(|p| contains_bytes(&p.name, &word)) || names_admin_area(&word) {
                continue;
            }
            let hash = hash_str(&word);
            let offset = token.as_ptr() as usize - full.as_ptr() as usize;
            if offset + token.len() <= title_end && title_words.len() < MAX_WORDS {
                title_words.push(hash);
            }
            if words.len() < MAX_WORDS {
                words.push(hash);
            }
        }
        for list in [&mut words, &mut title_words] {
            list.sort_unstable();
            list.dedup();
        }
        RepeatProfile {
            signature: Signature::of(&full),
            words,
            title_words,
            places,
            reporter: reporter
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| hash_str(&normalize(r))),
            timestamp,
        }
    }
}

impl RepeatProfile {
    /// The profile the MinHash-only rule needs: the character 3-gram signature and the time, no words,
    /// places or reporter (nothing is segmented). Compared with [`RepeatModel`](crate::repeat::RepeatModel) it
    /// never links on words; the caller judges it by the signature estimate alone.
    pub fn near_copy(title: &str, text: &str, timestamp: Option<i64>) -> RepeatProfile {
        RepeatProfile {
            signature: Signature::of(&format!("{title}。{text}")),
            words: Vec::new(),
            title_words: Vec::new(),
            places: Vec::new(),
            reporter: None,
            timestamp,
        }
    }
}

/// Returns the sorted, distinct hashes of the content words among `tokens`: at least two characters,
/// not boilerplate, not all digits, Latin lowercased.
pub fn content_words(tokens: &[&str]) -> Vec<u64> {
    let mut words: Vec<u64> = tokens
        .iter()
        .filter_map(|t| content_word(t))
        .take(MAX_WORDS)
        .map(|t| hash_str(&t))
        .collect();
    words.sort_unstable();
    words.dedup();
    words
}

/// A token's normalised form when it is a content word (see [`content_words`]); borrowed when
/// normalising would not change it, which is most Chinese words.
fn content_word(token: &str) -> Option<Cow<'_, str>> {
    let plain = token.chars().all(|c| {
        is_alphanumeric(c) && !c.is_ascii_uppercase() && !('\u{FF01}'..='\u{FF5E}').contains(&c)
    });
    let word = if plain {
        Cow::Borrowed(token)
    } else {
        if !token.chars().any(is_alphanumeric) {
            return None;
        }
        Cow::Owned(normalize(token))
    };
    let keep = word.chars().nth(1).is_some()
        && !word.chars().all(|c| c.is_ascii_digit())
        && !stop_words().contains(word.as_ref());
    keep.then_some(word)
}

/// [`char::is_alphanumeric`] with the characters of Chinese text answered first: the general
/// test looks most of them up in a table, once for every character of every token.
fn is_alphanumeric(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || ('\u{4E00}'..='\u{9FFF}').contains(&c)
        || (!c.is_ascii() && c.is_alphanumeric())
}

/// [`STOP_WORDS`] as a set.
fn stop_words() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.iter().copied().collect())
}

/// Finds named places in a token stream (punctuation tokens included, they end a name): a token that is or
/// ends with a place suffix, with the one or two tokens before it when the token alone is too short to name
/// anything.
pub fn places(tagged: &[(&str, &str)]) -> Vec<Place> {
    let mut found: Vec<Place> = Vec::new();
    let tokens: Vec<&str> = tagged.iter().map(|(word, _)| *word).collect();
    for (i, token) in tokens.iter().enumerate() {
        let Some((kind, suffix)) = place_suffix(token) else {
            continue;
        };
        if NOT_A_PLACE.contains(token) {
            continue;
        }
        let mut core: String = token[..token.len() - suffix.len()].to_owned();
        // Prepend earlier tokens while the core is shorter than three characters.
        let mut j = i;
        while core.chars().count() < 3 && j > 0 && i - j < 2 {
            j -= 1;
            let (previous, tag) = tagged[j];
            if NOT_A_NAME.contains(&previous)
                || !(NAME_TAGS.iter().any(|t| tag.starts_with(t))
                    || (kind == PlaceKind::Road && ROAD_NAME_TAGS.iter().any(|t| tag.starts_with(t)))
                    // "魅力之城": the particle 之 joins the words of a name to its suffix.
                    || (previous == "之" && j + 1 == i && i >= 2))
                || stop_words().contains(previous)
                || !previous.chars().all(is_alphanumeric)
                || previous.chars().count() > 6
                || is_admin_area(previous)
                || place_suffix(previous).is_some_and(|(_, s)| s.len() == previous.len())
            {
                break;
            }
            core.insert_str(0, previous);
        }
        let mut core = normalize(&core);
        // "A2区丽发新城" may come cut as "a2" "区丽发" "新城": drop a leading administrative character.
        if core.chars().count() > 3 && core.starts_with(['区', '市', '县', '省', '镇']) {
            core = core.chars().skip(1).collect();
        }
        let chars = core.chars().count();
        if chars < 2
            || NOT_A_NAME.contains(&core.as_str())
            || core.starts_with([
                '一', '两', '几', '十', '多', '这', '那', '该', '本', '每', '各', '某', '此', '其',
            ])
            || (kind == PlaceKind::Road && core.ends_with('之'))
            || GENERIC_CORES.contains(&core.as_str())
            || core.chars().all(|c| c.is_ascii_alphanumeric())
        {
            continue;
        }
        let core: String = core
            .chars()
            .rev()
            .take(MAX_CORE_CHARS)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if found.iter().any(|p| p.core == core) {
            continue;
        }
        let name = format!("{core}{suffix}");
        found.push(Place { kind, name, core });
        if found.len() >= MAX_PLACES {
            break;
        }
    }
    found
}

/// Cuts `full` and tags only the tokens [`places`] reads a tag of: the two before each token with
/// a place suffix (the rest are tagged ""). The same as [`Segmenter::tag`] where `places` looks,
/// without guessing a tag for every word the dictionary lacks; a word whose tag cannot be told
/// alone has the whole text tagged.
fn tag_before_places<'a>(segmenter: &'a Segmenter, full: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut tagged: Vec<(&str, &str)> = segmenter.cut(full).into_iter().map(|t| (t, "")).collect();
    for i in 0..tagged.len() {
        if place_suffix(tagged[i].0).is_none() {
            continue;
        }
        for j in i.saturating_sub(2)..i {
            if !tagged[j].1.is_empty() {
                continue;
            }
            match segmenter.word_tag(tagged[j].0) {
                Some(tag) => tagged[j].1 = tag,
                None => return segmenter.tag(full),
            }
        }
    }
    tagged
}

/// The place suffix a token ends with, the longest one ("新村" before "村"; between two of one
/// length, a site's before a road's and the earlier in its list).
fn place_suffix(token: &str) -> Option<(PlaceKind, &'static str)> {
    let last = token.chars().next_back()?;
    suffixes_by_last_char()
        .get(&last)?
        .iter()
        .find(|(_, suffix)| token.ends_with(suffix))
        .copied()
}

/// Every place suffix under its last character, longest first: most tokens end in a character no
/// suffix ends in, and are rejected with one lookup instead of a test of each suffix.
fn suffixes_by_last_char() -> &'static HashMap<char, Vec<(PlaceKind, &'static str)>> {
    static MAP: OnceLock<HashMap<char, Vec<(PlaceKind, &'static str)>>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map: HashMap<char, Vec<(PlaceKind, &'static str)>> = HashMap::new();
        let all = SITE_SUFFIXES
            .iter()
            .map(|s| (PlaceKind::Site, *s))
            .chain(ROAD_SUFFIXES.iter().map(|s| (PlaceKind::Road, *s)));
        for (kind, suffix) in all {
            if let Some(last) = suffix.chars().next_back() {
                map.entry(last).or_default().push((kind, suffix));
            }
        }
        // A stable sort keeps the list order between suffixes of one length.
        for list in map.values_mut() {
            list.sort_by_key(|(_, suffix)| std::cmp::Reverse(suffix.len()));
        }
        map
    })
}

/// True for a plain 省/市/区/县/镇/乡 name of at most four characters ("岳麓区", "A市").
fn is_admin_name(token: &str) -> bool {
    token.ends_with(['省', '市', '区', '县', '镇', '乡']) && token.chars().count() <= 4
}

/// True for what may stand before a place suffix without naming the place: an administrative name
/// ([`is_admin_name`]) or a Latin token, as the data's anonymised "A3" of "A3区".
fn is_admin_area(token: &str) -> bool {
    is_admin_name(token) || token.chars().all(|c| c.is_ascii_alphanumeric())
}

/// True for a word that names a district, county or town ("岳麓区", "A3" of the data's "A3区"), not a
/// problem: an administrative name, or a short Latin code with a digit.
fn names_admin_area(word: &str) -> bool {
    is_admin_name(word)
        || (word.chars().count() <= 3
            && word.chars().all(|c| c.is_ascii_alphanumeric())
            && word.chars().any(|c| c.is_ascii_digit()))
}

/// `haystack.contains(needle)` for the short strings of place names and words, without the
/// searcher's set-up: a match of whole UTF-8 sequences always starts on a character boundary.
fn contains_bytes(haystack: &str, needle: &str) -> bool {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    n.is_empty() || h.windows(n.len()).any(|w| w == n)
}

/// True when two place cores name the same place: one contains the other (at least two characters).
pub fn cores_agree(a: &str, b: &str) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short.chars().nth(1).is_some() && contains_bytes(long, short)
}

/// FNV-1a over the bytes of `s`.
pub fn hash_str(s: &str) -> u64 {
    let mut hash = 0xCBF2_9CE4_8422_2325u64;
    for byte in s.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    hash
}

#[cfg(test)]
mod tests;
