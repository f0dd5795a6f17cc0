//! Where large events' message bodies are kept while their pointer is on the
//! queue (S3 in AWS, an in-process store for `akeneo-relay serve`).

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::core::message::PayloadLocation;

/// Why a store call failed. The detail is for logs only, never for clients.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadStoreError {
    /// The object (or its bucket) does not exist: it expired, was deleted, or
    /// never was. Asking again will not bring it back.
    #[error("no stored payload at {0}")]
    NotFound(PayloadLocation),
    /// The call did not go through (network, throttling, a 5xx, a timeout, a
    /// permission): trying again later may work.
    #[error("payload store unavailable: {detail}")]
    Unavailable {
        /// What failed, for logs.
        detail: String,
    },
    /// The request could not be built or was refused as malformed: trying again
    /// unchanged will not work.
    #[error("payload store request invalid: {detail}")]
    Invalid {
        /// What was refused, and why.
        detail: String,
    },
}

/// Stores, reads and deletes message bodies. Boxed futures, so the receiver
/// and the processor can hold any store without another type parameter.
pub trait PayloadStore: Send + Sync + 'static {
    /// Stores `body` under `key` in this store's bucket, overwriting (a retry
    /// of the same key is harmless); answers where it is.
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<PayloadLocation, PayloadStoreError>>;

    /// The exact bytes stored at `location`.
    fn get<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<Bytes, PayloadStoreError>>;

    /// Deletes the object; deleting one that is already gone succeeds.
    fn delete<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<(), PayloadStoreError>>;
}
