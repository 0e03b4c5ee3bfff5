//! `runner`: the configuration every worker's runner gets.
//!
//! Intervals and the backoff policy are checked by the runner itself
//! ([`RunnerConfig::validate`]), which stops at the first broken rule; the
//! loader reports every one, each at its key, by repairing it in a copy and
//! validating again. `max_attempts` must be at least 1 (unset is
//! unlimited). `request_timeout` and `restart_after` are read with the
//! network plan ([`network`](super::network)).

use std::time::Duration;

use crate::duration::Dur;
use crate::limits::MAX_PROBLEMS;
use crate::schema::{Jitter, RunnerSection};
use crate::source::{Path, at};
use rollout_core::Jitter as RunnerJitter;
use rollout_core::{BackoffPolicy, ConfigError, RunnerConfig};

use super::Validator;

impl Validator<'_> {
    /// The runner's configuration, every broken rule of it reported.
    pub(super) fn runner(&mut self, section: &RunnerSection) -> RunnerConfig {
        let config = runner_config(section);
        let mut probe = config.clone();
        while let Err(e) = probe.validate() {
            let (at, help) = repair(&mut probe, &e);
            self.problem(at, e.to_string(), Some(help.into()));
            if self.problems.len() >= MAX_PROBLEMS {
                break;
            }
        }
        config
    }

    /// `runner.max_attempts`, refused when 0.
    pub(super) fn max_attempts(&mut self, section: &RunnerSection) -> Option<u32> {
        if section.max_attempts == Some(0) {
            self.problem(
                at!["runner", "max_attempts"],
                "max_attempts must be at least 1",
                Some("leave it unset for unlimited attempts".into()),
            );
        }
        section.max_attempts
    }
}

/// The section as a [`RunnerConfig`], defaults for what it leaves out.
fn runner_config(section: &RunnerSection) -> RunnerConfig {
    let defaults = RunnerConfig::default();
    let get = |d: Option<Dur>, default: Duration| d.map_or(default, |d| d.0);
    let backoff = section.backoff.clone().unwrap_or_default();
    let jitter = match backoff.jitter.unwrap_or(Jitter::None) {
        Jitter::None => RunnerJitter::None,
        Jitter::Full => RunnerJitter::Full,
        Jitter::Equal => RunnerJitter::Equal,
        Jitter::Decorrelated => RunnerJitter::Decorrelated,
    };
    RunnerConfig {
        worker_id: defaults.worker_id.clone(),
        poll_interval: get(section.poll_interval, defaults.poll_interval),
        heartbeat_interval: get(section.heartbeat_interval, defaults.heartbeat_interval),
        reassignment_interval: get(
            section.reassignment_interval,
            defaults.reassignment_interval,
        ),
        worker_timeout: get(section.worker_timeout, defaults.worker_timeout),
        backoff: BackoffPolicy {
            initial: get(backoff.initial, defaults.backoff.initial),
            max: get(backoff.max, defaults.backoff.max),
            jitter,
        },
        retry_metrics: section.retry_metrics.unwrap_or(defaults.retry_metrics),
        // Per worker, derived from the scenario seed by the simulator.
        jitter_seed: 0,
    }
}

/// Repairs in `probe` the rule `error` reports, so that validating again
/// finds the next: where the broken setting is, and the help for it.
fn repair(probe: &mut RunnerConfig, error: &ConfigError) -> (Path, &'static str) {
    let one_ms = Duration::from_millis(1);
    match error {
        ConfigError::BackoffInitialZero => {
            probe.backoff.initial = one_ms.max(probe.backoff.max);
            (
                at!["runner", "backoff", "initial"],
                "the first retry delay, such as 25ms",
            )
        }
        ConfigError::BackoffMaxZero | ConfigError::BackoffMaxBelowInitial { .. } => {
            probe.backoff.max = probe.backoff.initial.max(one_ms);
            (
                at!["runner", "backoff", "max"],
                "the cap on the delay: at least `initial`, such as 500ms",
            )
        }
        ConfigError::ZeroInterval { name } => {
            match *name {
                "poll_interval" => probe.poll_interval = one_ms,
                "heartbeat_interval" => probe.heartbeat_interval = one_ms,
                "reassignment_interval" => probe.reassignment_interval = one_ms,
                _ => probe.worker_timeout = one_ms,
            }
            (
                at!["runner", name.to_string()],
                "a timer fires every interval: 1ms or more",
            )
        }
    }
}
