//! The data the queue holds: rollouts, their attempts, and the statuses each
//! moves through.
//!
//! A rollout is a unit of work (an input to run). Each time a worker dequeues
//! it, the queue opens a new attempt `{rollout_id}:attempt-{n}`, numbered
//! from one. The rollout's status summarises its latest attempt; the attempt
//! keeps its own history (who ran it, when it last heartbeated, how it
//! ended).
//!
//! Status changes go through [`RolloutStatus::can_become`], the transition
//! table of the reference store, so an impossible move is an error rather
//! than silent corruption.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Eq, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(Arc<str>);

        // Hashes as its text, as equality (below) compares it.
        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.0.hash(state);
            }
        }

        // Ids are cloned from one another far more often than built twice
        // from the same text: the same allocation is the same id, without
        // reading it.
        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
            }
        }

        impl $name {
            /// Wraps a string.
            pub fn new(id: impl AsRef<str>) -> Self {
                Self(Arc::from(id.as_ref()))
            }
            /// The id as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self::new(id)
            }
        }

        // Hash and Eq are those of the string, so maps keyed by the id can
        // be searched with a `&str`.
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_id!(
    /// The id of a rollout, unique within a queue.
    RolloutId
);
string_id!(
    /// The id of a worker (a runner instance), such as `worker-1`.
    WorkerId
);

/// The id of one attempt at a rollout: `{rollout_id}:attempt-{number}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttemptId {
    /// The rollout this attempt belongs to.
    pub rollout: RolloutId,
    /// 1 for the first attempt, then 2, 3...
    pub number: u32,
}

impl AttemptId {
    /// The attempt `number` of `rollout`.
    pub fn new(rollout: RolloutId, number: u32) -> Self {
        Self { rollout, number }
    }

    /// Parses `{rollout_id}:attempt-{n}`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let (rollout, number) = text.rsplit_once(":attempt-")?;
        let number: u32 = number.parse().ok()?;
        if rollout.is_empty()
            || number == 0
            || number.to_string().len() != text.len() - rollout.len() - 9
        {
            return None;
        }
        Some(Self::new(RolloutId::new(rollout), number))
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:attempt-{}", self.rollout, self.number)
    }
}

impl Serialize for AttemptId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where a rollout is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RolloutStatus {
    /// Waiting for its first attempt.
    Queuing,
    /// An attempt is being set up.
    Preparing,
    /// An attempt is running on a worker.
    Running,
    /// Finished; the last attempt succeeded.
    Succeeded,
    /// Finished; the last attempt failed, or attempts ran out.
    Failed,
    /// Finished without running to completion, by request.
    Cancelled,
    /// Its attempt timed out; waiting at the back of the queue for another.
    Requeuing,
}

impl RolloutStatus {
    /// Every status, in declaration order.
    pub const ALL: [RolloutStatus; 7] = [
        Self::Queuing,
        Self::Preparing,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
        Self::Requeuing,
    ];

    /// Succeeded, failed or cancelled: nothing more will happen to it.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// The reference store's transition table.
    pub fn can_become(self, next: RolloutStatus) -> bool {
        use RolloutStatus::*;
        match self {
            Queuing => matches!(next, Preparing | Running | Cancelled),
            Preparing => matches!(next, Running | Failed | Cancelled | Requeuing),
            Running => matches!(next, Succeeded | Failed | Cancelled | Requeuing),
            Requeuing => matches!(next, Preparing | Running | Failed | Cancelled),
            Succeeded | Failed | Cancelled => false,
        }
    }

