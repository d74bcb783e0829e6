//! Duplicate report: how many messages in a dump are re-posts of earlier ones, exact or lightly edited.
//!
//! Every message is compared with every earlier one through [`DedupIndex`] (one category, one place, unbounded
//! window: the question is about the whole dump), MinHash candidates are checked with the exact Jaccard
//! similarity of character 3-grams, and links are grouped with union-find. The same messages are then judged by the
//! repeat model ([`crate::repeat`]), which also finds reworded repeats (see `tools/dup_model.rs`).

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::dedup::{DedupIndex, Signature, jaccard, shingles};
use crate::insight::topics::{find, union};
use crate::pii;
use crate::tools::data::{AUTO_TEXT_COLUMNS, read_table};
use crate::tools::days_from_civil;

/// Arguments of the duplicate report.
#[derive(Clone, Debug, clap::Args)]
pub struct DupReportArgs {
    /// Messages: CSV or XLSX with 留言主题/留言详情 (or the columns given by --text).
    #[arg(
        long,
        default_value = "../shared/data/tipdm2020c/hotspot_messages_附件3.csv"
    )]
    pub data: PathBuf,
    /// Text columns, comma-separated (default as for `train`).
    #[arg(long)]
    pub text: Option<String>,
    /// Jaccard similarity (character 3-grams) from which a message counts as a near re-post.
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f32,
    /// Number of example pairs to print.
    #[arg(long, default_value_t = 6)]
    pub examples: usize,
}

/// Default near-duplicate threshold; see `bench/classify/README.md` for the measurement behind it.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// MinHash estimates below this are not checked exactly (a margin of about four standard errors below the
/// smallest threshold anyone is likely to use).
const CANDIDATE_FLOOR: f32 = 0.25;

pub(crate) struct Message {
    pub(crate) text: String,
    /// The first text column when there are several (the title), else empty.
    pub(crate) title: String,
    /// The other text columns.
    pub(crate) body: String,
    pub(crate) user: String,
    pub(crate) time: Option<i64>,
}

