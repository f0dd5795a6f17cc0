//! In-process adapters for `akeneo-relay serve`: no AWS account needed.

pub mod queue;

pub use queue::EmbeddedQueue;
