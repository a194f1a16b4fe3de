//! Durations and their statistics (count, mean, nearest-rank median and
//! 90th percentile), and rates.

use serde::Serialize;

/// Exact duration samples, in milliseconds: merged by concatenation, so the
/// percentiles of a merge are those of the whole.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Durations(pub(super) Vec<i64>);

impl Durations {
    /// The statistics of the samples, which it reorders in place (no
    /// copy: the samples of a million cases are megabytes, and their order
    /// matters to no one). The two ranks are selected, not sorted for: O(n)
    /// rather than O(n log n), on the report's last, sequential step. The
    /// mean is the exact sum (in 128 bits) over the count, rounded once, so
    /// it does not depend on the order either.
    pub(super) fn stats(&mut self) -> DurationStats {
        let n = self.0.len();
        // Nearest rank: the 0-based index of the element at 1-based rank
        // ceil(pct/100 × n), computed in integers so that no rounding can
        // move it.
        let index = |pct: usize| (pct * n).div_ceil(100).checked_sub(1);
        let (i50, i90) = (index(50), index(90));
        let median = i50.and_then(|i| self.nth(0, i));
        // After selecting the median, every sample after it is at least
        // the median, so the 90th percentile (at an index not below) is
        // selected among those alone.
        let p90 = match (i50, i90) {
            (Some(m), Some(i)) if i > m => self.nth(m + 1, i),
            (_, Some(_)) => median,
            (_, None) => None,
        };
        let sum: i128 = self.0.iter().map(|&x| i128::from(x)).sum();
        DurationStats {
            count: n as u64,
            mean_s: (n > 0).then(|| sum as f64 / n as f64 / 1000.0),
            median_s: median.map(|x| x as f64 / 1000.0),
            p90_s: p90.map(|x| x as f64 / 1000.0),
        }
    }

    /// The sample at `index` in sorted order, selected within the samples
    /// from `from` on (all of which are at least those before them).
    fn nth(&mut self, from: usize, index: usize) -> Option<i64> {
        let rest = self.0.get_mut(from..)?;
        let at = index.checked_sub(from)?;
        (at < rest.len()).then(|| *rest.select_nth_unstable(at).1)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The nearest-rank definition by a full sort, as the statistics were
    /// computed before they selected their ranks.
    fn by_sorting(mut v: Vec<i64>) -> DurationStats {
        v.sort_unstable();
        let n = v.len();
        let rank = |pct: usize| -> Option<f64> {
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

    /// Selected ranks and the exact mean equal the sorted computation on
    /// every length from 0 to 300, with ties, negative values and values in
    /// any order.
    #[test]
    fn selected_statistics_equal_the_sorted_ones() {
        let mut x: u64 = 2026;
        let mut next = || {
            // A linear congruential generator: deterministic, no dependency.
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        for n in 0..300 {
            for spread in [3, 1_000, 86_400_000_000] {
                let v: Vec<i64> = (0..n)
                    .map(|_| (next() % spread) as i64 - (spread / 10) as i64)
                    .collect();
                assert_eq!(Durations(v.clone()).stats(), by_sorting(v), "{n} samples");
            }
        }
    }
}
