//! Receive Akeneo PIM webhooks on AWS Lambda without losing one, and run your
//! business logic on each event.
//!
//! The relay is two Lambdas around an SQS queue. The receiver verifies each
//! request of Akeneo's two delivery systems (the Events API and the Event
//! Platform) over its raw body, splits it into events and queues every event,
//! byte for byte, before it answers (events too large for a queue message go
//! through S3). The processor reads the queue in batches, skips duplicate,
//! stale and its own PIM connection's events, gives product events their
//! current state from the PIM REST API, and hands each event to your
//! [`EventHandler`]: it answers an [`Outcome`], and failures are retried with
//! backoff or dead-lettered, message by message.
//!
//! # Layers
//!
//! - [`core`]: the pure logic: protocols, signatures (sign and verify), body
//!   splitting, the queue message contract, the event model ([`PimEvent`]),
//!   the receiver's and the processor's decisions. No I/O of its own; tested
//!   without network.
//! - [`ports`]: every trait the core needs from the outside world (queues,
//!   stores, secrets, the PIM, an event bus), and [`EventHandler`], where your
//!   logic plugs in.
//! - [`adapters`]: what implements the ports: AWS (feature `aws`), Akeneo's
//!   APIs (feature `akeneo`), an HTTPS forwarder (feature `webhooks`), the
//!   embedded queue and stores for local runs, the default business logic.
//! - [`edges`]: where requests and messages come in: the Lambda Function URL
//!   and SQS event entry points (feature `lambda`), the local HTTP server
//!   (feature `local-http`), the local queue poller.
//! - [`assembly`] (feature `aws`): one assembler per Lambda: read the
//!   configuration once, build the real thing.
//! - [`config`]: the environment variables each Lambda reads, and their checks.
//! - [`observability`]: JSON logs and CloudWatch metrics (Embedded Metric
//!   Format, on stdout).
//!
//! # Features
//!
//! | Feature | Default | What it adds |
//! |---|---|---|
//! | `aws` | yes | the AWS adapters (SQS, S3, Secrets Manager, DynamoDB, EventBridge) and the [`assembly`] of both Lambdas; implies `webhooks` |
//! | `lambda` | yes | the Lambda edges: Function URL requests and SQS events |
//! | `akeneo` | yes | the Akeneo API clients: the PIM REST API ([`adapters::akeneo::PimClient`]) and the Event Platform's management API; with `aws`, enrichment from the PIM |
//! | `webhooks` | yes | forwarding events to an HTTPS endpoint, signed the Standard Webhooks way |
//! | `local-http` | no | the local HTTP edge `akeneo-relay serve` listens with |
//! | `testing` | no | in-memory doubles and the fixture loader, for this workspace's tests (not a stable API) |
//!
//! Without any feature, the core, the ports, the embedded adapters and the
//! configuration still build.
//!
//! # Your business logic
//!
//! Implement [`EventHandler`], and give it to the processor Lambda as its
//! `main.rs` (built with the default features):
//!
//! ```no_run
//! use akeneo_event_relay::{EventHandler, Outcome, PimEvent};
//!
//! /// Built once per Lambda instance: keep your clients in here.
//! struct BusinessLogic;
//!
//! impl EventHandler for BusinessLogic {
//!     async fn handle(&self, event: &PimEvent) -> Outcome {
//!         tracing::info!(entity = event.entity.name(), uuid = event.keys.uuid.as_deref(), "an Akeneo event");
//!         Outcome::Done
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     akeneo_event_relay::observability::init();
//!     let processor = akeneo_event_relay::assembly::processor::from_env(async { BusinessLogic }).await?;
//!     akeneo_event_relay::edges::lambda::sqs_event::run(processor).await
//! }
//! ```
//!
//! The receiver Lambda needs no code of yours: see [`assembly::receiver`].

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod adapters;
#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub mod assembly;
pub mod config;
pub mod core;
pub mod edges;
pub mod observability;
pub mod ports;
#[cfg(any(test, feature = "testing"))]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;

pub use crate::core::event::{Current, PimEvent};
pub use crate::core::processor::stale::StalePolicy;
pub use crate::core::protocol::Protocol;
pub use crate::ports::handler::{EventHandler, Outcome};
