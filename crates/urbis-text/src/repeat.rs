//! Repeat detection that survives rewording: is a new appeal about the same problem as an earlier one?
//!
//! Character 3-gram MinHash ([`crate::dedup`]) is precise but finds only re-posts with light edits; a resident
//! writing again in other words, or a neighbour describing the same broken street light, shares words and the
//! place, not 3-grams. [`RepeatModel::compare`] combines, for two [`RepeatProfile`]s:
//!
//! - the MinHash estimate of the character 3-gram Jaccard similarity;
//! - the IDF-weighted overlap of content words (jieba words minus letter boilerplate) against the shorter text,
//!   with IDF from the city's own appeals ([`IdfTable`]);
//! - the same overlap between the two titles, and between the eight rarest words of each text (key terms);
//! - the place check: the named 小区/学校/单位/路 of both must agree, or one must name none — a copy of one
//!   template about another 小区 is never a repeat, whatever the text similarity;
//! - how much of each title's problem words the other text has (the smaller of the two directions), alone and
//!   together with an agreeing place, since two problems at one estate share the place and words about it;
//! - the same reporter (account or phone) as strong evidence, and the time between the two.
//!
//! Each signal adds `weight × value` to a logit; the logistic of the sum is the score, a probability calibrated
//! on hand-labelled pairs of the city's appeals (`tests/data/repeat_pairs_dev.csv`, see README there).
//! [`RepeatExplanation`] lists every signal's value and contribution and renders them in Chinese for the dispatcher.

mod index;
mod lexicon;
mod profile;

pub use index::{RepeatIndex, RepeatMatch};
pub use profile::{
    IdfTable, Place, PlaceKind, RepeatProfile, content_words, cores_agree, hash_str, places,
};

/// Number of signals the model weighs.
pub const SIGNAL_COUNT: usize = 10;

/// Signals in the order of [`RepeatModel::weights`] (after the intercept).
pub const SIGNALS: [Signal; SIGNAL_COUNT] = [
    Signal::CharacterSimilarity,
    Signal::WordOverlap,
    Signal::TitleOverlap,
    Signal::KeyTerms,
    Signal::PlaceAgrees,
    Signal::PlaceConflicts,
    Signal::SameReporter,
    Signal::TimeProximity,
    Signal::TitlesCovered,
    Signal::PlaceAndTitles,
];

/// Fewest content words a title needs for the title signals (with fewer they are read off the texts' words).
pub const MIN_TITLE_WORDS: usize = 2;
/// Number of rarest words compared as key terms.
const KEY_TERMS: usize = 8;
/// Least share of the problem's words (text, or title and each title's problem in the other text; place names
/// excluded) two appeals must share to link.
pub const MIN_TOPIC_OVERLAP: f32 = 0.25;
/// Character 3-gram similarity (MinHash estimate) from which an appeal is a light edit of the other and links
/// whatever the score, as with the MinHash-only rule this model replaces — unless the places conflict.
pub const NEAR_COPY: f32 = 0.9;
/// Word overlap, key-term overlap and title coverage from which an appeal retells the other in its
/// own words and links whatever the score, unless the places conflict (chosen on the development pairs).
pub const SAME_WORDS: (f32, f32, f32) = (0.8, 0.75, 0.5);
/// Days over which time proximity halves.
const TIME_HALF_LIFE_DAYS: f64 = 14.0;

/// One piece of evidence about a pair of appeals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    CharacterSimilarity,
    WordOverlap,
    TitleOverlap,
    KeyTerms,
    PlaceAgrees,
    PlaceConflicts,
    SameReporter,
    TimeProximity,
    TitlesCovered,
    PlaceAndTitles,
}

