//! Exact, mergeable distributions.
//!
//! A [`Histogram`] counts whole-number observations by value. Two histograms
//! merge by adding counts, so shards of a sweep combine into exactly the
//! histogram a single run would have built, and every percentile derived from
//! it is the same.

use std::collections::BTreeMap;

/// Counts of whole-number observations, by value. It serializes and
/// deserializes as the sweep schema's [`Histogram`](super::machine::Histogram).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram(pub BTreeMap<u64, u64>);

impl Histogram {
    /// Records one observation.
    pub fn add(&mut self, value: u64) {
        let n = self.0.entry(value).or_default();
        *n = n.saturating_add(1);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (&v, &n) in &other.0 {
            let total = self.0.entry(v).or_default();
            *total = total.saturating_add(n);
        }
    }

    /// How many observations (at most `u64::MAX`).
    pub fn count(&self) -> u64 {
        self.total().unwrap_or(u64::MAX)
    }

    /// How many observations; `None` when that overflows a `u64` (a
    /// crafted report).
    pub fn total(&self) -> Option<u64> {
        self.0.values().try_fold(0u64, |sum, &n| sum.checked_add(n))
    }

    /// The nearest-rank percentile (`p` in 0..=100); `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((p / 100.0) * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (&v, &c) in &self.0 {
            seen += c;
            if seen >= rank {
                return Some(v);
            }
        }
        self.0.keys().next_back().copied()
    }

    /// min, p50, p90, p99, max.
    pub fn summary(&self) -> Option<Summary> {
        Some(Summary {
            count: self.count(),
            min: *self.0.keys().next()?,
            p50: self.percentile(50.0)?,
            p90: self.percentile(90.0)?,
            p99: self.percentile(99.0)?,
            max: *self.0.keys().next_back()?,
        })
    }
}

/// The five numbers of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Observations.
    pub count: u64,
    /// Smallest.
    pub min: u64,
    /// Median (nearest rank).
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest.
    pub max: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_and_merging() {
        let mut a = Histogram::default();
        for v in 1..=50 {
            a.add(v);
        }
        let mut b = Histogram::default();
        for v in 51..=100 {
            b.add(v);
        }
        let mut all = a.clone();
        all.merge(&b);
        let s = all.summary().unwrap();
        assert_eq!(
            (s.count, s.min, s.p50, s.p90, s.p99, s.max),
            (100, 1, 50, 90, 99, 100)
        );
        let mut other_order = b;
        other_order.merge(&a);
        assert_eq!(all, other_order);
        assert_eq!(Histogram::default().summary(), None);
        let json = serde_json::to_string(&all).unwrap();
        assert_eq!(serde_json::from_str::<Histogram>(&json).unwrap(), all);
    }
}
