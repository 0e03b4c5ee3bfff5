//! `runner`: the configuration every worker's runner gets.
//!
//! Intervals and the backoff policy are checked by the runner itself
//! ([`RunnerConfig::validate`]), which stops at the first broken rule; the
//! loader reports every one, each at its key, by repairing it in a copy and
//! validating again. `max_attempts` must be at least 1 (unset is
//! unlimited). `request_timeout` and `restart_after` are read with the
//! network plan ([`network`](super::network)). A worker's own `runner:`
//! (`workers: [{ id, runner }]`) is the top-level one with its keys over
//! it, checked the same way.

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
        self.runner_at(&at!["runner"], section, None)
    }

    /// A worker's own `runner:` at `base`, over the top-level one: its
    /// configuration, each broken rule reported at the key the worker sets
    /// (or at `base`, when the rule breaks only with the top-level values).
    /// The run's settings (`max_attempts`, `request_timeout`,
    /// `restart_after`) are not a worker's.
    pub(super) fn worker_runner(
        &mut self,
        base: &Path,
        own: &RunnerSection,
        top: &RunnerSection,
    ) -> RunnerConfig {
        for (key, set) in [
            ("max_attempts", own.max_attempts.is_some()),
            ("request_timeout", own.request_timeout.is_some()),
            ("restart_after", own.restart_after.is_some()),
        ] {
            if set {
                self.key_problem(
                    at![base; key],
                    format!("`{key}` is the run's setting, not a worker's"),
                    Some(format!("set `runner.{key}` at the top level")),
                );
            }
        }
        let merged = merged(own, top);
        self.runner_at(base, &merged, Some(own))
    }

    fn runner_at(
        &mut self,
        base: &Path,
        section: &RunnerSection,
        own: Option<&RunnerSection>,
    ) -> RunnerConfig {
        let config = runner_config(section);
        let mut probe = config.clone();
        while let Err(e) = probe.validate() {
            let (keys, help) = repair(&mut probe, &e);
            let at = match own {
                Some(own) if !sets(own, keys) => base.clone(),
                _ => keys.iter().fold(base.clone(), |at, k| at![at; *k]),
            };
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

/// `own`'s settings over `top`'s, key by key (the backoff's too).
fn merged(own: &RunnerSection, top: &RunnerSection) -> RunnerSection {
    let backoff = match (&own.backoff, &top.backoff) {
        (Some(o), Some(t)) => Some(crate::schema::BackoffSection {
            initial: o.initial.or(t.initial),
            max: o.max.or(t.max),
            jitter: o.jitter.or(t.jitter),
        }),
        (o, t) => o.clone().or_else(|| t.clone()),
    };
    RunnerSection {
        poll_interval: own.poll_interval.or(top.poll_interval),
        heartbeat_interval: own.heartbeat_interval.or(top.heartbeat_interval),
        reassignment_interval: own.reassignment_interval.or(top.reassignment_interval),
        worker_timeout: own.worker_timeout.or(top.worker_timeout),
        backoff,
        retry_metrics: own.retry_metrics.or(top.retry_metrics),
        max_attempts: top.max_attempts,
        request_timeout: top.request_timeout,
        restart_after: top.restart_after,
    }
}

/// Whether `section` sets the key at `keys` (`["backoff", "max"]`).
fn sets(section: &RunnerSection, keys: &[&str]) -> bool {
    let backoff = section.backoff.as_ref();
    match keys {
        ["backoff", "initial"] => backoff.is_some_and(|b| b.initial.is_some()),
        ["backoff", "max"] => backoff.is_some_and(|b| b.max.is_some()),
        ["poll_interval"] => section.poll_interval.is_some(),
        ["heartbeat_interval"] => section.heartbeat_interval.is_some(),
        ["reassignment_interval"] => section.reassignment_interval.is_some(),
        ["worker_timeout"] => section.worker_timeout.is_some(),
        _ => false,
    }
}

/// Repairs in `probe` the rule `error` reports, so that validating again
/// finds the next: the keys of the broken setting under `runner`, and the
/// help for it.
fn repair(
    probe: &mut RunnerConfig,
    error: &ConfigError,
) -> (&'static [&'static str], &'static str) {
    let one_ms = Duration::from_millis(1);
    match error {
        ConfigError::BackoffInitialZero => {
            probe.backoff.initial = one_ms.max(probe.backoff.max);
            (
                &["backoff", "initial"],
                "the first retry delay, such as 25ms",
            )
        }
        ConfigError::BackoffMaxZero | ConfigError::BackoffMaxBelowInitial { .. } => {
            probe.backoff.max = probe.backoff.initial.max(one_ms);
            (
                &["backoff", "max"],
                "the cap on the delay: at least `initial`, such as 500ms",
            )
        }
        ConfigError::ZeroInterval { name } => {
            let keys: &'static [&'static str] = match *name {
                "poll_interval" => {
                    probe.poll_interval = one_ms;
                    &["poll_interval"]
                }
                "heartbeat_interval" => {
                    probe.heartbeat_interval = one_ms;
                    &["heartbeat_interval"]
                }
                "reassignment_interval" => {
                    probe.reassignment_interval = one_ms;
                    &["reassignment_interval"]
                }
                _ => {
                    probe.worker_timeout = one_ms;
                    &["worker_timeout"]
                }
            };
            (keys, "a timer fires every interval: 1ms or more")
        }
    }
}
