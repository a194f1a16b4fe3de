//! Durations and their statistics (count, mean, nearest-rank median and
//! 90th percentile), and rates.

use serde::Serialize;

/// Exact duration samples, in milliseconds: merged by concatenation, so the
/// percentiles of a merge are those of the whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Durations(pub(super) Vec<i64>);

impl Durations {
    /// The statistics of the samples, which it sorts in place (no copy:
    /// the samples of a million cases are megabytes, and their order
    /// matters to no one).
    pub(super) fn stats(&mut self) -> DurationStats {
        self.0.sort_unstable();
        let v = &self.0;
        let n = v.len();
        let rank = |pct: usize| -> Option<f64> {
            // Nearest rank: the element at 1-based rank ceil(pct/100 × n),
            // computed in integers so that no rounding can move it.
            let r = (pct * n).div_ceil(100);
            v.get(r.checked_sub(1)?).map(|x| *x as f64 / 1000.0)
        };
        DurationStats {
            count: n as u64,
            mean_s: (n > 0).then(|| v.iter().map(|x| *x as f64).sum::<f64>() / n as f64 / 1000.0),
            median_s: rank(50),
            p90_s: rank(90),
        }
    }
}

/// `num / den`, or `None` when the denominator is 0.
pub(super) fn rate(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Statistics of a list of durations, in seconds (null when empty).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DurationStats {
    /// How many durations.
    pub count: u64,
    /// Their mean.
    pub mean_s: Option<f64>,
    /// Nearest-rank median.
    pub median_s: Option<f64>,
    /// Nearest-rank 90th percentile.
    pub p90_s: Option<f64>,
}
