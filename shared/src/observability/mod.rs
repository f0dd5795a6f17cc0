//! Structured logs and CloudWatch EMF metrics.

pub mod logs;
pub mod metrics;
pub mod output;

pub use logs::init;
pub use output::gathered;
