//! The network of the turmoil engine: the queue as a server host, each
//! worker's [`Queue`](rollout_core::Queue) as a client of it.
//!
//! - [`protocol`]: the request/reply protocol (JSON lines over TCP).
//! - [`server`]: the queue host's software, in front of the run's store.
//! - [`client`]: [`NetworkQueue`], a worker's queue over the network, with a
//!   per-request timeout.
//! - [`clock`]: [`TurmoilClock`], each host's own clock.
//! - [`drops`]: sees the segments turmoil's network drops, for the trace.
//!
//! The engine that wires these into a turmoil simulation is
//! [`super::turmoil_engine`]. Nothing here is used by the core.

mod client;
mod clock;
pub(crate) mod drops;
pub(crate) mod protocol;
mod server;

pub use client::NetworkQueue;
pub use clock::TurmoilClock;
pub use server::QueueServer;

use std::cell::Cell;
use std::rc::Rc;

/// The bytes a run's hosts wrote to the network, requests and replies:
/// what a message costs on this engine grows with its size (encoding,
/// segments, decoding), so the turmoil budget counts them. Clones share
/// one count.
#[derive(Debug, Clone, Default)]
pub struct WireMeter(Rc<Cell<u64>>);

impl WireMeter {
    /// Counts `bytes` written.
    pub fn add(&self, bytes: usize) {
        self.0.set(self.0.get().saturating_add(bytes as u64));
    }

    /// The bytes written so far.
    pub fn bytes(&self) -> u64 {
        self.0.get()
    }
}
