//! `urbis bench intake --city`: intake as a city's hotline sees it. Each run seeds a fresh demo city
//! (areas cut into unit grids, taxonomy, responsibility list; no cases) and posts appeals located
//! at the centre of a unit grid, each telling one of the city's problems — a category's sample
//! text at a named place (an estate, a road) of one community — in slightly different words each
//! time, from wherever in the community the resident stands. Problems are drawn with replacement
//! from a pool 1.7 times the number of appeals, so about a quarter of the appeals repeat a problem
//! already open and the repeat check has work on every appeal. The same appeals go through the
//! repeat model (the default), through the earlier MinHash ≥ 0.5 rule and with no repeat check at
//! all, in three fresh cities in the same run; the rates' ratios are printed, and each rule's merges
//! are held against the problems the bench told (right, wrong, missed).

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use urbis_service::dedup::RepeatRule;
use urbis_service::store::{Durability, Location};
use urbis_service::{ServiceConfig, Services};

use super::writer::{WriterProbe, WriterWork};
use super::{Driver, IntakeArgs, Load};

/// Appeals sent before the measured run (they open cases the measured ones may repeat).
const WARM_UP: usize = 500;
/// Problem pool size per appeal: drawing with replacement from 1.7·n problems repeats about a quarter.
const POOL_PER_APPEAL: f64 = 1.7;
/// How residents word the same problem again.
const OPENINGS: [&str; 4] = ["", "再次反映：", "之前打过电话，", "邻居也说过，"];
const ENDINGS: [&str; 4] = [
    "",
    "已经好几天了。",
    "希望尽快解决。",
    "到现在还没人来处理。",
];

/// Estates of a community besides the demo's own places: every first character with every second
/// one (75 names, none containing another, so no two are one place to the place check), each with
/// one of the kinds.
const ESTATE_FIRST: [char; 15] = [
    '金', '翠', '锦', '和', '长', '碧', '春', '丽', '绿', '紫', '银', '枫', '海', '桂', '星',
];
const ESTATE_SECOND: [char; 5] = ['桥', '湖', '苑', '庭', '岸'];
const ESTATE_KINDS: [&str; 5] = ["小区", "花园", "家园", "公寓", "新村"];

/// One problem of the city: where (community), what (category and its sample text) and at which place.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Problem {
    community: usize,
    category: usize,
    text: usize,
    place: usize,
}

struct CityLayout {
    /// The centres (lat, lon) of each community's unit grids.
    communities: Vec<Vec<(f64, f64)>>,
    /// Level-2 categories with sample texts: id and the texts.
    categories: Vec<(i64, &'static [&'static str])>,
}

async fn layout(services: &Services) -> anyhow::Result<CityLayout> {
    use urbis_storage::sql::query;
    let mut conn = services.db().read().await?;
    let grids: Vec<(Option<i64>, Option<f64>, Option<f64>)> = query(
        "SELECT parent_id, center_lat, center_lon FROM areas WHERE level = 'grid' ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await?;
    let mut communities: std::collections::BTreeMap<i64, Vec<(f64, f64)>> = Default::default();
    for (parent, lat, lon) in grids {
        if let (Some(parent), Some(point)) = (parent, lat.zip(lon)) {
            communities.entry(parent).or_default().push(point);
        }
    }
    let communities: Vec<Vec<(f64, f64)>> = communities.into_values().collect();
    let rows: Vec<(i64, String)> =
        query("SELECT id, name FROM categories WHERE level = 2 ORDER BY id")
            .fetch_all(&mut conn)
            .await?;
    let categories: Vec<(i64, &'static [&'static str])> = rows
        .into_iter()
        .map(|(id, name)| (id, crate::demo::catalog::sample_texts(&name)))
        .filter(|(_, texts)| texts.len() >= 2)
        .collect();
    if communities.is_empty() || categories.is_empty() {
        anyhow::bail!("the demo city has no located grids or no categories with sample texts");
    }
    Ok(CityLayout {
        communities,
        categories,
    })
}

/// The appeals of a run, the same for every rule (a fixed seed).
struct Appeals {
    warm: Vec<serde_json::Value>,
    measured: Vec<serde_json::Value>,
    /// The problem each appeal tells, warm-up first.
    problems: Vec<Problem>,
    /// How many measured appeals repeat a problem told before.
    repeats: usize,
}

