//! Every bound the scenario layer enforces on its input, in one place.
//!
//! A scenario file comes from anyone: each limit below keeps the time and
//! memory of reading it, refusing it or running it bounded, and each is
//! refused (located where it can be) with a message that names it. The
//! README's "Limits" table gives the same numbers to users. The modules that
//! enforce a limit re-export it where it has always been public
//! (`scenario::load::MAX_FILE_BYTES`, `scenario::source::MAX_NESTING`, ...).
//!
//! | limit | value | enforced by | refused |
//! | --- | --- | --- | --- |
//! | [`MAX_FILE_BYTES`] | 4 MiB | [`load`](super::load) | before the file is read past it |
//! | [`MAX_NESTING`] | 64 levels | [`source`](super::source) screen | at the node, before serde |
//! | [`MAX_NODES`] | 1,000,000 nodes, aliases expanded | [`source`](super::source) screen | at the alias or node that crosses it |
//! | [`MAX_PROBLEMS`] | 100 problems a file | validation | the rest are counted, without suggestions |
//! | [`MAX_ROLLOUTS`] | 1,000,000, `generate` included | validation (`rollouts`) | at the entry that crosses it |
//! | [`MAX_ROLLOUT_PAYLOAD_BYTES`] | 64 KiB, estimated | validation (`rollouts`) | at the rollout or `generate` entry |
//! | [`MAX_PAYLOAD_BYTES`] | 64 MiB, estimated, over every rollout | validation (`rollouts`) | at the entry that crosses it |
//! | [`MAX_WORKERS`] | 1,024 | validation (`workers`) | at `workers` |
//! | [`MAX_NAME_LEN`] | 128 bytes | validation (ids, prefixes, reward and span names) | at the name |
//! | [`MAX_MESSAGE_LEN`] | 256 bytes | validation (fault and executor error messages) | at the message |
//! | [`MAX_WITHIN`] | 7 days of virtual time | validation (`stop`) | at `stop.within` |
//! | [`MAX_TIMED_FAULTS`] | 100,000, every repeat and `for` end counted | validation (`faults.at`) | at the entry that crosses it, before any is expanded |
//! | [`MAX_SEEDS`] | 10,000 seeds in a `seeds:` list | validation (`seeds`) | at `seeds` |
//! | [`MAX_KNOWN_LISTED`] | 8 names | help texts ("known workers: ...") | the rest are counted |
//! | [`MAX_SUGGESTION_LEN`] | 64 characters | "did you mean" | no suggestion for a longer name |
//! | [`MAX_SUGGESTION_CANDIDATES`] | 1,000 candidates | "did you mean" | the others are not compared |
//! | [`MAX_WALK_ENTRIES`] | 1,000,000 folder entries a command | [`files`](super::files) | naming the folder given |
//!
//! What a run may cost once loaded (the event budget, the turmoil engine's
//! budget in host-steps) and the defaults of a plan (`stop.within`,
//! `runner.request_timeout`) belong to the simulator's plan, not here.

use std::time::Duration;

/// The largest scenario file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// The deepest nesting of mappings and lists a scenario file may have.
pub const MAX_NESTING: usize = 64;

/// The most YAML nodes (keys, values, list items) a file may have once
/// every alias is expanded.
pub const MAX_NODES: u64 = 1_000_000;

/// The most problems listed for one file; the rest are counted.
pub const MAX_PROBLEMS: usize = 100;

/// The most rollouts a scenario may define, generated ones included.
pub const MAX_ROLLOUTS: u64 = 1_000_000;

/// The most memory, estimated, that one rollout's payload (input, and per
/// scripted attempt its output, rewards and error) may take: every attempt
/// copies it, so it bounds a run's time as well as its memory.
pub const MAX_ROLLOUT_PAYLOAD_BYTES: u64 = 64 << 10;

/// The most memory, estimated, that the rollouts' payloads (inputs, outputs,
/// rewards and error messages, over every rollout) may take.
pub const MAX_PAYLOAD_BYTES: u64 = 64 << 20;

/// The most workers a scenario may start.
pub const MAX_WORKERS: u64 = 1_024;

/// The longest id (rollout, worker, `generate.prefix`) or reward name, in bytes.
pub const MAX_NAME_LEN: usize = 128;

/// The longest fault or executor error message, in bytes.
pub const MAX_MESSAGE_LEN: usize = 256;

/// The largest virtual-time budget (`stop.within`).
pub const MAX_WITHIN: Duration = Duration::from_secs(7 * 24 * 3600);

/// The most timed faults a scenario schedules: every `faults.at` entry
/// counted once `every` has repeated it until `stop.within`, and the end of
/// a `partition`, `hold` or `latency` with `for` counted as one more. One
/// cap over all entries, checked before any is expanded.
pub const MAX_TIMED_FAULTS: u64 = 100_000;

/// The most seeds a `seeds:` list may name: each is a test case, and a
/// sweep is what `explore --seeds` is for.
pub const MAX_SEEDS: usize = 10_000;

/// The most crashes `swarm.crashes.max` may ask of one seed.
pub const MAX_SWARM_CRASHES: u32 = 100;

/// The most names a help text lists ("known workers: a, b, ... and 3
/// more").
pub const MAX_KNOWN_LISTED: usize = 8;

/// The longest text, in characters, that suggestions are looked for: a
/// longer one is not a typo, and the edit distance costs the product of the
/// two lengths.
pub const MAX_SUGGESTION_LEN: usize = 64;

/// The most candidates one suggestion compares `given` with.
pub const MAX_SUGGESTION_CANDIDATES: usize = 1_000;

/// The most folder entries one [`collect_files`](super::files::collect_files)
/// examines, over every folder it walks.
pub const MAX_WALK_ENTRIES: usize = 1_000_000;
