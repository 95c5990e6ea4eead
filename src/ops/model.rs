//! The overview's pure rules: who sees it, the queue tile's table, ages in words, and the
//! 24-hour sparkline's geometry.

use crate::actor::Actor;
use crate::jobs::JobState;
use crate::jobs::read::StateCount;

/// Any staff member, whatever the role (a VIEWER account can drive a wall screen).
pub fn can_view(actor: &Actor) -> bool {
    actor.is_staff
}

/// The queue tile's columns, in order: what the figure counts and the list state it links to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueColumn {
    /// Available and due: waiting for a worker.
    Waiting,
    /// Available, its time not yet come.
    Scheduled,
    Running,
    Retryable,
    Discarded,
    Cancelled,
}

impl QueueColumn {
    pub const ALL: &'static [QueueColumn] = &[
        QueueColumn::Waiting,
        QueueColumn::Scheduled,
        QueueColumn::Running,
        QueueColumn::Retryable,
        QueueColumn::Discarded,
        QueueColumn::Cancelled,
    ];

    pub fn label(self) -> &'static str {
        match self {
            QueueColumn::Waiting => "Waiting",
            QueueColumn::Scheduled => "Scheduled",
            QueueColumn::Running => "Running",
            QueueColumn::Retryable => "Retrying",
            QueueColumn::Discarded => "Failed",
            QueueColumn::Cancelled => "Cancelled",
        }
    }

    /// The job list's state filter showing these jobs (waiting and scheduled jobs are both
    /// `available` there).
    pub fn state(self) -> JobState {
        match self {
            QueueColumn::Waiting | QueueColumn::Scheduled => JobState::Available,
            QueueColumn::Running => JobState::Running,
            QueueColumn::Retryable => JobState::Retryable,
            QueueColumn::Discarded => JobState::Discarded,
            QueueColumn::Cancelled => JobState::Cancelled,
        }
    }

    /// The job list of every kind in this column's state.
    pub fn href(&self) -> String {
        jobs_href("", *self)
    }

    /// A failure column: shown as an alert when not zero.
    pub fn is_failure(self) -> bool {
        matches!(self, QueueColumn::Retryable | QueueColumn::Discarded)
    }

    fn of(c: &StateCount) -> Option<QueueColumn> {
        Some(match c.state {
            JobState::Available if c.is_scheduled() => QueueColumn::Scheduled,
            JobState::Available => QueueColumn::Waiting,
            JobState::Running => QueueColumn::Running,
            JobState::Retryable => QueueColumn::Retryable,
            JobState::Discarded => QueueColumn::Discarded,
            JobState::Cancelled => QueueColumn::Cancelled,
            JobState::Completed => return None,
        })
    }
}

/// One row of the queue tile: a kind and its count in each column (`QueueColumn::ALL` order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindRow {
    pub kind: String,
    pub counts: Vec<i64>,
}

impl KindRow {
    /// The job list filtered to this kind and the column's state.
    pub fn href(&self, col: &QueueColumn) -> String {
        jobs_href(&self.kind, *col)
    }

    /// `(column, count)` pairs for the template.
    pub fn cells(&self) -> Vec<(QueueColumn, i64)> {
        QueueColumn::ALL
            .iter()
            .copied()
            .zip(self.counts.iter().copied())
            .collect()
    }
}

/// `/ops/jobs` filtered to `kind` ("" = every kind) and the column's state.
pub fn jobs_href(kind: &str, col: QueueColumn) -> String {
    let q =
        crate::web::pagination::filter_query(&[("kind", kind), ("state", col.state().as_str())]);
    format!("/ops/jobs?{}", &q[1..])
}

/// Rows by kind (completed jobs are history, not queue) and the column totals. A kind whose
/// jobs have all completed has no row.
pub fn queue_table(counts: &[StateCount]) -> (Vec<KindRow>, Vec<i64>) {
    let mut rows: Vec<KindRow> = Vec::new();
    for c in counts {
        let Some(col) = QueueColumn::of(c) else {
            continue;
        };
        let i = QueueColumn::ALL.iter().position(|x| *x == col).unwrap_or(0);
        match rows.iter_mut().find(|r| r.kind == c.kind) {
            Some(r) => r.counts[i] += c.n,
            None => {
                let mut counts = vec![0; QueueColumn::ALL.len()];
                counts[i] = c.n;
                rows.push(KindRow {
                    kind: c.kind.clone(),
                    counts,
                });
            }
        }
    }
    rows.sort_by(|a, b| a.kind.cmp(&b.kind));
    let totals = (0..QueueColumn::ALL.len())
        .map(|i| rows.iter().map(|r| r.counts[i]).sum())
        .collect();
    (rows, totals)
}

