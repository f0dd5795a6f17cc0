//! In-process adapters for `akeneo-relay serve`: no AWS account needed. The
//! queue, and the store of large events' bodies.

pub mod payload_store;
pub mod queue;

pub use payload_store::EmbeddedPayloadStore;
pub use queue::EmbeddedQueue;
