//! What implements the ports: AWS services for the Lambdas, Akeneo's APIs, an
//! embedded queue for local runs, and the default business logic.

#[cfg(feature = "akeneo")]
pub mod akeneo;
#[cfg(feature = "aws")]
pub mod aws;
pub mod embedded;
#[cfg(any(feature = "akeneo", feature = "aws"))]
pub(crate) mod error_chain;
pub mod logging_handler;