impl Signal {
    /// Stable English key (for logs and JSON).
    pub fn key(self) -> &'static str {
        match self {
            Signal::CharacterSimilarity => "character_similarity",
            Signal::WordOverlap => "word_overlap",
            Signal::TitleOverlap => "title_overlap",
            Signal::KeyTerms => "key_terms",
            Signal::PlaceAgrees => "place_agrees",
            Signal::PlaceConflicts => "place_conflicts",
            Signal::SameReporter => "same_reporter",
            Signal::TimeProximity => "time_proximity",
            Signal::TitlesCovered => "titles_covered",
            Signal::PlaceAndTitles => "place_and_titles",
        }
    }

    /// Chinese name shown to the dispatcher.
    pub fn label_zh(self) -> &'static str {
        match self {
            Signal::CharacterSimilarity => "字面相似度",
            Signal::WordOverlap => "用词重合",
            Signal::TitleOverlap => "标题重合",
            Signal::KeyTerms => "关键词重合",
            Signal::PlaceAgrees => "地点一致",
            Signal::PlaceConflicts => "地点不同",
            Signal::SameReporter => "同一反映人",
            Signal::TimeProximity => "时间接近",
            Signal::TitlesCovered => "标题所述问题互见",
            Signal::PlaceAndTitles => "同地且标题问题互见",
        }
    }
}

/// The place check between two appeals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlaceCheck {
    /// Both name this place (the name as the earlier appeal wrote it).
    Agrees(String),
    /// Both name places of the same kind and none agrees: the first of each.
    Conflicts(String, String),
    /// At least one names no place of a kind the other names.
    Unnamed,
}

/// One signal's value and what it added to the logit.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub signal: Signal,
    /// The signal's value, 0 to 1.
    pub value: f32,
    /// `weight × value`.
    pub contribution: f32,
}

/// Why two appeals were (or were not) judged the same problem.
#[derive(Clone, Debug, PartialEq)]
pub struct RepeatExplanation {
    /// Calibrated probability that both are about the same problem.
    pub score: f32,
    /// The threshold the score was held against.
    pub threshold: f32,
    /// True when the score reaches the threshold (or the texts are near copies, [`NEAR_COPY`], or retell
    /// each other in the same words, [`SAME_WORDS`]), the places do not conflict and at least
    /// [`MIN_TOPIC_OVERLAP`] of the problem's words are shared (of the titles' words, only when
    /// each title's problem is found in the other text to that share too).
    pub linked: bool,
    pub place: PlaceCheck,
    /// The intercept of the logit.
    pub base: f32,
    pub contributions: Vec<Contribution>,
    /// One appeal had no title, or one of fewer than [`MIN_TITLE_WORDS`] content words, so the two
    /// title signals were read off the whole texts' words.
    pub titles_from_text: bool,
}

impl RepeatExplanation {
    /// The value of one signal (0 when not listed).
    pub fn value(&self, signal: Signal) -> f32 {
        self.contributions
            .iter()
            .find(|c| c.signal == signal)
            .map_or(0.0, |c| c.value)
    }

    /// Renders the explanation in Chinese for the dispatcher, e.g.
    /// `判定为同一问题（可信度 0.93，阈值 0.70）：用词重合 62%（+2.9）；地点一致「丽发新城小区」（+1.1）；…`.
    pub fn render_zh(&self) -> String {
        let verdict = if self.linked {
            "判定为同一问题"
        } else if matches!(self.place, PlaceCheck::Conflicts(..)) {
            "不合并：地点不同"
        } else if self.score >= self.threshold
            || self.value(Signal::CharacterSimilarity) >= NEAR_COPY
        {
            "不合并：问题用词重合太少"
        } else {
            "不合并"
        };
        let mut parts: Vec<String> = Vec::new();
        for c in &self.contributions {
            if c.value == 0.0 {
                continue;
            }
            let what = match (c.signal, &self.place) {
                (Signal::PlaceAgrees, PlaceCheck::Agrees(name)) => format!("地点一致「{name}」"),
                (Signal::PlaceConflicts, PlaceCheck::Conflicts(a, b)) => {
                    format!("地点不同「{a}」与「{b}」")
                }
                (Signal::SameReporter | Signal::PlaceAgrees | Signal::PlaceConflicts, _) => {
                    c.signal.label_zh().to_owned()
                }
                (Signal::TitleOverlap | Signal::TitlesCovered, _) if self.titles_from_text => {
                    format!(
                        "{}（标题无足够实词，按全文）{:.0}%",
                        c.signal.label_zh(),
                        c.value * 100.0
                    )
                }
                _ => format!("{} {:.0}%", c.signal.label_zh(), c.value * 100.0),
            };
            parts.push(format!("{what}（{:+.1}）", c.contribution));
        }
        format!(
            "{verdict}（可信度 {:.2}，阈值 {:.2}）：{}",
            self.score,
            self.threshold,
            parts.join("；")
        )
    }
}

