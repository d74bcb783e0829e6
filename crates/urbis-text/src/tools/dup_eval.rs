//! `urbis text dup-eval`: scores the repeat model on hand-labelled pairs of messages, beside the MinHash ≥ 0.5
//! setting, and prints precision, recall, F1 and a precision–recall table over thresholds.
//!
//! IDF weights come from every message of the data file (the city's own corpus). `--fit` refits the model's
//! weights on the given pairs (logistic regression) and prints them as the Rust literal of
//! [`RepeatModel::default`], with the lowest threshold that keeps precision at or above 0.97 on those pairs.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::repeat::{IdfTable, PlaceCheck, RepeatModel, RepeatProfile, SIGNAL_COUNT, SIGNALS};
use crate::segment::Segmenter;
use crate::tools::data::read_table;
use crate::tools::dup::parse_time;

/// Most labelled pairs read.
const MAX_PAIRS: usize = 100_000;
/// The current production setting this model is compared with.
const MINHASH_BASELINE: f32 = 0.5;
/// Precision the default threshold is chosen for when fitting.
const TARGET_PRECISION: f64 = 0.97;

/// Arguments of the repeat evaluation.
#[derive(Clone, Debug, clap::Args)]
pub struct DupEvalArgs {
    /// Messages: CSV or XLSX with an id column, title and text columns.
    #[arg(
        long,
        default_value = "../shared/data/tipdm2020c/hotspot_messages_附件3.csv"
    )]
    pub data: PathBuf,
    /// Labelled pairs: CSV with columns id_a,id_b,label (label 1 = same problem, 0 = different).
    /// Repeat it to score several parts as one set; each part's score is printed too.
    #[arg(long, required = true)]
    pub pairs: Vec<PathBuf>,
    /// Column of the data holding the ids the pairs use.
    #[arg(long, default_value = "留言编号")]
    pub id_col: String,
    /// Title column (may be absent from the data).
    #[arg(long, default_value = "留言主题")]
    pub title_col: String,
    /// Text column.
    #[arg(long, default_value = "留言详情")]
    pub text_col: String,
    /// Reporter column (account or phone; may be absent).
    #[arg(long, default_value = "留言用户")]
    pub user_col: String,
    /// Time column (may be absent).
    #[arg(long, default_value = "留言时间")]
    pub time_col: String,
    /// Refit the weights on these pairs and print them.
    #[arg(long)]
    pub fit: bool,
    /// Print the ids and explanations of the pairs the default setting gets wrong.
    #[arg(long)]
    pub show_errors: bool,
    /// Write every pair's signal values, score and verdict to this CSV (for studying the model).
    #[arg(long)]
    pub signals: Option<PathBuf>,
}

struct Scored {
    /// Which `--pairs` file the pair came from.
    part: usize,
    ids: (String, String),
    label: bool,
    values: [f32; SIGNAL_COUNT],
    place: PlaceCheck,
    minhash: f32,
}

