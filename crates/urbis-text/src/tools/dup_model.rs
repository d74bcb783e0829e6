//! The repeat model's part of the duplicate report: every message against the earlier ones that share at least
//! two rare words (document frequency at most [`RARE_DF`]) or a named place, judged by
//! [`RepeatModel::compare`] with IDF over the whole file; links are grouped with union-find.

use std::collections::HashMap;

use crate::insight::topics::{find, union};
use crate::repeat::{IdfTable, RepeatModel, RepeatProfile};
use crate::segment::Segmenter;
use crate::tools::dup::{Message, excerpt};

/// Words in more messages than this are not used to find candidates (they still count in the score).
const RARE_DF: usize = 60;
/// Most candidates judged per message (the ones sharing the most rare words).
const CANDIDATES_MAX: usize = 200;

/// Prints how many messages the repeat model links to an earlier one, and a few reworded examples.
pub(crate) fn report(messages: &[Message], examples: usize) {
    let segmenter = Segmenter::shared_default();
    let profiles: Vec<RepeatProfile> = messages
        .iter()
        .map(|m| RepeatProfile::build(segmenter, &m.title, &m.body, Some(&m.user), m.time))
        .collect();
    let mut idf = IdfTable::new();
    let mut postings: HashMap<u64, Vec<usize>> = HashMap::new();
    for (i, p) in profiles.iter().enumerate() {
        idf.add_document(&p.words);
        for &w in &p.words {
            postings.entry(w).or_default().push(i);
        }
        for place in &p.places {
            postings
                .entry(crate::repeat::hash_str(&format!("place:{}", place.core)))
                .or_default()
                .push(i);
        }
    }
    postings.retain(|_, list| list.len() <= RARE_DF);
    let model = RepeatModel::default();
    let n = messages.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let (mut linked, mut same_user, mut reworded) = (0usize, 0usize, 0usize);
    let mut samples: Vec<(usize, usize, String)> = Vec::new();
    // Messages are in time order: each is judged against earlier ones only.
    let mut shared: HashMap<usize, u32> = HashMap::new();
    for i in 0..n {
        shared.clear();
        let p = &profiles[i];
        let keys = p.words.iter().copied().chain(
            p.places
                .iter()
                .map(|pl| crate::repeat::hash_str(&format!("place:{}", pl.core))),
        );
        for key in keys {
            if let Some(list) = postings.get(&key) {
                for &j in list.iter().take_while(|&&j| j < i) {
                    *shared.entry(j).or_insert(0) += 1;
                }
            }
        }
        let mut candidates: Vec<(usize, u32)> = shared
            .iter()
            .filter(|(_, c)| **c >= 2)
            .map(|(j, c)| (*j, *c))
            .collect();
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        candidates.truncate(CANDIDATES_MAX);
        let best = candidates
            .iter()
            .map(|&(j, _)| (j, model.compare(p, &profiles[j], &idf)))
            .filter(|(_, e)| e.linked)
            .max_by(|a, b| a.1.score.total_cmp(&b.1.score));
        if let Some((j, explanation)) = best {
            linked += 1;
            same_user +=
                usize::from(!messages[i].user.is_empty() && messages[i].user == messages[j].user);
            union(&mut parent, i, j);
            if p.signature.estimate(&profiles[j].signature) < 0.5 {
                reworded += 1;
                samples.push((j, i, explanation.render_zh()));
            }
        }
    }
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for i in 0..n {
        *sizes.entry(find(&mut parent, i)).or_insert(0) += 1;
    }
    let groups = sizes.values().filter(|&&s| s > 1).count();
    println!(
        "repeat model     {linked} messages repeat an earlier one (threshold {:.2}, place check on); {reworded} of them reworded (MinHash < 0.5); {:.0}% by the same user; {groups} groups; {n} messages would become {} cases",
        model.threshold,
        if linked == 0 {
            0.0
        } else {
            100.0 * same_user as f64 / linked as f64
        },
        n - linked
    );
    let step = (samples.len() / examples.max(1)).max(1);
    for (earlier, later, why) in samples.iter().step_by(step).take(examples) {
        println!("--- reworded repeat: {why}");
        println!("  earlier: {}", excerpt(&messages[*earlier].text));
        println!("  later:   {}", excerpt(&messages[*later].text));
    }
}
