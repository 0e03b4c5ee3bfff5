//! The network of the turmoil engine: the queue as a server host, each
//! worker's [`Queue`](crate::core::queue::Queue) as a client of it.
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

pub mod client;
pub mod clock;
pub mod drops;
pub mod protocol;
pub mod server;

pub use client::NetworkQueue;
pub use clock::TurmoilClock;
pub use server::QueueServer;