/// Writes one row per pair: ids, label, the model's score and verdict, the place check and the
/// signal values (columns named by [`Signal::key`]).
fn write_signals(
    path: &std::path::Path,
    scored: &[Scored],
    model: &RepeatModel,
) -> anyhow::Result<()> {
    use std::fmt::Write as _;
    let mut out = String::from("id_a,id_b,label,score,linked,place");
    for signal in SIGNALS {
        write!(out, ",{}", signal.key())?;
    }
    out.push('\n');
    for s in scored {
        let (score, linked) = model.verdict(&s.values, &s.place);
        let place = match &s.place {
            PlaceCheck::Agrees(_) => "agrees",
            PlaceCheck::Conflicts(..) => "conflicts",
            PlaceCheck::Unnamed => "unnamed",
        };
        write!(
            out,
            "{},{},{},{:.4},{},{place}",
            s.ids.0,
            s.ids.1,
            u8::from(s.label),
            score,
            u8::from(linked)
        )?;
        for value in s.values {
            // + 0.0 turns a negative zero into 0.
            write!(out, ",{:.4}", value + 0.0)?;
        }
        out.push('\n');
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Runs the evaluation and prints the report.
pub fn run_dup_eval(args: &DupEvalArgs) -> anyhow::Result<()> {
    if !args.data.exists() {
        bail!(
            "data file {} not found (run from the repository root, next to ../shared/data, or pass --data)",
            args.data.display()
        );
    }
    let table = read_table(&args.data)?;
    let id_col = table
        .column(&args.id_col)
        .with_context(|| format!("no id column {:?} in {}", args.id_col, args.data.display()))?;
    let text_col = table
        .column(&args.text_col)
        .with_context(|| format!("no text column {:?}", args.text_col))?;
    let title_col = table.column(&args.title_col);
    let user_col = table.column(&args.user_col);
    let time_col = table.column(&args.time_col);

    let mut pairs = Vec::new();
    for (part, path) in args.pairs.iter().enumerate() {
        let read = read_pairs(path)?;
        if pairs.len() + read.len() > MAX_PAIRS {
            bail!("more than {MAX_PAIRS} pairs in all");
        }
        pairs.extend(read.into_iter().map(|(a, b, label)| (part, a, b, label)));
    }
    let mut row_of: HashMap<&str, usize> = HashMap::new();
    for row in 0..table.rows.len() {
        row_of.entry(table.cell(row, id_col).trim()).or_insert(row);
    }
    let missing: Vec<&str> = pairs
        .iter()
        .flat_map(|(_, a, b, _)| [a.as_str(), b.as_str()])
        .filter(|id| !row_of.contains_key(id))
        .collect();
    if let Some(first) = missing.first() {
        bail!(
            "{} pair ids are not in column {:?} of {} (first: {first:?})",
            missing.len(),
            args.id_col,
            args.data.display()
        );
    }

    let segmenter = Segmenter::shared_default();
    let profile = |row: usize| {
        RepeatProfile::build(
            segmenter,
            title_col.map_or("", |c| table.cell(row, c)),
            table.cell(row, text_col),
            user_col.map(|c| table.cell(row, c)),
            time_col.and_then(|c| parse_time(table.cell(row, c))),
        )
    };
    // IDF over the whole file: the city's corpus.
    let mut idf = IdfTable::new();
    let mut profiles: HashMap<usize, RepeatProfile> = HashMap::new();
    let wanted: std::collections::HashSet<usize> = pairs
        .iter()
        .flat_map(|(_, a, b, _)| [row_of[a.as_str()], row_of[b.as_str()]])
        .collect();
    for row in 0..table.rows.len() {
        let p = profile(row);
        idf.add_document(&p.words);
        if wanted.contains(&row) {
            profiles.insert(row, p);
        }
    }

    let mut model = RepeatModel::default();
    let mut scored: Vec<Scored> = pairs
        .iter()
        .map(|(part, a, b, label)| {
            let (pa, pb) = (
                &profiles[&row_of[a.as_str()]],
                &profiles[&row_of[b.as_str()]],
            );
            let (values, place) = model.signals(pa, pb, &idf);
            Scored {
                part: *part,
                ids: (a.clone(), b.clone()),
                label: *label,
                values,
                place,
                minhash: pa.signature.estimate(&pb.signature),
            }
        })
        .collect();
    if args.fit {
        let (intercept, weights) = fit_logistic(&scored);
        model.intercept = intercept;
        model.weights = weights;
        let table = pr_table(&scored, &model);
        model.threshold = table
            .iter()
            .filter(|row| row.1.precision() >= TARGET_PRECISION && row.1.tp > 0)
            .map(|row| row.0)
            .fold(f32::INFINITY, f32::min);
        if !model.threshold.is_finite() {
            model.threshold = 0.95;
        }
        println!("fitted on {} pairs:", scored.len());
        println!(
            "    RepeatModel {{ intercept: {:.3}, weights: [{}], threshold: {:.2} }}",
            model.intercept,
            model
                .weights
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect::<Vec<_>>()
                .join(", "),
            model.threshold
        );
    }
    scored.sort_by_key(|x| x.label);
    if let Some(path) = &args.signals {
        write_signals(path, &scored, &model)?;
    }

    let positives = scored.iter().filter(|s| s.label).count();
    let files: Vec<String> = args.pairs.iter().map(|p| p.display().to_string()).collect();
    println!(
        "pairs            {} from {} ({positives} same problem, {} different); data {} ({} messages, IDF over all)",
        scored.len(),
        files.join(", "),
        scored.len() - positives,
        args.data.display(),
        table.rows.len()
    );
    let minhash = |s: &Scored| s.minhash >= MINHASH_BASELINE;
    let linked = |s: &Scored| model.explain(s.values, s.place.clone()).linked;
    let count = |part: Option<usize>, predict: &dyn Fn(&Scored) -> bool| {
        Counts::from(
            scored
                .iter()
                .filter(|s| part.is_none_or(|p| s.part == p))
                .map(|s| (s.label, predict(s))),
        )
    };
    println!("setting{:30}precision  recall     F1   links  right", "");
    println!(
        "MinHash 3-gram >= {MINHASH_BASELINE:.2} (current)     {}",
        current_line(&count(None, &minhash))
    );
    println!(
        "repeat model >= {:.2} (default)       {}",
        model.threshold,
        current_line(&count(None, &linked))
    );
    if files.len() > 1 {
        println!(
            "each part: repeat model precision / recall (right of links), MinHash precision / recall"
        );
        for (part, file) in files.iter().enumerate() {
            let (m, b) = (count(Some(part), &linked), count(Some(part), &minhash));
            println!(
                "  {file}: {:.3} / {:.3} ({} of {}), {:.3} / {:.3}",
                m.precision(),
                m.recall(),
                m.tp,
                m.tp + m.fp,
                b.precision(),
                b.recall()
            );
        }
    }
    let vetoed = scored
        .iter()
        .filter(|s| matches!(s.place, PlaceCheck::Conflicts(..)))
        .count();
    let vetoed_repeats = scored
        .iter()
        .filter(|s| s.label && matches!(s.place, PlaceCheck::Conflicts(..)))
        .count();
    println!(
        "place check      {vetoed} pairs name different places ({vetoed_repeats} of them labelled the same problem)"
    );
    if args.show_errors {
        for s in scored.iter() {
            let explanation = model.explain(s.values, s.place.clone());
            if explanation.linked != s.label {
                let kind = if s.label { "missed" } else { "false link" };
                println!(
                    "{kind:>10} {} {}  {}",
                    s.ids.0,
                    s.ids.1,
                    explanation.render_zh()
                );
            }
        }
    }
    println!("precision-recall of the repeat model over thresholds (place conflicts never link):");
    println!("  threshold  precision  recall     F1   links  right");
    for (threshold, counts) in pr_table(&scored, &model) {
        println!("  {threshold:>9.2}  {}", current_line(&counts));
    }
    Ok(())
}

/// Precision to four places (the target is read against it), recall, F1, links and right links.
fn current_line(c: &Counts) -> String {
    format!(
        "{:>9.4}  {:>6.3}  {:>5.3}  {:>6}  {:>5}",
        c.precision(),
        c.recall(),
        c.f1(),
        c.tp + c.fp,
        c.tp
    )
}

fn pr_table(scored: &[Scored], model: &RepeatModel) -> Vec<(f32, Counts)> {
    (1..40)
        .map(|step| {
            let threshold = step as f32 * 0.025;
            let mut m = model.clone();
            m.threshold = threshold;
            let counts = Counts::from(
                scored
                    .iter()
                    .map(|s| (s.label, m.explain(s.values, s.place.clone()).linked)),
            );
            (threshold, counts)
        })
        .collect()
}

#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn from(outcomes: impl Iterator<Item = (bool, bool)>) -> Counts {
        let mut c = Counts::default();
        for (label, predicted) in outcomes {
            match (label, predicted) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (true, false) => c.fn_ += 1,
                (false, false) => {}
            }
        }
        c
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            1.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

/// Logistic regression by batch gradient descent with a small L2 penalty (the intercept is not penalised).
fn fit_logistic(scored: &[Scored]) -> (f32, [f32; SIGNAL_COUNT]) {
    let mut w = [0.0f64; SIGNAL_COUNT + 1];
    let n = scored.len().max(1) as f64;
    let l2 = 0.01;
    for _ in 0..20_000 {
        let mut grad = [0.0f64; SIGNAL_COUNT + 1];
        for s in scored {
            let x: Vec<f64> = std::iter::once(1.0)
                .chain(s.values.iter().map(|&v| f64::from(v)))
                .collect();
            let z: f64 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let err = p - f64::from(u8::from(s.label));
            for (g, xi) in grad.iter_mut().zip(&x) {
                *g += err * xi / n;
            }
        }
        for k in 0..=SIGNAL_COUNT {
            let penalty = if k == 0 { 0.0 } else { l2 * w[k] };
            w[k] -= 1.0 * (grad[k] + penalty);
        }
    }
    let mut weights = [0.0f32; SIGNAL_COUNT];
    for (k, weight) in weights.iter_mut().enumerate() {
        *weight = w[k + 1] as f32;
    }
    (w[0] as f32, weights)
}

/// Reads `id_a,id_b,label` rows (header required, label 0 or 1), at most [`MAX_PAIRS`].
fn read_pairs(path: &std::path::Path) -> anyhow::Result<Vec<(String, String, bool)>> {
    let mut reader = csv::ReaderBuilder::new()
        .from_path(path)
        .with_context(|| format!("cannot open pairs file {}", path.display()))?;
    let headers: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).with_context(|| {
            format!(
                "{}: no column {name:?} (need id_a,id_b,label)",
                path.display()
            )
        })
    };
    let (a, b, l) = (column("id_a")?, column("id_b")?, column("label")?);
    let mut pairs = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record =
            record.with_context(|| format!("{}: bad CSV record {}", path.display(), i + 2))?;
        if pairs.len() >= MAX_PAIRS {
            bail!("{}: more than {MAX_PAIRS} pairs", path.display());
        }
        let get = |c: usize| record.get(c).unwrap_or("").trim().to_owned();
        let label = match get(l).as_str() {
            "1" => true,
            "0" => false,
            other => bail!(
                "{}: line {}: label must be 0 or 1, found {other:?}",
                path.display(),
                i + 2
            ),
        };
        pairs.push((get(a), get(b), label));
    }
    if pairs.is_empty() {
        bail!("{}: no pairs", path.display());
    }
    Ok(pairs)
}