/// The fitted repeat model: an intercept, one weight per [`SIGNALS`] entry and the link threshold.
#[derive(Clone, Debug, PartialEq)]
pub struct RepeatModel {
    pub intercept: f32,
    pub weights: [f32; SIGNAL_COUNT],
    pub threshold: f32,
}

impl Default for RepeatModel {
    /// Weights fitted by logistic regression on the development pairs (`urbis text dup-eval --fit`), threshold
    /// chosen there for precision of at least 0.97.
    fn default() -> RepeatModel {
        RepeatModel {
            intercept: -1.595,
            weights: [
                0.508, 0.428, 0.370, 0.296, 2.179, -0.759, 0.050, 0.901, 0.896, 1.003,
            ],
            threshold: 0.70,
        }
    }
}

impl RepeatModel {
    /// Returns the signal values for a pair (in [`SIGNALS`] order) and the place check.
    pub fn signals(
        &self,
        a: &RepeatProfile,
        b: &RepeatProfile,
        idf: &IdfTable,
    ) -> ([f32; SIGNAL_COUNT], PlaceCheck) {
        self.signals_weighed(&Weighed::new(a, idf), &Weighed::new(b, idf), idf)
    }

    /// [`RepeatModel::signals`] of two profiles weighed beforehand (one side of many comparisons is
    /// weighed once).
    pub fn signals_weighed(
        &self,
        wa: &Weighed<'_>,
        wb: &Weighed<'_>,
        idf: &IdfTable,
    ) -> ([f32; SIGNAL_COUNT], PlaceCheck) {
        let place = place_check(&wa.profile.places, &wb.profile.places);
        (self.signals_related(wa, wb, idf, (&place).into()), place)
    }

    /// [`RepeatModel::signals_weighed`] of a pair whose place check is already known, its names
    /// borrowed: the repeat index scores every candidate with it and copies names only for the
    /// ones it explains.
    pub(crate) fn signals_related(
        &self,
        wa: &Weighed<'_>,
        wb: &Weighed<'_>,
        idf: &IdfTable,
        place: Relation<'_>,
    ) -> [f32; SIGNAL_COUNT] {
        let (a, b) = (wa.profile, wb.profile);
        let time = match (a.timestamp, b.timestamp) {
            (Some(x), Some(y)) => {
                let days = (x - y).unsigned_abs() as f64 / 86_400.0;
                0.5f64.powf(days / TIME_HALF_LIFE_DAYS) as f32
            }
            _ => 0.0,
        };
        let same_reporter = matches!((a.reporter, b.reporter), (Some(x), Some(y)) if x == y);
        let words = shared_weight(&a.words, wa.words_total, &b.words, wb.words_total, idf);
        // The weights were fitted on appeals that all have titles; a pair where one has none (a
        // hotline call, an API client) reads the title signals off the words, not as nothing shared.
        // So does a pair where a title is down to one word once places, districts and boilerplate
        // are left out: "咨询A4区洪山公园建设问题" is "建设", a word of "请A市加快一圈二场三道建设
        // 力度" too, and all of the shorter title would be shared.
        let titled = titles_usable(a, b);
        let title_overlap = if titled {
            shared_weight(
                &a.title_words,
                wa.title_total,
                &b.title_words,
                wb.title_total,
                idf,
            )
        } else {
            words
        };
        let coverage = if titled {
            titles_covered(wa, wb, idf)
        } else {
            words
        };
        // Two problems at one place share the place and often words about it; what tells them
        // apart is whether each title's problem is found in the other. Weighed on its own, the
        // place outvotes that; counted again with the place, both must hold.
        let place_agrees = matches!(place, Relation::Agrees(_));
        [
            a.signature.estimate(&b.signature),
            words,
            title_overlap,
            key_share(&wa.keys, &a.words, &wb.keys, &b.words),
            f32::from(u8::from(place_agrees)),
            f32::from(u8::from(matches!(place, Relation::Conflicts(..)))),
            f32::from(u8::from(same_reporter)),
            time,
            coverage,
            if place_agrees { coverage } else { 0.0 },
        ]
    }

