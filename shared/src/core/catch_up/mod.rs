//! The catch-up: nothing missed. Akeneo drops the events of a suspended
//! subscription, the Events API never retries, and dead letters expire; the
//! PIM's REST API still knows what changed. A catch-up reads every product
//! and product model updated in a time window ([`window`]), in slices read
//! side by side within the connection's limits ([`run`]), and queues one
//! event per entity ([`event`]) that the processor handles like Akeneo's:
//! deduplicated on the entity's state, skipped when a newer event about the
//! entity was handled, the entity as read given as its current state. A run
//! resumes from its [`checkpoint`].

pub mod checkpoint;
pub mod event;
pub mod job;
pub mod run;
pub mod window;

pub use checkpoint::{Checkpoint, Position, Slice};
pub use event::{CatchUpEntity, catch_up_message};
pub use job::{JOB_TYPE, Job};
pub use run::{CatchUp, CatchUpError, Tally};
pub use window::{Window, WindowError};
