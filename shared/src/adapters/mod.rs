//! What implements the ports: AWS services for the Lambdas, Akeneo's APIs, an
//! embedded queue for local runs, the default business logic, and the HTTPS
//! endpoint events can be forwarded to.

#[cfg(feature = "akeneo")]
pub mod akeneo;
#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
#[cfg(any(feature = "akeneo", feature = "aws"))]
pub(crate) mod error_chain;
pub mod logging_handler;
#[cfg(feature = "webhooks")]
pub mod webhook;