    /// Compares two appeals and explains the verdict.
    pub fn compare(
        &self,
        a: &RepeatProfile,
        b: &RepeatProfile,
        idf: &IdfTable,
    ) -> RepeatExplanation {
        self.compare_weighed(&Weighed::new(a, idf), &Weighed::new(b, idf), idf)
    }

    /// [`RepeatModel::compare`] of two profiles weighed beforehand.
    pub fn compare_weighed(
        &self,
        a: &Weighed<'_>,
        b: &Weighed<'_>,
        idf: &IdfTable,
    ) -> RepeatExplanation {
        let (values, place) = self.signals_weighed(a, b, idf);
        self.explain_weighed(values, place, a, b)
    }

    /// [`RepeatModel::explain`] of the signals of two weighed profiles (it notes whether the title
    /// signals were read off the words).
    pub fn explain_weighed(
        &self,
        values: [f32; SIGNAL_COUNT],
        place: PlaceCheck,
        a: &Weighed<'_>,
        b: &Weighed<'_>,
    ) -> RepeatExplanation {
        let mut explanation = self.explain(values, place);
        explanation.titles_from_text = !titles_usable(a.profile, b.profile);
        explanation
    }

    /// The score of precomputed signal values and whether they link (see
    /// [`RepeatExplanation::linked`]), without building the explanation.
    pub fn verdict(&self, values: &[f32; SIGNAL_COUNT], place: &PlaceCheck) -> (f32, bool) {
        self.verdict_related(values, place.into())
    }

    /// [`RepeatModel::verdict`] with the place check's names borrowed.
    pub(crate) fn verdict_related(
        &self,
        values: &[f32; SIGNAL_COUNT],
        place: Relation<'_>,
    ) -> (f32, bool) {
        let logit = self.intercept
            + values
                .iter()
                .zip(self.weights)
                .map(|(value, weight)| weight * value)
                .sum::<f32>();
        let score = 1.0 / (1.0 + (-logit).exp());
        // Place and time alone never make a repeat: some words about the problem itself must be
        // shared — a quarter of the words, or a quarter of the titles' words when each title's
        // problem is found in the other text to a quarter too. Two titles about one place share
        // words like 公共通道 or 扰民 whatever the problem; what the titles do not share tells.
        let topical = values[1] >= MIN_TOPIC_OVERLAP
            || (values[2] >= MIN_TOPIC_OVERLAP && values[8] >= MIN_TOPIC_OVERLAP);
        // A re-post with light edits links as it always did, unless the places conflict.
        // So does a retelling in the same words: most words, most key terms and the titles' problem
        // shared, with no place named against it (an unnamed place keeps the score below the line).
        let near_copy = values[0] >= NEAR_COPY
            || (values[1] >= SAME_WORDS.0
                && values[3] >= SAME_WORDS.1
                && values[8] >= SAME_WORDS.2);
        let linked = (score >= self.threshold || near_copy)
            && topical
            && !matches!(place, Relation::Conflicts(..));
        (score, linked)
    }

    /// Scores precomputed signal values.
    pub fn explain(&self, values: [f32; SIGNAL_COUNT], place: PlaceCheck) -> RepeatExplanation {
        let contributions: Vec<Contribution> = SIGNALS
            .iter()
            .zip(values)
            .zip(self.weights)
            .map(|((&signal, value), weight)| Contribution {
                signal,
                value,
                contribution: weight * value,
            })
            .collect();
        let (score, linked) = self.verdict(&values, &place);
        RepeatExplanation {
            score,
            threshold: self.threshold,
            linked,
            place,
            base: self.intercept,
            contributions,
            titles_from_text: false,
        }
    }
}

/// A profile with what every comparison reads of it under one IDF table: the total weight of its
/// words and of its title words, and its key terms.
pub struct Weighed<'p> {
    profile: &'p RepeatProfile,
    words_total: f32,
    title_total: f32,
    keys: KeyTerms,
}

