//! In-process adapters for `akeneo-relay serve`: no AWS account needed (the
//! queue, the idempotency store, the store of large events' bodies).

pub mod idempotency;
pub mod payload_store;
pub mod queue;

pub use idempotency::EmbeddedIdempotencyStore;
pub use payload_store::EmbeddedPayloadStore;
pub use queue::EmbeddedQueue;