/// Draws the appeals of a run: warm-up first, then the measured ones.
fn appeals(city: &CityLayout, n: usize, with_category: bool) -> Appeals {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut places: Vec<String> = crate::demo::catalog::PLACES
        .iter()
        .map(|p| p.to_string())
        .collect();
    for (i, first) in ESTATE_FIRST.iter().enumerate() {
        for (j, second) in ESTATE_SECOND.iter().enumerate() {
            let kind = ESTATE_KINDS[(i + j) % ESTATE_KINDS.len()];
            places.push(format!("{first}{second}{kind}"));
        }
    }
    let pool_size = ((n + WARM_UP) as f64 * POOL_PER_APPEAL) as usize;
    let pool: Vec<Problem> = (0..pool_size)
        .map(|_| {
            let category = rng.gen_range(0..city.categories.len());
            Problem {
                community: rng.gen_range(0..city.communities.len()),
                category,
                text: rng.gen_range(0..city.categories[category].1.len()),
                place: rng.gen_range(0..places.len()),
            }
        })
        .collect();
    let mut told: HashSet<Problem> = HashSet::new();
    let mut repeats = 0;
    let mut problems = Vec::with_capacity(n + WARM_UP);
    let mut body = |i: usize, rng: &mut StdRng| {
        let problem = pool[rng.gen_range(0..pool.len())];
        problems.push(problem);
        let again = !told.insert(problem);
        if again && i >= WARM_UP {
            repeats += 1;
        }
        let (category_id, texts) = city.categories[problem.category];
        let told_as = texts[problem.text].replace("{place}", &places[problem.place]);
        let text = if again {
            format!(
                "{}{told_as}{}",
                OPENINGS[rng.gen_range(0..OPENINGS.len())],
                ENDINGS[rng.gen_range(0..ENDINGS.len())]
            )
        } else {
            told_as
        };
        let grids = &city.communities[problem.community];
        let (lat, lon) = grids[rng.gen_range(0..grids.len())];
        let mut body = serde_json::json!({
            "channel": "hotline", "title": "市民来电", "text": text,
            "reporter_name": "市民", "reporter_phone": format!("139{:08}", rng.gen_range(0..5_000)),
            "lat": lat, "lon": lon,
        });
        if with_category {
            body["category_id"] = category_id.into();
        }
        body
    };
    let warm: Vec<serde_json::Value> = (0..WARM_UP).map(|i| body(i, &mut rng)).collect();
    let measured: Vec<serde_json::Value> =
        (WARM_UP..WARM_UP + n).map(|i| body(i, &mut rng)).collect();
    Appeals {
        warm,
        measured,
        problems,
        repeats,
    }
}

/// What one rule did with the appeals.
struct RuleRun {
    load: Load,
    /// CPU time the whole process (server and clients alike) spent on the measured appeals, in
    /// seconds; `None` where the system does not say (not Linux).
    cpu: Option<f64>,
    /// What the intake writer did over the measured appeals; `None` without the recorder.
    writer: Option<WriterWork>,
    cases: i64,
    appeals: i64,
    merges: Merges,
}

/// The measured appeals' merges held against the problems the bench told: a merge is right when
/// the appeal tells the problem of the appeal that opened the case, "same place" when it tells the
/// category's other complaint at the same place (a dispatcher may well send one crew), wrong
/// otherwise; a repeat is missed when an appeal opens a case for a problem told before.
#[derive(Default)]
struct Merges {
    right: usize,
    same_place: usize,
    wrong: usize,
    missed: usize,
}

impl Merges {
    /// `case_ids[i]` is the case appeal `i` (warm-up first) went to.
    fn count(problems: &[Problem], case_ids: &[Option<i64>]) -> Merges {
        let mut opened_for: std::collections::HashMap<i64, Problem> = Default::default();
        let mut told: HashSet<Problem> = HashSet::new();
        let mut merges = Merges::default();
        for (i, (problem, case_id)) in problems.iter().zip(case_ids).enumerate() {
            let Some(case_id) = *case_id else { continue };
            let measured = i >= WARM_UP;
            let again = !told.insert(*problem);
            match opened_for.get(&case_id) {
                Some(_) if !measured => {}
                Some(first) if first == problem => merges.right += 1,
                Some(first)
                    if (first.community, first.category, first.place)
                        == (problem.community, problem.category, problem.place) =>
                {
                    merges.same_place += 1
                }
                Some(_) => merges.wrong += 1,
                None => {
                    opened_for.insert(case_id, *problem);
                    merges.missed += usize::from(measured && again);
                }
            }
        }
        merges
    }
}

/// The median of some rates (the mean of the middle two for an even count).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