impl<'p> Weighed<'p> {
    /// Weighs a profile under `idf`: each word is looked up once, for the total and the key terms alike.
    pub fn new(profile: &'p RepeatProfile, idf: &IdfTable) -> Weighed<'p> {
        let (words_total, keys) = weigh(&profile.words, idf);
        Weighed {
            profile,
            words_total,
            title_total: total_weight(&profile.title_words, idf),
            keys,
        }
    }
}

fn total_weight(words: &[u64], idf: &IdfTable) -> f32 {
    words.iter().map(|&w| idf.weight(w)).sum()
}

/// A text's [`KEY_TERMS`] highest-IDF words, best first, kept inline: the repeat index weighs
/// every candidate it scores, and a heap allocation each was a measurable share of that.
#[derive(Clone, Copy, Debug, Default)]
struct KeyTerms {
    ranked: [(f32, u64); KEY_TERMS],
    len: usize,
}

impl KeyTerms {
    /// Offers a word of this weight; kept when among the best so far (higher weight first, then
    /// the smaller hash).
    fn offer(&mut self, weight: f32, word: u64) {
        let before = |x: &(f32, u64)| weight.total_cmp(&x.0).then(x.1.cmp(&word)).is_gt();
        let at = self.ranked[..self.len]
            .iter()
            .position(before)
            .unwrap_or(self.len);
        if at == KEY_TERMS {
            return;
        }
        let end = self.len.min(KEY_TERMS - 1);
        self.ranked.copy_within(at..end, at + 1);
        self.ranked[at] = (weight, word);
        self.len = (self.len + 1).min(KEY_TERMS);
    }

    fn words(&self) -> impl Iterator<Item = u64> + '_ {
        self.ranked[..self.len].iter().map(|&(_, word)| word)
    }

    fn len(&self) -> usize {
        self.len
    }
}

/// The total IDF weight of `words` and their [`KEY_TERMS`] highest-IDF words (ties: the smaller hash).
fn weigh(words: &[u64], idf: &IdfTable) -> (f32, KeyTerms) {
    let (mut total, mut keys) = (0.0f32, KeyTerms::default());
    for &word in words {
        let weight = idf.weight(word);
        total += weight;
        keys.offer(weight, word);
    }
    (total, keys)
}

/// The [`KEY_TERMS`] highest-IDF words (ties: the smaller hash).
fn key_terms(words: &[u64], idf: &IdfTable) -> KeyTerms {
    weigh(words, idf).1
}

/// True when both titles have at least [`MIN_TITLE_WORDS`] content words, so the title signals
/// are read off the titles; otherwise they are read off the texts' words.
fn titles_usable(a: &RepeatProfile, b: &RepeatProfile) -> bool {
    a.title_words.len() >= MIN_TITLE_WORDS && b.title_words.len() >= MIN_TITLE_WORDS
}

/// How well each title's problem words are found in the other appeal's whole text: the IDF-weighted
/// share of one title's words that the other text has, the smaller of the two directions. Two
/// problems at one place each name their own problem in the title, so one direction at least stays
/// low; a reworded repeat's title words recur in the other text. Called only when both titles are
/// usable ([`titles_usable`]; otherwise the signal is read off the words, see
/// [`RepeatModel::signals_weighed`]); every word weighs at least 1, so neither title's total is 0.
fn titles_covered(wa: &Weighed<'_>, wb: &Weighed<'_>, idf: &IdfTable) -> f32 {
    let covered = |w: &Weighed<'_>, other: &Weighed<'_>| {
        let shared: f32 = w
            .profile
            .title_words
            .iter()
            .filter(|word| other.profile.words.binary_search(word).is_ok())
            .map(|&word| idf.weight(word))
            .sum();
        (shared / w.title_total).min(1.0)
    };
    covered(wa, wb).min(covered(wb, wa))
}

/// Sum of the IDF weights of the shared words over the smaller of the two texts' totals (0 when either is empty).
pub fn weighted_overlap(a: &[u64], b: &[u64], idf: &IdfTable) -> f32 {
    shared_weight(a, total_weight(a, idf), b, total_weight(b, idf), idf)
}

