//! Placeholder crate docs.
pub mod core;
pub mod sim;