async fn run_rule(
    args: &IntakeArgs,
    location: &Location,
    rule: RepeatRule,
    n: usize,
) -> anyhow::Result<(RuleRun, usize)> {
    crate::demo::run(crate::demo::DemoArgs {
        db: location.clone(),
        listen: "127.0.0.1:0".parse().expect("literal address"),
        public_url: None,
        cases: 0,
        days: 1,
        no_serve: true,
    })
    .await?;
    let db = crate::serve::open_db(location, Durability::Full).await?;
    let config = ServiceConfig {
        repeat_rule: rule,
        ..ServiceConfig::default()
    };
    let services = Services::start(db, config)
        .await
        .map_err(|e| anyhow::format_err!("{e}"))?;
    if args.with_classifier {
        services
            .set_classifier(urbis_text::demo::demo_model())
            .await
            .map_err(|e| anyhow::format_err!("{e}"))?;
    }
    let city = layout(&services).await?;
    let told = appeals(&city, n, !args.with_classifier);
    let clients = args.clients.clamp(1, 1024);
    let driver = Driver::start(&services, "operator", crate::demo::DEMO_PASSWORD, clients).await?;
    let warm = driver.run(Arc::new(told.warm), 10_000_000).await;
    let probe = WriterProbe::install();
    let writer_before = probe.as_ref().map(WriterProbe::totals);
    let cpu_before = process_cpu_seconds();
    let load = driver.run(Arc::new(told.measured), 0).await;
    let cpu = process_cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    let writer = probe
        .as_ref()
        .zip(writer_before)
        .and_then(|(probe, before)| probe.totals().since(&before, load.elapsed.as_secs_f64()));
    driver.stop();
    let case_ids: Vec<Option<i64>> = warm
        .case_ids
        .iter()
        .chain(&load.case_ids)
        .copied()
        .collect();
    let merges = Merges::count(&told.problems, &case_ids);
    let mut conn = services.db().read().await?;
    let cases: i64 = urbis_storage::sql::query("SELECT COUNT(*) FROM cases")
        .scalar(&mut conn)
        .await?;
    let appeals: i64 = urbis_storage::sql::query("SELECT COUNT(*) FROM appeals")
        .scalar(&mut conn)
        .await?;
    drop(conn);
    services.db().close().await;
    Ok((
        RuleRun {
            load,
            cpu,
            writer,
            cases,
            appeals,
            merges,
        },
        told.repeats,
    ))
}

