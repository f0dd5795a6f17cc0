//! Akeneo Event Relay core.
//!
//! `receiver` and `queue` are plain logic, tested without network; `aws` holds the
//! SQS adapter behind the [`queue::QueueSender`] port, and `receiver::lambda` the
//! Function URL edge. The Lambda binaries only load [`config`] and call `run`.

pub mod aws;
pub mod config;
pub mod event;
pub mod local;
pub mod metrics;
pub mod observability;
pub mod processor;
pub mod protocol;
pub mod queue;
pub mod receiver;

pub use protocol::Protocol;

#[cfg(test)]
pub(crate) mod test_support;