    /// The lowercase name used in scenario files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queuing => "queuing",
            Self::Preparing => "preparing",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Requeuing => "requeuing",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for RolloutStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one attempt is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptStatus {
    /// Being set up (unused by dequeue, which opens attempts running).
    Preparing,
    /// On a worker.
    Running,
    /// The executor finished without error.
    Succeeded,
    /// The executor returned an error.
    Failed,
    /// Its heartbeat went silent for longer than the worker timeout.
    Timeout,
    /// Reserved by the reference for workers that stop answering; this model
    /// reports such attempts as `timeout`.
    Unresponsive,
}

impl AttemptStatus {
    /// The statuses an attempt of this store can have: `preparing` and
    /// `unresponsive` are the reference's, never set here.
    pub const USED: [AttemptStatus; 4] = [
        AttemptStatus::Running,
        AttemptStatus::Succeeded,
        AttemptStatus::Failed,
        AttemptStatus::Timeout,
    ];

    /// The status of one of [`USED`](Self::USED) by its name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::USED.into_iter().find(|s| s.as_str() == name)
    }

    /// Anything but preparing and running.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Preparing | Self::Running)
    }

    /// The lowercase name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preparing => "preparing",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Timeout => "timeout",
            Self::Unresponsive => "unresponsive",
        }
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rollout as handed to a worker: what to run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rollout {
    /// Its id.
    pub id: RolloutId,
    /// The task input, opaque to the runner.
    pub input: serde_json::Value,
}

/// What a successful dequeue returns: the rollout and the attempt just opened.
#[derive(Debug, Clone, PartialEq)]
pub struct Dequeued {
    /// The rollout to run.
    pub rollout: Rollout,
    /// The new attempt, already `running` and assigned to the caller.
    pub attempt: AttemptId,
}

/// How the runner finished an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The executor returned normally.
    Succeeded,
    /// The executor returned an error, with its message.
    Failed {
        /// The executor's error message.
        message: String,
    },
}

impl AttemptOutcome {
    /// The status this outcome gives the attempt and its rollout.
    pub fn status(&self) -> AttemptStatus {
        match self {
            Self::Succeeded => AttemptStatus::Succeeded,
            Self::Failed { .. } => AttemptStatus::Failed,
        }
    }
}

/// What completing an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The outcome was recorded on the attempt and its rollout.
    Recorded,
    /// The attempt had already stopped running (it timed out meanwhile);
    /// nothing changed.
    NoLongerRunning,
}

/// The full record of an attempt, as the queue keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttemptRecord {
    /// Its id.
    pub id: AttemptId,
    /// Its status.
    pub status: AttemptStatus,
    /// The worker it was assigned to.
    pub worker: WorkerId,
    /// When it was opened.
    #[serde(serialize_with = "serialize_millis")]
    pub started_at: Duration,
    /// When it last heartbeated (its start counts as one).
    #[serde(serialize_with = "serialize_millis")]
    pub last_heartbeat: Duration,
    /// When it stopped running, if it has.
    #[serde(serialize_with = "serialize_opt_millis")]
    pub ended_at: Option<Duration>,
    /// The error message of a failed or timed-out attempt.
    pub error: Option<String>,
}

/// The full record of a rollout, as the queue keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RolloutRecord {
    /// Its id.
    pub id: RolloutId,
    /// Its input.
    pub input: serde_json::Value,
    /// Its status.
    pub status: RolloutStatus,
    /// How many attempts it may have; `None` for unlimited.
    pub max_attempts: Option<u32>,
    /// When it entered the queue.
    #[serde(serialize_with = "serialize_millis")]
    pub enqueued_at: Duration,
    /// When it became terminal.
    #[serde(serialize_with = "serialize_opt_millis")]
    pub finished_at: Option<Duration>,
    /// Every attempt, attempt 1 first.
    pub attempts: Vec<AttemptRecord>,
    /// The error of its last failed attempt, or why it ran out of attempts.
    pub error: Option<String>,
}

impl RolloutRecord {
    /// Its latest attempt, if any.
    pub fn last_attempt(&self) -> Option<&AttemptRecord> {
        self.attempts.last()
    }
}

/// Serialises a duration as whole milliseconds (fractions kept as decimals).
pub fn serialize_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    if d.subsec_nanos() % 1_000_000 == 0 {
        s.serialize_u64(d.as_millis() as u64)
    } else {
        s.serialize_f64(d.as_secs_f64() * 1000.0)
    }
}

