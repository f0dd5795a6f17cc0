//! Reading the current products and product models from the PIM, for the
//! processor's enrichment step (the PIM REST API client in AWS and locally).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde_json::value::RawValue;
use tokio::time::Instant;

/// What a read found, by key (product uuid, lower case; product model code).
/// A key that is not in it is gone: deleted, or hidden from the connection.
pub type Found = HashMap<String, Arc<RawValue>>;

/// Why the PIM could not be read before the deadline. Never carries a token or
/// a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PimReadError {
    /// Down, failing, timing out or rate-limiting past the deadline.
    #[error("the PIM could not be read in time: {0}")]
    Unavailable(String),
    /// The connection's credentials or token were refused.
    #[error("the PIM refused the connection: {0}")]
    Refused(String),
    /// It answered something this client does not understand.
    #[error("the PIM's answer was not understood: {0}")]
    Invalid(String),
}

/// Reads many entities in as few calls as the API allows. Boxed futures so
/// the processor can hold any reader as `Arc<dyn PimReader>`.
pub trait PimReader: Send + Sync + 'static {
    /// The products with these uuids (each given once).
    fn products<'a>(
        &'a self,
        uuids: &'a [String],
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>>;

    /// The product models with these codes (each given once).
    fn product_models<'a>(
        &'a self,
        codes: &'a [String],
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>>;
}
