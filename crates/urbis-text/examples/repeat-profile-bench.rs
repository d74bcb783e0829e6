//! Times what the repeat model costs an appeal before any comparison, in a warm loop on one core:
//! jieba's cut and tagging, the whole `RepeatProfile`, and the MinHash signature that the earlier
//! rule computes alone. Hotline-length texts, the kind `urbis bench intake --city` posts.
//!
//! ```text
//! cargo run --release -p urbis-text --example repeat-profile-bench
//! ```

use std::time::{Duration, Instant};

use urbis_text::dedup::Signature;
use urbis_text::repeat::RepeatProfile;
use urbis_text::segment::Segmenter;

const TEXTS: [&str; 5] = [
    "阳光花园路边垃圾桶满了好几天没人清运，味道很大，请尽快处理。",
    "您好，我想再反映一下，锦绣家园小区门口有一堆生活垃圾堆在路边，招了很多苍蝇。麻烦尽快处理，谢谢。",
    "幸福里人行道上堆了大量建筑材料，行人只能走机动车道，很危险。",
    "有人在丽发新城楼道外长期堆放杂物，影响通行和消防安全。",
    "东湖苑电线杆和墙上贴满了小广告，屡清屡贴，请管一管。",
];
const TITLE: &str = "市民来电";
const ROUNDS: usize = 20_000;

fn main() {
    let segmenter = Segmenter::shared_default();
    let full: Vec<String> = TEXTS.iter().map(|t| format!("{TITLE}。{t}")).collect();
    let per_text = |d: Duration| d.as_secs_f64() * 1e6 / (ROUNDS * TEXTS.len()) as f64;
    // Something to keep every result alive, so that nothing is optimised away.
    let mut kept = 0usize;
    for round in 1..=3 {
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for text in &full {
                kept += segmenter.cut(text).len();
            }
        }
        let cut = started.elapsed();
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for text in &full {
                kept += segmenter.tag(text).len();
            }
        }
        let tag = started.elapsed();
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for text in TEXTS {
                let profile = RepeatProfile::build(segmenter, TITLE, text, Some("139"), Some(0));
                kept += profile.words.len();
            }
        }
        let profile = started.elapsed();
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for text in &full {
                let signature = Signature::of(text);
                kept += usize::from(signature.estimate(&signature) > 0.5);
            }
        }
        let minhash = started.elapsed();
        println!(
            "round {round}: µs per appeal — jieba cut {:.2}, cut and tag {:.2}, repeat profile {:.2}, MinHash signature alone {:.2}",
            per_text(cut),
            per_text(tag),
            per_text(profile),
            per_text(minhash),
        );
    }
    println!("({kept} tokens and words)");
}