/// Runs both rules and prints the comparison.
pub(super) async fn run(args: &IntakeArgs, dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    let n = args.appeals.max(1);
    let (location, store) = match &args.db {
        Some(Location::Postgres(url)) => (Location::Postgres(url.clone()), "PostgreSQL"),
        Some(Location::Sqlite(path)) => anyhow::bail!(
            "--db takes a PostgreSQL URL; SQLite runs in --dir (got {})",
            path.display()
        ),
        None => (Location::Sqlite(dir.join("bench-city.sqlite")), "SQLite"),
    };
    let rules = [
        (RepeatRule::Off, "no repeat check (every appeal a case)"),
        (RepeatRule::NearCopy, "earlier rule: MinHash 3-gram >= 0.5"),
        (RepeatRule::Model, "repeat model (default)"),
    ];
    let rounds = args.rounds.clamp(1, 20);
    // rates[rule][round]; the merges and counts shown are the last round's of each rule.
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); rules.len()];
    // cpu_ms[rule][round]: CPU milliseconds per measured appeal.
    let mut cpu_ms: Vec<Vec<f64>> = vec![Vec::new(); rules.len()];
    // writer[rule][round]: what the intake writer did.
    let mut writer: Vec<Vec<WriterWork>> = vec![Vec::new(); rules.len()];
    let mut runs: Vec<Option<RuleRun>> = (0..rules.len()).map(|_| None).collect();
    let mut repeats = 0;
    let mut ok = true;
    for round in 0..rounds {
        for k in 0..rules.len() {
            let which = (round + k) % rules.len();
            let (run, planned) = run_rule(args, &location, rules[which].0, n).await?;
            repeats = planned;
            rates[which].push(run.load.rate());
            if let Some(cpu) = run.cpu {
                cpu_ms[which].push(cpu * 1000.0 / n as f64);
            }
            writer[which].extend(run.writer);
            if run.load.failures > 0 {
                println!(
                    "  {}: {} requests failed",
                    rules[which].1, run.load.failures
                );
            }
            ok &= run.load.failures == 0 && run.appeals as usize == n + WARM_UP;
            runs[which] = Some(run);
        }
    }
    let runs: Vec<RuleRun> = runs.into_iter().flatten().collect();
    println!(
        "urbis bench intake --city on {store} — {n} appeals in the demo city after {WARM_UP} warm-up, {} concurrent HTTP clients, classifier {}; {repeats} of them repeat a problem told before, in other words; {rounds} round(s), the rules in a rotated order each round",
        args.clients.clamp(1, 1024),
        if args.with_classifier {
            "on (it picks the category)"
        } else {
            "off (the category is given)"
        },
    );
    println!(
        "{:<40} {:>10} {:>8} {:>8} {:>12} {:>12} {:>8} {:>8} {:>10} {:>8} {:>8}  {}",
        "repeat rule",
        "appeals/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/appeal",
        "cases opened",
        "merged",
        "right",
        "same place",
        "wrong",
        "missed",
        "rate of each round"
    );
    for ((((_, label), run), rule_rates), rule_cpu) in
        rules.iter().zip(&runs).zip(&rates).zip(&cpu_ms)
    {
        let each: Vec<String> = rule_rates.iter().map(|r| format!("{r:.0}")).collect();
        let cpu = if rule_cpu.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.2}", median(rule_cpu.clone()))
        };
        println!(
            "{:<40} {:>10.0} {:>8.2} {:>8.2} {:>12} {:>12} {:>8} {:>8} {:>10} {:>8} {:>8}  {}",
            label,
            median(rule_rates.clone()),
            run.load.ms(0.50),
            run.load.ms(0.99),
            cpu,
            run.cases,
            run.appeals - run.cases,
            run.merges.right,
            run.merges.same_place,
            run.merges.wrong,
            run.merges.missed,
            each.join(" "),
        );
    }
    println!(
        "(appeals/s and CPU ms/appeal — the whole process's user and system time over the measured appeals, server and clients — : the medians over the rounds; latencies, cases and merges: each rule's last round. Merges of measured appeals held against the problems they tell: right = into the same problem's case, same place = into the case of the category's other complaint at the same place, wrong = into another place's or category's case; missed = a case opened for a problem told before)"
    );
    // Ratios within a round (the rules ran back to back), then their median over the rounds.
    let ratio = |a: usize, b: usize| median_ratio(&rates[a], &rates[b]);
    println!(
        "ratio (median over rounds) repeat model / earlier rule: {:.3}x; repeat model / no check: {:.3}x; earlier rule / no check: {:.3}x",
        ratio(2, 1),
        ratio(2, 0),
        ratio(1, 0),
    );
    // The spread the median hides: a loaded machine moves single rounds by several per cent.
    let each: Vec<String> = rates[2]
        .iter()
        .zip(&rates[1])
        .map(|(model, earlier)| format!("{:.3}", model / earlier))
        .collect();
    println!(
        "repeat model / earlier rule in each round: {}",
        each.join(" ")
    );
    if cpu_ms.iter().all(|ms| ms.len() == rates[0].len()) {
        let cpu_ratio = |a: usize, b: usize| median_ratio(&cpu_ms[a], &cpu_ms[b]);
        println!(
            "CPU per appeal (median over rounds) repeat model / earlier rule: {:.3}x; repeat model / no check: {:.3}x; earlier rule / no check: {:.3}x",
            cpu_ratio(2, 1),
            cpu_ratio(2, 0),
            cpu_ratio(1, 0),
        );
    }
    print_writer(&rules.map(|(_, label)| label), &writer);
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Prints what the intake writer did under each rule (medians over the rounds), and the model's
/// writer time per appeal against the earlier rule's.
fn print_writer(labels: &[&str], writer: &[Vec<WriterWork>]) {
    if writer.iter().any(Vec::is_empty) {
        return;
    }
    println!(
        "{:<40} {:>14} {:>10} {:>14} {:>16} {:>12}",
        "intake writer",
        "appeals/group",
        "ms/group",
        "COMMIT ms",
        "writer ms/appeal",
        "writer busy"
    );
    let of = |works: &[WriterWork], figure: fn(&WriterWork) -> f64| {
        median(works.iter().map(figure).collect())
    };
    for (label, works) in labels.iter().zip(writer) {
        println!(
            "{:<40} {:>14.1} {:>10.2} {:>14.2} {:>16.3} {:>11.0}%",
            label,
            of(works, |w| w.group),
            of(works, |w| w.group_ms),
            of(works, |w| w.sync_ms),
            of(works, |w| w.per_appeal_ms),
            of(works, |w| w.busy_share) * 100.0,
        );
    }
    let per_appeal = |k: usize| -> Vec<f64> { writer[k].iter().map(|w| w.per_appeal_ms).collect() };
    println!(
        "(medians over the rounds: the writer's time storing and durably committing a group, of it the COMMIT alone, per appeal, and as a share of the load's wall time) writer ms per appeal, repeat model / earlier rule: {:.3}x",
        median_ratio(&per_appeal(2), &per_appeal(1)),
    );
}

/// The median over the rounds of one rule's figure divided by another's in the same round.
fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(x, y)| x / y).collect())
}

/// The CPU time (user and system) this process has used so far, in seconds, from
/// `/proc/self/stat`; `None` where there is no such file.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces, so split after its closing
    // parenthesis): utime and stime are the 14th and 15th fields of the line, in clock ticks.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / CLOCK_TICKS_PER_SECOND)
}

/// `sysconf(_SC_CLK_TCK)`, 100 on every Linux architecture the kernel's user ABI fixes it for.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
