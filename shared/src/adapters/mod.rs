//! What implements the ports: AWS services for the Lambdas, Akeneo's APIs, an
//! embedded queue for local runs, the default business logic, and the HTTPS
//! endpoint events can be forwarded to.

#[cfg(feature = "akeneo")]
#[cfg_attr(docsrs, doc(cfg(feature = "akeneo")))]
pub mod akeneo;
#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub mod aws;
pub mod embedded;
#[cfg(feature = "akeneo")]
pub(crate) mod error_chain;
pub mod logging_handler;
#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhook;
