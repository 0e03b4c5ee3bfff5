//! Branches: a run that replays a seed's past exactly, then draws a
//! different future from some point on.
//!
//! The engines are deterministic, so a seed's run up to any event is the
//! same every time. A [`Branch`] is a list of event indices (strictly
//! increasing) at which the seeded fault overlay's streams are reseeded:
//! the first overlay draw made once `p` events have been recorded, for a
//! point `p`, comes from a fresh stream derived from the scenario seed, the
//! point's position in the list and `p` itself. Everything before that draw
//! is the seed's own run, so a branch keeps whatever rare state the seed
//! had reached by then (FoundationDB's and Antithesis's "go back to where it
//! got interesting and roll the dice again", without `fork()`).
//!
//! Only the overlay (`faults.random`, and the rates a swarm draw gives it)
//! is reseeded. Scripts, timed faults and a swarm draw are decided before
//! the run, and backoff jitter and the turmoil engine's loss and latency
//! keep drawing from the seed: a branch of a scenario without an overlay is
//! the seed itself.
//!
//! A branch reads and prints as its points joined by commas (`120,133`),
//! which is how `--branch` takes it.

use std::str::FromStr;

/// At most this many points in one branch: a repro line stays short, and
/// each point costs a reseed.
pub const MAX_BRANCH_POINTS: usize = 64;

/// The event indices at which a run reseeds its fault overlay; empty for
/// the seed's own run.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Branch(Vec<u64>);

impl Branch {
    /// The seed's own run.
    pub const NONE: Branch = Branch(Vec::new());

    /// A branch at these points, which must be strictly increasing and at
    /// most [`MAX_BRANCH_POINTS`].
    pub fn new(points: Vec<u64>) -> Result<Branch, String> {
        if points.len() > MAX_BRANCH_POINTS {
            return Err(format!(
                "a branch has at most {MAX_BRANCH_POINTS} points; this one has {}",
                points.len()
            ));
        }
        if let Some(w) = points.windows(2).find(|w| w[0] >= w[1]) {
            return Err(format!(
                "branch points must increase: {} comes after {}",
                w[1], w[0]
            ));
        }
        Ok(Branch(points))
    }

    /// The points, in order.
    pub fn points(&self) -> &[u64] {
        &self.0
    }

    /// True for the seed's own run.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// This branch with one more point at `at`, if `at` comes after its
    /// last one and there is room.
    pub fn then(&self, at: u64) -> Option<Branch> {
        if self.0.len() >= MAX_BRANCH_POINTS || self.0.last().is_some_and(|&last| at <= last) {
            return None;
        }
        let mut points = self.0.clone();
        points.push(at);
        Some(Branch(points))
    }

    /// The seed of the stream for `label` after the `k`-th point (from 0),
    /// at event `at`, under `seed`.
    pub(crate) fn reseeded(seed: u64, k: usize, at: u64, label: &str) -> rand_chacha::ChaCha8Rng {
        let derived = super::faults::derived_seed(seed, &format!("branch.{k}.{at}"));
        super::faults::seeded_stream(derived, label)
    }
}

impl std::fmt::Display for Branch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl FromStr for Branch {
    type Err = String;

    /// Event indices joined by commas, increasing: `120,133`.
    fn from_str(s: &str) -> Result<Branch, String> {
        let points = s
            .split(',')
            .map(|p| {
                p.trim().parse::<u64>().map_err(|_| {
                    format!("`{p}` is not an event index: a branch is event indices joined by commas, increasing, such as 120,133")
                })
            })
            .collect::<Result<Vec<u64>, String>>()?;
        Branch::new(points)
    }
}

/// A branch serializes as it prints: `"120,133"` (`""` for none).
impl serde::Serialize for Branch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A branch deserializes from its printed form, checked as `--branch` is.
impl<'de> serde::Deserialize<'de> for Branch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Ok(Branch::NONE);
        }
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches_read_print_and_extend() {
        let b: Branch = "120, 133".parse().unwrap();
        assert_eq!(b.points(), [120, 133]);
        assert_eq!(b.to_string(), "120,133");
        assert_eq!(b.then(133), None);
        assert_eq!(b.then(140).unwrap().to_string(), "120,133,140");
        assert_eq!(Branch::NONE.then(0).unwrap().points(), [0]);
        assert!(
            "133,120"
                .parse::<Branch>()
                .unwrap_err()
                .contains("increase")
        );
        assert!("1,x".parse::<Branch>().unwrap_err().contains("`x`"));
        assert!("".parse::<Branch>().is_err());
        let full = Branch::new((0..MAX_BRANCH_POINTS as u64).collect()).unwrap();
        assert_eq!(full.then(1_000), None);
    }
}