fn serialize_opt_millis<S: serde::Serializer>(
    d: &Option<Duration>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => serialize_millis(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempt_ids_round_trip() {
        let id = AttemptId::parse("r-0001:attempt-12").unwrap();
        assert_eq!(id.rollout.as_str(), "r-0001");
        assert_eq!(id.number, 12);
        assert_eq!(id.to_string(), "r-0001:attempt-12");
        assert_eq!(AttemptId::parse("r1:attempt-0"), None);
        assert_eq!(AttemptId::parse("r1:attempt-01"), None);
        assert_eq!(AttemptId::parse(":attempt-1"), None);
        assert_eq!(AttemptId::parse("r1"), None);
    }

    #[test]
    fn terminal_statuses_go_nowhere() {
        for from in RolloutStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in RolloutStatus::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
        assert!(RolloutStatus::Requeuing.can_become(RolloutStatus::Running));
        assert!(!RolloutStatus::Queuing.can_become(RolloutStatus::Succeeded));
    }

    #[test]
    fn statuses_have_their_scenario_file_names() {
        use RolloutStatus::*;
        assert_eq!(
            RolloutStatus::ALL.map(|s| s.to_string()),
            [
                "queuing",
                "preparing",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                "requeuing"
            ]
        );
        for status in RolloutStatus::ALL {
            assert_eq!(RolloutStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(RolloutStatus::parse("done"), None);
        assert_eq!(
            RolloutStatus::ALL.map(RolloutStatus::is_terminal),
            [false, false, false, true, true, true, false]
        );
        assert!(Running.can_become(Succeeded));
        assert!(!Running.can_become(Queuing));
        let attempts = [
            AttemptStatus::Preparing,
            AttemptStatus::Running,
            AttemptStatus::Succeeded,
            AttemptStatus::Failed,
            AttemptStatus::Timeout,
            AttemptStatus::Unresponsive,
        ];
        assert_eq!(
            attempts.map(|s| s.to_string()),
            [
                "preparing",
                "running",
                "succeeded",
                "failed",
                "timeout",
                "unresponsive"
            ]
        );
        assert_eq!(
            attempts.map(AttemptStatus::is_terminal),
            [false, false, true, true, true, true]
        );
        assert_eq!(AttemptOutcome::Succeeded.status(), AttemptStatus::Succeeded);
        let failed = AttemptOutcome::Failed {
            message: "x".into(),
        };
        assert_eq!(failed.status(), AttemptStatus::Failed);
    }

    #[test]
    fn records_serialize_times_as_milliseconds() {
        let attempt = |started_at, ended_at| AttemptRecord {
            id: AttemptId::new("r1".into(), 2),
            status: AttemptStatus::Running,
            worker: "w1".into(),
            started_at,
            last_heartbeat: Duration::from_millis(1500),
            ended_at,
            error: None,
        };
        let json = |a: &AttemptRecord| serde_json::to_value(a).unwrap();
        assert_eq!(
            json(&attempt(Duration::from_micros(2500), None)),
            serde_json::json!({
                "id": "r1:attempt-2", "status": "running", "worker": "w1",
                "started_at": 2.5, "last_heartbeat": 1500, "ended_at": null, "error": null
            })
        );
        let ended = json(&attempt(Duration::ZERO, Some(Duration::from_millis(7))));
        assert_eq!(
            (&ended["started_at"], &ended["ended_at"]),
            (&0.into(), &7.into())
        );
        let rollout = RolloutRecord {
            id: "r1".into(),
            input: serde_json::Value::Null,
            status: RolloutStatus::Running,
            max_attempts: None,
            enqueued_at: Duration::ZERO,
            finished_at: None,
            attempts: vec![
                attempt(Duration::ZERO, None),
                attempt(Duration::from_millis(3), None),
            ],
            error: None,
        };
        assert_eq!(
            rollout.last_attempt().map(|a| a.started_at),
            Some(Duration::from_millis(3))
        );
    }
}
