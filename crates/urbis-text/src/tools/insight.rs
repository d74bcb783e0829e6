//! `urbis insight hotspots` and `urbis insight replies`: the insight module run on a message file.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::insight::{
    Appeal, DAY, ReplyInput, SurgeDetector, SurgeOptions, Topic, TopicOptions, find_topics,
    score_reply,
};
use crate::repeat::{IdfTable, RepeatProfile};
use crate::segment::Segmenter;
use crate::tools::data::{Table, read_table};
use crate::tools::dup::{excerpt, parse_time};
use crate::tools::format_utc;

/// Arguments of `urbis insight hotspots`.
#[derive(Clone, Debug, clap::Args)]
pub struct HotspotsArgs {
    /// Messages: CSV or XLSX with 留言主题, 留言详情, 留言用户, 留言时间 and optionally 点赞数.
    #[arg(
        long,
        default_value = "../shared/data/tipdm2020c/hotspot_messages_附件3.csv"
    )]
    pub data: PathBuf,
    /// Hot spots to print.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Example messages per hot spot.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Repeat-model score from which two messages are about the same problem.
    #[arg(long, default_value_t = 0.5)]
    pub link_score: f32,
    /// Share of their eight rarest words two linked messages must share (unless near copies).
    #[arg(long, default_value_t = 0.25)]
    pub min_key_terms: f32,
    /// Longest gap in days between two linked messages.
    #[arg(long, default_value_t = 60)]
    pub window_days: i64,
    /// As-of date for the growth component (YYYY-MM-DD; default: the day of the latest message).
    #[arg(long)]
    pub as_of: Option<String>,
}

/// Arguments of `urbis insight replies`.
#[derive(Clone, Debug, clap::Args)]
pub struct RepliesArgs {
    /// Messages with replies: CSV or XLSX with 留言主题, 留言详情, 留言时间, 答复意见, 答复时间.
    #[arg(long, default_value = "../shared/data/tipdm2020c/replies_附件4.csv")]
    pub data: PathBuf,
    /// Weakest replies to print.
    #[arg(long, default_value_t = 8)]
    pub weakest: usize,
}

fn open(path: &Path) -> anyhow::Result<Table> {
    if !path.exists() {
        bail!(
            "data file {} not found (run from the repository root, next to ../shared/data, or pass --data)",
            path.display()
        );
    }
    read_table(path)
}

fn column(table: &Table, name: &str) -> anyhow::Result<usize> {
    table
        .column(name)
        .with_context(|| format!("no column {name:?} in the data"))
}

/// Reads appeals (rows without a parseable time are left out); returns them with the number left out.
pub fn load_appeals(path: &Path) -> anyhow::Result<(Vec<Appeal>, usize)> {
    let table = open(path)?;
    let title = column(&table, "留言主题")?;
    let detail = column(&table, "留言详情")?;
    let time = column(&table, "留言时间")?;
    let user = table.column("留言用户");
    let likes = table.column("点赞数");
    let mut appeals = Vec::new();
    let mut skipped = 0usize;
    for row in 0..table.rows.len() {
        let Some(at) = parse_time(table.cell(row, time)) else {
            skipped += 1;
            continue;
        };
        appeals.push(Appeal {
            title: table.cell(row, title).trim().to_owned(),
            text: table.cell(row, detail).trim().to_owned(),
            reporter: user.map_or("", |c| table.cell(row, c)).trim().to_owned(),
            time: at,
            likes: likes
                .and_then(|c| table.cell(row, c).trim().parse::<f64>().ok())
                .map_or(0, |v| v.max(0.0) as u32),
        });
    }
    Ok((appeals, skipped))
}

fn date(seconds: i64) -> String {
    format_utc(seconds)[..10].to_owned()
}

