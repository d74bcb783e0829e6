//! What the intake writer did during a load, read from the process's own Prometheus series (the
//! bench installs the recorder the server installs): group commits, appeals in them, and the time
//! spent storing and durably committing them. It separates the writer's work from the rate's noise.

/// The intake writer's totals at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WriterTotals {
    /// Group commits.
    groups: f64,
    /// Appeals in them.
    appeals: f64,
    /// Seconds storing and committing them (`urbis_intake_commit_duration_seconds`).
    busy: f64,
    /// Seconds of that in COMMIT alone (`urbis_intake_sync_duration_seconds`).
    sync: f64,
}

/// The intake writer's work over one load.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriterWork {
    /// Appeals per group commit, on average.
    pub group: f64,
    /// Milliseconds per group: storing and committing, and of that the COMMIT alone.
    pub group_ms: f64,
    pub sync_ms: f64,
    /// Milliseconds of the writer's time per appeal (storing and committing).
    pub per_appeal_ms: f64,
    /// Share of the load's wall time the writer spent storing and committing.
    pub busy_share: f64,
}

/// Reads the writer's totals from the process's recorder.
pub(crate) struct WriterProbe {
    /// Renders the recorder's series in the Prometheus text format.
    render: Box<dyn Fn() -> String + Send + Sync>,
}

impl WriterProbe {
    /// Installs the process-wide recorder (once); `None` when another recorder holds the place.
    pub(crate) fn install() -> Option<WriterProbe> {
        let handle = urbis_http::metrics_handle()?;
        Some(WriterProbe {
            render: Box::new(move || handle.render()),
        })
    }

    pub(crate) fn totals(&self) -> WriterTotals {
        WriterTotals::parse(&(self.render)())
    }
}

impl WriterTotals {
    /// Reads the totals from series in the Prometheus text format (0 for a series not there).
    fn parse(text: &str) -> WriterTotals {
        let value = |name: &str| -> f64 {
            text.lines()
                .filter_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                .find_map(|v| v.trim().parse().ok())
                .unwrap_or(0.0)
        };
        WriterTotals {
            groups: value("urbis_intake_batch_size_count"),
            appeals: value("urbis_intake_batch_size_sum"),
            busy: value("urbis_intake_commit_duration_seconds_sum"),
            sync: value("urbis_intake_sync_duration_seconds_sum"),
        }
    }

    /// The work between `before` and these totals over `elapsed` seconds of wall time; `None`
    /// when the writer made no group commit.
    pub(crate) fn since(&self, before: &WriterTotals, elapsed: f64) -> Option<WriterWork> {
        let groups = self.groups - before.groups;
        let appeals = self.appeals - before.appeals;
        let busy = self.busy - before.busy;
        let sync = self.sync - before.sync;
        (groups > 0.0 && appeals > 0.0 && elapsed > 0.0).then(|| WriterWork {
            group: appeals / groups,
            group_ms: busy * 1e3 / groups,
            sync_ms: sync * 1e3 / groups,
            per_appeal_ms: busy * 1e3 / appeals,
            busy_share: busy / elapsed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::WriterTotals;

    const BEFORE: &str = "\
# TYPE urbis_intake_batch_size histogram
urbis_intake_batch_size_bucket{le=\"32\"} 3
urbis_intake_batch_size_sum 40
urbis_intake_batch_size_count 4
urbis_intake_batches_total 4
urbis_intake_commit_duration_seconds_sum 0.1
urbis_intake_commit_duration_seconds_count 4
";

    const AFTER: &str = "\
urbis_intake_batch_size_sum 340
urbis_intake_batch_size_count 14
urbis_intake_commit_duration_seconds_sum 0.6
urbis_intake_commit_duration_seconds_count 14
urbis_intake_sync_duration_seconds_sum 0.2
urbis_intake_sync_duration_seconds_count 10
";

    #[test]
    fn the_work_between_two_scrapes_is_per_group_and_per_appeal() {
        let before = WriterTotals::parse(BEFORE);
        let work = WriterTotals::parse(AFTER)
            .since(&before, 2.0)
            .expect("ten groups were committed");
        // 300 appeals in 10 groups, 0.5 s storing and committing, 0.2 s of it in COMMIT.
        assert!((work.group - 30.0).abs() < 1e-9);
        assert!((work.group_ms - 50.0).abs() < 1e-9);
        assert!((work.sync_ms - 20.0).abs() < 1e-9);
        assert!((work.per_appeal_ms - 0.5 / 300.0 * 1e3).abs() < 1e-9);
        assert!((work.busy_share - 0.25).abs() < 1e-9);
    }

    #[test]
    fn no_group_committed_is_no_figure() {
        let before = WriterTotals::parse(BEFORE);
        assert!(before.since(&before, 2.0).is_none());
        // A name that only begins like a series is not read as it: were the count below read as
        // the group count, the appeals beside it would make a figure.
        let totals = WriterTotals::parse(
            "urbis_intake_batch_size_count_x 9\nurbis_intake_batch_size_sum 30\n",
        );
        assert!(totals.since(&WriterTotals::default(), 1.0).is_none());
    }
}
