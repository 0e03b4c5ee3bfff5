//! The network: `faults.network`, the network events of `faults.at`, and
//! which engine runs them.
//!
//! Only the turmoil engine simulates a network (latency, message loss,
//! partitions and held links, bouncing hosts). Its settings are checked
//! here: latency `max` not below `min`, a loss rate between 0 and 1, and a
//! `runner.request_timeout` (how long a worker's client waits for a reply)
//! greater than 0 (`runner.restart_after`, the supervisor's delay, serves
//! every engine and goes to the plan's top level). The first network feature the file uses is kept, located,
//! to refuse the file when another engine is asked for, on the command line
//! or (reported at once) by `engine: virtual` or `engine: tokio` in the file.

use std::time::Duration;

use crate::diagnostics::Problem;
use crate::duration::format_duration;
use crate::schema::{EngineChoice, NetworkSection, ScenarioFile};
use crate::source::{Path, at};
use rollout_simulator::{NetworkFaults, NetworkPlan};

use super::Validator;
use super::timed::{actions_given, is_network_action};

impl Validator<'_> {
    /// The turmoil engine's settings, `faults.network` and the worker
    /// hosts' `runner.request_timeout`.
    pub(super) fn network(&mut self, file: &ScenarioFile) -> NetworkPlan {
        let defaults = NetworkPlan::default();
        let request_timeout = file
            .runner
            .request_timeout
            .map_or(defaults.request_timeout, |d| d.0);
        if request_timeout.is_zero() {
            self.problem(
                at!["runner", "request_timeout"],
                "request_timeout must be greater than 0",
                None,
            );
        }
        if !cfg!(feature = "turmoil") && file.engine == EngineChoice::Turmoil {
            self.problem(
                at!["engine"],
                "this build has no turmoil engine",
                Some("build rollout-scenario with its `turmoil` feature (on by default)".into()),
            );
        }
        let faults = file.faults.network.as_ref().map(|n| self.network_faults(n));
        NetworkPlan {
            faults,
            request_timeout,
        }
    }

    /// `faults.network`: latency and loss.
    fn network_faults(&mut self, n: &NetworkSection) -> NetworkFaults {
        let (min, max) = n
            .latency
            .map_or((Duration::ZERO, Duration::ZERO), |l| (l.min.0, l.max.0));
        if max < min {
            self.problem(
                at!["faults", "network", "latency", "max"],
                format!(
                    "latency max ({}) is below min ({})",
                    format_duration(max),
                    format_duration(min)
                ),
                Some("write { min: 1ms, max: 5ms }; min = max for a fixed latency".into()),
            );
        }
        let loss_rate = n.loss_rate.unwrap_or(0.0);
        if !(0.0..=1.0).contains(&loss_rate) {
            self.problem(
                at!["faults", "network", "loss_rate"],
                format!("loss_rate must be between 0 and 1, not {loss_rate}"),
                Some("a probability per message, such as 0.05 for 5%".into()),
            );
        }
        NetworkFaults {
            latency_min: min,
            latency_max: max.max(min),
            loss_rate: loss_rate.clamp(0.0, 1.0),
        }
    }

    /// The first thing in the file that only the turmoil engine runs, as a
    /// located problem to report if another engine is asked for. Reports it
    /// at once when the file itself asks for `virtual` or `tokio`.
    pub(super) fn turmoil_only(&mut self, file: &ScenarioFile) -> Option<Problem> {
        let (at, what) = first_network_feature(file)?;
        let span = self.key_span(&at);
        let problem = Problem {
            message: format!("{what}: only the turmoil engine runs this"),
            span,
            help: Some(
                "write `engine: turmoil`, or leave `engine` out: `auto` picks turmoil for network faults"
                    .into(),
            ),
            path: Some(at),
        };
        let asked = match file.engine {
            EngineChoice::Virtual => Some("virtual"),
            EngineChoice::Tokio => Some("tokio"),
            _ => None,
        };
        if !cfg!(feature = "turmoil") && file.engine != EngineChoice::Turmoil {
            // (`engine: turmoil` itself is refused once, at `engine`.) An embedder's build without the engine: refused here, never
            // handed to a simulator that cannot run it.
            self.problems.push(Problem {
                message: format!(
                    "{what}: only the turmoil engine runs this, and this build has none"
                ),
                help: Some(
                    "build rollout-scenario with its `turmoil` feature (on by default)".into(),
                ),
                ..problem.clone()
            });
        } else if let Some(name) = asked {
            // Kept even past `MAX_PROBLEMS`: pushed, not counted.
            self.problems.push(Problem {
                message: format!(
                    "{what}: only the turmoil engine runs this, but the scenario asks for `engine: {name}`"
                ),
                ..problem.clone()
            });
        }
        Some(problem)
    }
}

/// Where the file first uses the network, and what it uses: a network
/// event of `faults.at`, else `faults.network`.
fn first_network_feature(file: &ScenarioFile) -> Option<(Path, String)> {
    let at_event = file.faults.at.iter().enumerate().find_map(|(i, e)| {
        actions_given(e)
            .find(|key| is_network_action(key))
            .map(|key| (at!["faults", "at", i, key], format!("`{key}` events")))
    });
    at_event
        .or_else(|| {
            file.faults
                .network
                .as_ref()
                .map(|_| (at!["faults", "network"], "`faults.network`".to_string()))
        })
        .or_else(|| {
            file.swarm
                .as_ref()
                .and_then(|s| s.network.as_ref())
                .map(|_| (at!["swarm", "network"], "`swarm.network`".to_string()))
        })
}
