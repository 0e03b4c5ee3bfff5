//! `seeds`: the seeds a file is tested with, each its own test case.
//!
//! A list of at most [`MAX_SEEDS`] distinct seeds, instead of `seed` (a
//! file with both would leave unclear which one `rollout-sim scenario`
//! runs). Absent, the file is tested with `seed` alone.

use std::collections::BTreeMap;

use crate::limits::MAX_SEEDS;
use crate::schema::ScenarioFile;
use crate::source::at;

use super::Validator;

impl Validator<'_> {
    /// The seeds to test the file with, never empty.
    pub(super) fn seeds(&mut self, file: &ScenarioFile) -> Vec<u64> {
        let Some(list) = &file.seeds else {
            return vec![file.seed];
        };
        let seed = at!["seed"];
        if self.map.key(&seed).is_some() {
            self.key_problem(
                seed,
                "`seed` and `seeds` together: which one would `rollout-sim scenario` run?",
                Some("keep `seeds` (list the seed there too) or `seed` alone".into()),
            );
        }
        if list.is_empty() {
            self.problem(
                at!["seeds"],
                "`seeds` lists no seed",
                Some("list at least one, such as `seeds: [0, 1, 2]`, or write `seed: N`".into()),
            );
            return vec![file.seed];
        }
        if list.len() > MAX_SEEDS {
            self.problem(
                at!["seeds"],
                format!("{} seeds is more than the limit of {MAX_SEEDS}", list.len()),
                Some("sweep many seeds with `rollout-sim explore --seeds A..B`".into()),
            );
            return list[..1].to_vec();
        }
        let mut first: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, seed) in list.iter().enumerate() {
            if let Some(earlier) = first.get(seed) {
                self.problem(
                    at!["seeds", i],
                    format!("seed {seed} is listed twice (also at position {earlier})"),
                    Some("each seed is one test case: list it once".into()),
                );
            } else {
                first.insert(*seed, i);
            }
        }
        list.clone()
    }
}
