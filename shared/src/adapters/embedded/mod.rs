//! In-process adapters for `akeneo-relay serve`: no AWS account needed (the
//! queue, the idempotency store).

pub mod idempotency;
pub mod queue;

pub use idempotency::EmbeddedIdempotencyStore;
pub use queue::EmbeddedQueue;