/// [`weighted_overlap`] with both totals known.
fn shared_weight(a: &[u64], total_a: f32, b: &[u64], total_b: f32, idf: &IdfTable) -> f32 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0.0f32);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += idf.weight(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    (shared / total_a.min(total_b)).min(1.0)
}

/// Share of the rarer text's key terms (its [`KEY_TERMS`] highest-IDF words) that the other text also has.
pub fn key_term_overlap(a: &[u64], b: &[u64], idf: &IdfTable) -> f32 {
    key_share(&key_terms(a, idf), a, &key_terms(b, idf), b)
}

/// [`key_term_overlap`] with both texts' key terms known.
fn key_share(ka: &KeyTerms, a: &[u64], kb: &KeyTerms, b: &[u64]) -> f32 {
    if ka.len() == 0 || kb.len() == 0 {
        return 0.0;
    }
    let hits_a = ka.words().filter(|w| b.binary_search(w).is_ok()).count();
    let hits_b = kb.words().filter(|w| a.binary_search(w).is_ok()).count();
    let share_a = hits_a as f32 / ka.len() as f32;
    let share_b = hits_b as f32 / kb.len() as f32;
    share_a.max(share_b)
}

/// The place check. Places agree when the first-named site (else road) of one appeal matches any place the other
/// names — an incidental mention ("在麓谷工业园上班") does not make two estates one. When no such match exists and
/// both name a site (or, naming no site, both name a road), the places conflict; otherwise one is unnamed.
pub fn place_check(a: &[Place], b: &[Place]) -> PlaceCheck {
    relate_places(a, b).to_check()
}

/// [`PlaceCheck`] with the names borrowed from the profiles: the repeat index judges every
/// candidate by it and copies names only for the ones it scores.
#[derive(Clone, Copy)]
pub(crate) enum Relation<'p> {
    Agrees(&'p str),
    Conflicts(&'p str, &'p str),
    Unnamed,
}

impl Relation<'_> {
    /// The place check with its names copied.
    pub(crate) fn to_check(self) -> PlaceCheck {
        match self {
            Relation::Agrees(name) => PlaceCheck::Agrees(name.to_owned()),
            Relation::Conflicts(x, y) => PlaceCheck::Conflicts(x.to_owned(), y.to_owned()),
            Relation::Unnamed => PlaceCheck::Unnamed,
        }
    }
}

impl<'p> From<&'p PlaceCheck> for Relation<'p> {
    fn from(check: &'p PlaceCheck) -> Relation<'p> {
        match check {
            PlaceCheck::Agrees(name) => Relation::Agrees(name),
            PlaceCheck::Conflicts(x, y) => Relation::Conflicts(x, y),
            PlaceCheck::Unnamed => Relation::Unnamed,
        }
    }
}

/// [`place_check`] without copying a name.
pub(crate) fn relate_places<'p>(a: &'p [Place], b: &'p [Place]) -> Relation<'p> {
    fn primary(places: &[Place]) -> Option<&Place> {
        places
            .iter()
            .find(|p| p.kind == PlaceKind::Site)
            .or_else(|| places.first())
    }
    fn first(places: &[Place], kind: PlaceKind) -> Option<&Place> {
        places.iter().find(|p| p.kind == kind)
    }
    for (main, others) in [(primary(a), b), (primary(b), a)] {
        let Some(main) = main else { continue };
        if let Some(other) = others.iter().find(|o| cores_agree(&main.core, &o.core)) {
            let name = if main.name.chars().count() >= other.name.chars().count() {
                &main.name
            } else {
                &other.name
            };
            return Relation::Agrees(name);
        }
    }
    for kind in [PlaceKind::Site, PlaceKind::Road] {
        match (first(a, kind), first(b, kind)) {
            (Some(x), Some(y)) => return Relation::Conflicts(&x.name, &y.name),
            (None, None) => continue,
            _ => return Relation::Unnamed,
        }
    }
    Relation::Unnamed
}

#[cfg(test)]
mod tests;
