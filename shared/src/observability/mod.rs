//! Structured logs and CloudWatch EMF metrics.

pub mod logs;
pub mod metrics;

pub use logs::init;