/// Runs the duplicate report and prints counts and masked examples.
pub fn run_dup_report(args: &DupReportArgs) -> anyhow::Result<()> {
    if !args.data.exists() {
        bail!(
            "data file {} not found (run from the repository root, next to ../shared/data, or pass --data)",
            args.data.display()
        );
    }
    let table = read_table(&args.data)?;
    let groups: Vec<Vec<usize>> = match &args.text {
        Some(list) => vec![
            list.split(',')
                .map(|name| {
                    table
                        .column(name)
                        .with_context(|| format!("no text column {name:?}"))
                })
                .collect::<anyhow::Result<Vec<usize>>>()?,
        ],
        None => AUTO_TEXT_COLUMNS
            .iter()
            .filter_map(|names| {
                names
                    .iter()
                    .map(|n| table.column(n))
                    .collect::<Option<Vec<usize>>>()
            })
            .collect(),
    };
    if groups.is_empty() {
        bail!("no text columns found; pass --text");
    }
    let user_column = table.column("留言用户");
    let time_column = table.column("留言时间");
    let mut messages: Vec<Message> = Vec::new();
    for row in 0..table.rows.len() {
        let cells = |columns: &[usize]| {
            columns
                .iter()
                .map(|&c| table.cell(row, c).trim())
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let Some(group) = groups.iter().find(|group| !cells(group).is_empty()) else {
            continue;
        };
        let (title, body) = match group.split_first() {
            Some((first, rest)) if !rest.is_empty() => (cells(&[*first]), cells(rest)),
            _ => (String::new(), cells(group)),
        };
        messages.push(Message {
            text: cells(group),
            title,
            body,
            user: user_column
                .map(|c| table.cell(row, c).trim().to_owned())
                .unwrap_or_default(),
            time: time_column.and_then(|c| parse_time(table.cell(row, c))),
        });
    }
    // Earlier messages first, so that a link points from a re-post to what it repeats.
    messages.sort_by_key(|m| m.time.unwrap_or(i64::MAX));
    let n = messages.len();
    let timed = messages.iter().filter(|m| m.time.is_some()).count();

    let shingle_sets: Vec<Vec<u64>> = messages.iter().map(|m| shingles(&m.text)).collect();
    let mut index: DedupIndex<usize> = DedupIndex::new(n.max(1), CANDIDATE_FLOOR);
    let mut parent: Vec<usize> = (0..n).collect();
    let mut exact_links = 0usize;
    let mut exact_same_user = 0usize;
    let mut near_links = 0usize;
    let mut near_same_user = 0usize;
    // Per similarity decile: messages whose best earlier match falls there, and how many of those share the user.
    let mut histogram = [(0usize, 0usize); 10];
    let mut near_pairs: Vec<(usize, usize, f32)> = Vec::new();
    for i in 0..n {
        let signature = Signature::of(&messages[i].text);
        let now = messages[i].time.unwrap_or(0);
        let mut best: Option<(usize, f32, bool)> = None;
        for (j, _) in index.candidates_for(&signature, "all", &["all"], now, i64::MAX) {
            let exact = crate::dedup::fingerprint(&messages[j].text) == signature.fingerprint;
            let similarity = if exact {
                1.0
            } else {
                jaccard(&shingle_sets[i], &shingle_sets[j])
            };
            if best.is_none_or(|(_, s, e)| (exact, similarity) > (e, s)) {
                best = Some((j, similarity, exact));
            }
        }
        if let Some((j, similarity, exact)) = best {
            let same_user = !messages[i].user.is_empty() && messages[i].user == messages[j].user;
            if exact {
                exact_links += 1;
                exact_same_user += usize::from(same_user);
                union(&mut parent, i, j);
            } else {
                let bin = &mut histogram[((similarity * 10.0) as usize).min(9)];
                bin.0 += 1;
                bin.1 += usize::from(same_user);
                if similarity >= args.threshold {
                    near_links += 1;
                    near_same_user += usize::from(same_user);
                    near_pairs.push((j, i, similarity));
                    union(&mut parent, i, j);
                }
            }
        }
        index.insert_signature(i, signature, "all", "all", now);
    }
    let mut group_sizes = std::collections::HashMap::new();
    for i in 0..n {
        *group_sizes.entry(find(&mut parent, i)).or_insert(0usize) += 1;
    }
    let linked_groups = group_sizes.values().filter(|&&size| size > 1).count();
    let largest = group_sizes.values().copied().max().unwrap_or(0);
    let percent = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };

    println!(
        "data             {} ({n} messages, {timed} with a parseable 留言时间, compared in time order)",
        args.data.display()
    );
    println!(
        "exact re-posts   {exact_links} messages repeat an earlier one after normalisation (spacing, punctuation, width, case); {:.0}% by the same user",
        percent(exact_same_user, exact_links)
    );
    println!(
        "near re-posts    {near_links} more messages have an earlier one with Jaccard >= {:.2} over character 3-grams; {:.0}% by the same user",
        args.threshold,
        percent(near_same_user, near_links)
    );
    println!(
        "linked           {} messages in {linked_groups} groups of 2 or more (largest {largest}); {} messages would become {} cases",
        exact_links + near_links,
        n,
        n - exact_links - near_links
    );
    println!(
        "best earlier match of each message that is not an exact re-post (MinHash candidates >= {CANDIDATE_FLOOR}):"
    );
    println!("  Jaccard     messages  same user");
    for (bin, (count, same)) in histogram
        .iter()
        .enumerate()
        .skip((CANDIDATE_FLOOR * 10.0) as usize)
    {
        println!(
            "  [{:.1}, {:.1})  {count:>8}  {:>8.0}%",
            bin as f32 / 10.0,
            (bin + 1) as f32 / 10.0,
            percent(*same, *count)
        );
    }
    crate::tools::dup_model::report(&messages, args.examples);
    // Examples closest to the threshold first: they show where the line is drawn.
    near_pairs.sort_by(|a, b| a.2.total_cmp(&b.2));
    let step = (near_pairs.len() / args.examples.max(1)).max(1);
    for &(earlier, later, similarity) in near_pairs.iter().step_by(step).take(args.examples) {
        println!(
            "--- Jaccard {similarity:.2}{}",
            if messages[earlier].user == messages[later].user {
                " (same user)"
            } else {
                ""
            }
        );
        println!("  earlier: {}", excerpt(&messages[earlier].text));
        println!("  later:   {}", excerpt(&messages[later].text));
    }
    Ok(())
}

/// Returns the first 90 characters of the masked text.
pub(crate) fn excerpt(text: &str) -> String {
    let masked = pii::mask(text);
    let mut out: String = masked.chars().take(90).collect();
    if masked.chars().count() > 90 {
        out.push('…');
    }
    out
}

/// Parses `2019/2/28 11:25:05`, `2019-02-28 11:25`, `2019-02-28T11:25:05`, a bare date or an Excel date
/// serial to Unix seconds (the zone does not matter for ordering).
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    // Excel stores dates as days since 1899-12-30; calamine hands unformatted ones over as numbers.
    if let Ok(serial) = text.parse::<f64>() {
        return (20_000.0..80_000.0)
            .contains(&serial)
            .then(|| ((serial - 25_569.0) * 86_400.0).round() as i64);
    }
    let (date, time) = text.split_once([' ', 'T']).unwrap_or((text, ""));
    let mut date_parts = date
        .split(['/', '-', '.'])
        .map(|p| p.trim().parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut seconds = 0i64;
    for (part, unit) in time.trim().split(':').zip([3600, 60, 1]) {
        if part.is_empty() {
            break;
        }
        let value: f64 = part.trim().parse().ok()?;
        seconds += value as i64 * unit;
    }
    Some(days_from_civil(year, month as u32, day as u32) * 86_400 + seconds)
}
