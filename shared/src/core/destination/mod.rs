//! Where the processor delivers events when the business logic is not Rust
//! code in this process: an EventBridge bus ([`bus`], [`publisher`]) or an
//! HTTPS endpoint ([`forward`], signed as [`standard_webhooks`] says). Both
//! carry the same versioned document, [`detail`]: one contract whichever way a
//! team's code receives the events.

pub mod bus;
pub mod detail;
pub mod forward;
pub mod publisher;
pub mod standard_webhooks;

#[cfg(test)]
mod detail_tests;
#[cfg(test)]
mod publisher_tests;