/// Runs the hot-spot report.
pub fn run_hotspots(args: &HotspotsArgs) -> anyhow::Result<()> {
    let (appeals, skipped) = load_appeals(&args.data)?;
    if appeals.is_empty() {
        bail!(
            "no messages with a parseable 留言时间 in {}",
            args.data.display()
        );
    }
    let latest = appeals.iter().map(|a| a.time).max().unwrap_or(0);
    let as_of = match &args.as_of {
        Some(text) => parse_time(text).with_context(|| format!("bad --as-of {text:?}"))? + DAY,
        None => latest,
    };
    let options = TopicOptions {
        link_score: args.link_score.clamp(0.0, 1.0),
        min_key_terms: args.min_key_terms.clamp(0.0, 1.0),
        window_days: args.window_days.clamp(1, 3650),
        as_of,
        ..TopicOptions::default()
    };
    let started = std::time::Instant::now();
    let segmenter = Segmenter::new();
    let topics = find_topics(&appeals, &segmenter, &options);
    let in_topics: usize = topics.iter().map(|t| t.members.len()).sum();
    println!(
        "data      {} ({} messages, {skipped} without a time left out; {} → {})",
        args.data.display(),
        appeals.len(),
        date(appeals.iter().map(|a| a.time).min().unwrap_or(0)),
        date(latest),
    );
    println!(
        "topics    {} of 2 or more messages holding {in_topics} messages (link score ≥ {:.2}, key terms ≥ {:.2}, gap ≤ {} days), {:.1} s",
        topics.len(),
        options.link_score,
        options.min_key_terms,
        options.window_days,
        started.elapsed().as_secs_f64()
    );
    println!(
        "heat      100 × (0.30 n/(n+10) + 0.25 u/(u+5) + 0.20 likes/(likes+100) + 0.15 r/(r+p+2) + 0.10 d/(d+7)); \
         n messages, u reporters, d active days, r/p messages in the {} days before {} / the {} before that",
        options.growth_days,
        date(as_of),
        options.growth_days
    );
    for (rank, topic) in topics.iter().take(args.top).enumerate() {
        println!();
        println!(
            "#{:<2} heat {:5.1}  {}",
            rank + 1,
            topic.heat.index,
            topic.label()
        );
        println!(
            "    {} messages, {} reporters, {} likes, {} active days, {} → {}",
            topic.members.len(),
            topic.reporters,
            topic.likes,
            topic.active_days,
            date(topic.first),
            date(topic.last)
        );
        println!(
            "    components: volume {:.2} reporters {:.2} support {:.2} growth {:.2} spread {:.2}; \
             attitude: negative {:.0}%, urgent {:.0}%, repeated {:.0}%",
            topic.heat.volume,
            topic.heat.reporters,
            topic.heat.support,
            topic.heat.growth,
            topic.heat.spread,
            100.0 * topic.attitude.negative,
            100.0 * topic.attitude.urgent,
            100.0 * topic.attitude.repeated
        );
        match topic_surge(topic, &appeals) {
            Some((day, observed, expected)) => println!(
                "    surge: first alarm {} ({observed} messages against {expected:.1} expected)",
                date(day * DAY)
            ),
            None => println!("    surge: none (the topic grew slowly)"),
        }
        let mut shown: Vec<&str> = Vec::new();
        for &i in &topic.members {
            if shown.len() >= args.examples {
                break;
            }
            let title = appeals[i].title.as_str();
            if shown.contains(&title) {
                continue;
            }
            shown.push(title);
            let text = if title.is_empty() {
                appeals[i].text.as_str()
            } else {
                title
            };
            println!("    - {} {}", date(appeals[i].time), excerpt(text));
        }
    }
    Ok(())
}

/// Runs the surge detector over a topic's daily counts from four weeks before its first message (a quiet
/// baseline) to its last; returns the first alarming day (day number), its count and the expected count.
fn topic_surge(topic: &Topic, appeals: &[Appeal]) -> Option<(i64, u32, f64)> {
    let first = topic.first.div_euclid(DAY);
    let last = topic.last.div_euclid(DAY);
    let mut counts = std::collections::BTreeMap::new();
    for &i in &topic.members {
        *counts
            .entry(appeals[i].time.div_euclid(DAY))
            .or_insert(0u32) += 1;
    }
    let mut detector = SurgeDetector::new(SurgeOptions::default());
    (first - 28..=last).find_map(|day| {
        let count = counts.get(&day).copied().unwrap_or(0);
        detector
            .observe(count, 1.0)
            .map(|alert| (day, alert.observed, alert.expected))
    })
}