/// `part` of `whole` in whole percent, rounded half up; None when `whole` is 0.
pub fn percent(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part.clamp(0, whole) * 200 + whole) / (2 * whole))
}

/// An age in words at the precision that matters: `45 s`, `3 min 5 s`, `2 h 10 min`, `3 d 4 h`.
pub fn age_words(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        3600..86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        _ => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Counts per hour for the `hours` hours ending now, oldest first, from `(hour index, count)`
/// pairs where index 0 is the oldest hour; indexes outside the window are ignored.
pub fn hourly(pairs: &[(i64, i64)], hours: usize) -> Vec<i64> {
    let mut out = vec![0; hours];
    for &(h, n) in pairs {
        if let Ok(i) = usize::try_from(h)
            && i < hours
        {
            out[i] += n;
        }
    }
    out
}

/// The sparkline's drawing box (SVG user units).
pub const SPARK_W: i64 = 240;
pub const SPARK_H: i64 = 40;

/// The `points` of an SVG polyline for `values`, scaled to the box (the highest value at the
/// top, zero at the bottom; all zeros lie flat on the bottom).
pub fn spark_points(values: &[i64]) -> String {
    spark_points_max(values, values.iter().copied().max().unwrap_or(0))
}

/// [`spark_points`] on a fixed scale: `max` (or the highest value, if higher) at the top.
pub fn spark_points_max(values: &[i64], max: i64) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(max).max(1);
    let n = values.len().max(2) as i64 - 1;
    let pad = 2;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = i as i64 * SPARK_W / n;
            let y = SPARK_H - pad - (*v).max(0) * (SPARK_H - 2 * pad) / max;
            format!("{x},{y}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(kind: &str, state: JobState, scheduled: bool, n: i64) -> StateCount {
        StateCount {
            kind: kind.into(),
            state,
            scheduled: i64::from(scheduled),
            n,
        }
    }

    #[test]
    fn the_queue_table_splits_waiting_from_scheduled_and_leaves_history_out() {
        let (rows, totals) = queue_table(&[
            count("mail.send", JobState::Available, false, 3),
            count("mail.send", JobState::Available, true, 2),
            count("mail.send", JobState::Completed, false, 90),
            count("cloudpod.provision", JobState::Discarded, false, 1),
            count("cloudpod.provision", JobState::Running, false, 4),
            count("old.kind", JobState::Completed, false, 7),
        ]);
        assert_eq!(
            rows,
            vec![
                KindRow {
                    kind: "cloudpod.provision".into(),
                    counts: vec![0, 0, 4, 0, 1, 0]
                },
                KindRow {
                    kind: "mail.send".into(),
                    counts: vec![3, 2, 0, 0, 0, 0]
                },
            ]
        );
        assert_eq!(totals, vec![3, 2, 4, 0, 1, 0]);
        assert_eq!(queue_table(&[]), (vec![], vec![0; 6]));
        assert_eq!(QueueColumn::Scheduled.state(), JobState::Available);
        assert!(QueueColumn::Discarded.is_failure() && !QueueColumn::Waiting.is_failure());
        assert_eq!(
            rows[1].href(&QueueColumn::Scheduled),
            "/ops/jobs?kind=mail.send&state=available"
        );
        assert_eq!(
            jobs_href("", QueueColumn::Discarded),
            "/ops/jobs?state=discarded"
        );
    }

    #[test]
    fn percentages_round_half_up_and_need_somebody_to_count() {
        assert_eq!(percent(1, 2), Some(50));
        assert_eq!(percent(2, 3), Some(67));
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(1, 8), Some(13));
        assert_eq!(percent(0, 5), Some(0));
        assert_eq!(percent(5, 5), Some(100));
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn ages_read_at_the_precision_that_matters() {
        assert_eq!(age_words(-5), "0 s");
        assert_eq!(age_words(45_900), "45 s");
        assert_eq!(age_words(185_000), "3 min 5 s");
        assert_eq!(age_words(7_800_000), "2 h 10 min");
        assert_eq!(age_words(273_600_000), "3 d 4 h");
    }

    #[test]
    fn hours_fill_the_window_and_the_sparkline_fits_its_box() {
        assert_eq!(
            hourly(&[(0, 2), (3, 1), (3, 4), (-1, 9), (4, 9)], 4),
            vec![2, 0, 0, 5]
        );
        assert_eq!(spark_points(&[0, 5, 10]), "0,38 120,20 240,2");
        assert_eq!(spark_points(&[0, 0]), "0,38 240,38");
        assert_eq!(spark_points(&[3]), "0,2");
        assert_eq!(spark_points_max(&[0, 50, 100], 100), "0,38 120,20 240,2");
        assert_eq!(spark_points_max(&[0, 50], 100), "0,38 240,20");
    }
}
