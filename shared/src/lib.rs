//! Akeneo Event Relay.
//!
//! - [`core`]: the pure logic: protocols, signatures (sign and verify), body
//!   splitting, the queue message contract, the event model, the receiver's and
//!   the processor's decisions. No I/O of its own; tested without network.
//! - [`ports`]: every trait the core needs from the outside world.
//! - [`adapters`]: what implements them: AWS (feature `aws`), the embedded
//!   queue for local runs, the default business logic.
//! - [`edges`]: where requests and messages come in: the Lambda Function URL
//!   and SQS event entry points (feature `lambda`), the local HTTP server
//!   (feature `local-http`), the local queue poller.
//! - [`assembly`]: one assembler per Lambda: read the configuration once, build
//!   the real thing.

pub mod adapters;
#[cfg(feature = "aws")]
pub mod assembly;
pub mod config;
pub mod core;
pub mod edges;
pub mod observability;
pub mod ports;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use crate::core::event::{Current, PimEvent};
pub use crate::core::processor::stale::StalePolicy;
pub use crate::core::protocol::Protocol;
pub use crate::ports::handler::{EventHandler, Outcome};