/// Runs the reply-quality report.
pub fn run_replies(args: &RepliesArgs) -> anyhow::Result<()> {
    let table = open(&args.data)?;
    let title = column(&table, "留言主题")?;
    let detail = column(&table, "留言详情")?;
    let asked = column(&table, "留言时间")?;
    let reply = column(&table, "答复意见")?;
    let answered = column(&table, "答复时间")?;
    let segmenter = Segmenter::new();
    let appeals: Vec<String> = (0..table.rows.len())
        .map(|row| table.cell(row, detail).trim().to_owned())
        .collect();
    let mut idf = IdfTable::new();
    for text in &appeals {
        idf.add_document(&RepeatProfile::build(&segmenter, "", text, None, None).words);
    }
    let mut scores = Vec::with_capacity(appeals.len());
    for (row, appeal) in appeals.iter().enumerate() {
        let latency = match (
            parse_time(table.cell(row, asked)),
            parse_time(table.cell(row, answered)),
        ) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        let score = score_reply(
            &ReplyInput {
                title: table.cell(row, title).trim(),
                appeal,
                reply: table.cell(row, reply),
                latency,
            },
            &segmenter,
            &idf,
        );
        scores.push((row, score));
    }
    let n = scores.len();
    if n == 0 {
        bail!("no replies in {}", args.data.display());
    }
    let mean = |f: &dyn Fn(&crate::insight::ReplyScore) -> Option<f64>| {
        let values: Vec<f64> = scores.iter().filter_map(|(_, s)| f(s)).collect();
        values.iter().sum::<f64>() / values.len().max(1) as f64
    };
    let mut overall: Vec<f64> = scores.iter().map(|(_, s)| s.overall).collect();
    overall.sort_by(f64::total_cmp);
    println!("data      {} ({n} replies)", args.data.display());
    println!(
        "score     100 × (0.35 relevance + 0.30 completeness + 0.20 timeliness + 0.15 politeness)"
    );
    println!(
        "overall   mean {:.1}, median {:.1}, p10 {:.1}, p90 {:.1}",
        mean(&|s| Some(s.overall)),
        overall[n / 2],
        overall[n / 10],
        overall[(n * 9 / 10).min(n - 1)]
    );
    println!(
        "dimension means: relevance {:.2}, completeness {:.2}, timeliness {:.2} ({} with both times), politeness {:.2}",
        mean(&|s| Some(s.relevance)),
        mean(&|s| Some(s.completeness)),
        mean(&|s| s.timeliness),
        scores
            .iter()
            .filter(|(_, s)| s.timeliness.is_some())
            .count(),
        mean(&|s| Some(s.politeness)),
    );
    println!("distribution");
    let mut bins = [0usize; 10];
    for value in &overall {
        bins[((value / 10.0) as usize).min(9)] += 1;
    }
    for (bin, count) in bins.iter().enumerate() {
        let bar = "#".repeat((count * 60).div_ceil(n.max(1)));
        println!("  {:>3}–{:<3} {count:>5}  {bar}", bin * 10, bin * 10 + 10);
    }
    println!("reasons (share of replies)");
    for (key, label) in [
        ("切题不足", "relevance: misses most key terms"),
        ("不完整", "completeness: parts missing"),
        ("答复过短", "too short"),
        ("答复用时", "later than 7 days"),
        ("缺少称呼或致谢", "no greeting or thanks"),
        ("推诿", "dismissive wording"),
    ] {
        let count = scores
            .iter()
            .filter(|(_, s)| s.reasons.iter().any(|r| r.contains(key)))
            .count();
        println!(
            "  {:>5.1}%  {key} ({label})",
            100.0 * count as f64 / n as f64
        );
    }
    scores.sort_by(|a, b| a.1.overall.total_cmp(&b.1.overall).then(a.0.cmp(&b.0)));
    println!();
    println!("weakest replies");
    for (row, score) in scores.iter().take(args.weakest) {
        println!(
            "- score {:.1} (relevance {:.2}, completeness {:.2}, timeliness {}, politeness {:.2}) row {}",
            score.overall,
            score.relevance,
            score.completeness,
            score
                .timeliness
                .map_or("n/a".to_owned(), |t| format!("{t:.2}")),
            score.politeness,
            row + 2
        );
        println!("    appeal: {}", excerpt(table.cell(*row, title)));
        println!("    reply:  {}", excerpt(table.cell(*row, reply)));
        println!("    why:    {}", score.reasons.join("；"));
    }
    Ok(())
}
