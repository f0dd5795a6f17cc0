//! An in-process store for large events' bodies, for `akeneo-relay serve`: the
//! same pointers as with S3, kept in memory for the life of the process.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::core::message::PayloadLocation;
use crate::ports::payload_store::{PayloadStore, PayloadStoreError};

/// Large events' bodies in process memory, behind the [`PayloadStore`] port.
pub struct EmbeddedPayloadStore {
    bucket: String,
    objects: Mutex<HashMap<String, Bytes>>,
}

impl EmbeddedPayloadStore {
    /// `bucket` is only the name pointers carry.
    pub fn new(bucket: &str) -> EmbeddedPayloadStore {
        EmbeddedPayloadStore {
            bucket: bucket.to_owned(),
            objects: Mutex::new(HashMap::new()),
        }
    }

    fn objects(&self) -> MutexGuard<'_, HashMap<String, Bytes>> {
        self.objects
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.objects().len()
    }

    /// Whether it holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn not_found(&self, location: &PayloadLocation) -> PayloadStoreError {
        PayloadStoreError::NotFound(location.clone())
    }
}

impl PayloadStore for EmbeddedPayloadStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: Bytes,
    ) -> BoxFuture<'a, Result<PayloadLocation, PayloadStoreError>> {
        Box::pin(async move {
            self.objects().insert(key.to_owned(), body);
            Ok(PayloadLocation {
                bucket: self.bucket.clone(),
                key: key.to_owned(),
            })
        })
    }

    fn get<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<Bytes, PayloadStoreError>> {
        Box::pin(async move {
            if location.bucket != self.bucket {
                return Err(self.not_found(location));
            }
            self.objects()
                .get(&location.key)
                .cloned()
                .ok_or_else(|| self.not_found(location))
        })
    }

    fn delete<'a>(&'a self, location: &'a PayloadLocation) -> BoxFuture<'a, Result<(), PayloadStoreError>> {
        Box::pin(async move {
            if location.bucket == self.bucket {
                self.objects().remove(&location.key);
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn what_is_put_is_got_back_until_it_is_deleted() {
        // GIVEN a store holding one body
        let store = EmbeddedPayloadStore::new("embedded");
        let location = store
            .put("k-1", Bytes::from_static(b"{\"v\":1}"))
            .await
            .expect("stored");
        // WHEN it is read, deleted, then read again
        let first = store.get(&location).await;
        store.delete(&location).await.expect("deleted");
        let second = store.get(&location).await;
        // THEN the bytes came back once, then it was not found
        assert_eq!(location.bucket, "embedded");
        assert_eq!(first, Ok(Bytes::from_static(b"{\"v\":1}")));
        assert_eq!(second, Err(PayloadStoreError::NotFound(location)));
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn a_pointer_to_another_bucket_is_not_found() {
        // GIVEN a store holding key k-1
        let store = EmbeddedPayloadStore::new("embedded");
        store.put("k-1", Bytes::from_static(b"x")).await.expect("stored");
        // WHEN k-1 is read from another bucket
        let elsewhere = PayloadLocation {
            bucket: "real-bucket".into(),
            key: "k-1".into(),
        };
        // THEN it is not found
        assert!(matches!(
            store.get(&elsewhere).await,
            Err(PayloadStoreError::NotFound(_))
        ));
    }
}
