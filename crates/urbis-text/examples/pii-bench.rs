//! Measures the personal-data masker on the tipdm2020c 附件 message sets and prints messages per second:
//!
//! ```text
//! cargo run --release -p urbis-text --example pii-bench [-- DATA_DIR [ROUNDS [show]]]
//! ```
//!
//! `DATA_DIR` defaults to `../shared/data/tipdm2020c` beside the repository. Each set is masked `ROUNDS` times
//! (default 5) and the best round is reported, with the number of spans found per kind. `show` also prints
//! every span with some context, for reviewing what the masker takes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use urbis_text::pii;

/// A message set: file name and the columns whose text is masked (joined by a space per message).
const SETS: &[(&str, &[&str])] = &[
    ("hotspot_messages_附件3.csv", &["留言主题", "留言详情"]),
    ("replies_附件4.csv", &["留言主题", "留言详情"]),
    ("replies_附件4.csv", &["答复意见"]),
];

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/tipdm2020c"),
        PathBuf::from,
    );
    let rounds: usize = args
        .next()
        .map_or(5, |r| r.parse().expect("ROUNDS is a number"));
    let show = args.next().is_some_and(|a| a == "show");
    for (file, columns) in SETS {
        let path = dir.join(file);
        let Ok(mut reader) = csv::Reader::from_path(&path) else {
            println!("skipping {}: not found", path.display());
            continue;
        };
        let headers: Vec<String> = reader
            .headers()
            .expect("header row")
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_owned())
            .collect();
        let indexes: Vec<usize> = columns
            .iter()
            .map(|c| headers.iter().position(|h| h == c).expect("column"))
            .collect();
        let texts: Vec<String> = reader
            .records()
            .map(|r| {
                let r = r.expect("record");
                indexes
                    .iter()
                    .map(|&i| r.get(i).unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let bytes: usize = texts.iter().map(String::len).sum();
        let mut best = f64::INFINITY;
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for round in 0..rounds {
            let started = Instant::now();
            let mut masked_bytes = 0;
            for text in &texts {
                masked_bytes += std::hint::black_box(pii::mask(text)).len();
            }
            best = best.min(started.elapsed().as_secs_f64());
            std::hint::black_box(masked_bytes);
            if round == 0 {
                for text in &texts {
                    for span in pii::detect(text) {
                        *kinds.entry(span.kind.as_str()).or_default() += 1;
                        if show {
                            let before = text[..span.start]
                                .chars()
                                .rev()
                                .take(12)
                                .collect::<Vec<_>>();
                            let before: String = before.into_iter().rev().collect();
                            let after: String = text[span.end..].chars().take(12).collect();
                            println!(
                                "{:<9} {before}[{}]{after}",
                                span.kind.as_str(),
                                &text[span.start..span.end]
                            );
                        }
                    }
                }
            }
        }
        println!(
            "{file} [{}]: {} messages, {:.1} MB, best of {rounds}: {:.1} ms = {:.0} messages/s, {:.1} MB/s; spans {kinds:?}",
            columns.join("+"),
            texts.len(),
            bytes as f64 / 1e6,
            best * 1e3,
            texts.len() as f64 / best,
            bytes as f64 / 1e6 / best,
        );
    }
}
