//! Placeholder crate docs.
pub mod cli;
pub mod core;
pub mod report;
pub mod scenario;
pub mod sim;
