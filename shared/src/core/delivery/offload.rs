//! Storing large events' message bodies before a deadline, so that their
//! pointers can go on the queue instead: each body under a new random key, all
//! of them at once, an attempt that fails or hangs tried again (same key) while
//! time remains.

use bytes::Bytes;
use futures::future::join_all;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::time::{Instant, sleep, timeout_at};

use super::{FIRST_BACKOFF, MIN_ATTEMPT};
use crate::core::message::{KeyPrefix, OutboundMessage, PayloadLocation};
use crate::ports::payload_store::{PayloadStore, PayloadStoreError};

/// A large event, stored: the pointer to queue in its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offloaded {
    /// The message to queue instead.
    pub pointer: OutboundMessage,
    /// Where the body is stored.
    pub location: PayloadLocation,
    /// The stored body's size in bytes.
    pub bytes: usize,
}

/// Some bodies were not stored before the deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{unstored} of {total} large events not stored after {attempts} attempts; last error: {last_error}")]
pub struct OffloadError {
    /// Bodies not stored.
    pub unstored: usize,
    /// Bodies in all.
    pub total: usize,
    /// Attempts made for the body that needed the most.
    pub attempts: u32,
    /// The last failure, for logs.
    pub last_error: String,
}

/// Stores the body of every message and answers the pointers, in order, or
/// fails with what could not be stored by `deadline`.
pub async fn offload(
    store: &dyn PayloadStore,
    prefix: &KeyPrefix,
    messages: &[OutboundMessage],
    deadline: Instant,
) -> Result<Vec<Offloaded>, OffloadError> {
    let random = SystemRandom::new();
    let stores = messages.iter().map(|message| {
        let mut bytes = [0u8; 16];
        let key = random.fill(&mut bytes).map(|()| prefix.key(bytes));
        async move {
            let Ok(key) = key else {
                return (Err(String::from("no randomness for the object key")), 0);
            };
            let body = Bytes::copy_from_slice(message.body.as_bytes());
            store_one(store, &key, body, deadline).await
        }
    });
    let outcomes = join_all(stores).await;
    let attempts = outcomes.iter().map(|(_, attempts)| *attempts).max().unwrap_or(0);
    let mut offloaded = Vec::with_capacity(messages.len());
    let mut last_error = None;
    for (message, (outcome, _)) in messages.iter().zip(outcomes) {
        match outcome {
            Ok(location) => offloaded.push(Offloaded {
                pointer: message.pointer_to(&location),
                location,
                bytes: message.body.len(),
            }),
            Err(error) => last_error = Some(error),
        }
    }
    match last_error {
        None => Ok(offloaded),
        Some(last_error) => Err(OffloadError {
            unstored: messages.len() - offloaded.len(),
            total: messages.len(),
            attempts,
            last_error,
        }),
    }
}

/// One body, tried until stored, refused as invalid, or out of time. Each
/// attempt may use two thirds of the time left: an upload of several MB needs
/// most of it, and a hung connection still leaves room for another try.
async fn store_one(
    store: &dyn PayloadStore,
    key: &str,
    body: Bytes,
    deadline: Instant,
) -> (Result<PayloadLocation, String>, u32) {
    let mut attempts = 0;
    let mut backoff = FIRST_BACKOFF;
    let mut last_error = String::from("no attempt fitted in the time left");
    loop {
        let now = Instant::now();
        if now + MIN_ATTEMPT > deadline {
            break;
        }
        attempts += 1;
        let attempt_deadline = now + ((deadline - now) * 2 / 3).max(MIN_ATTEMPT);
        match timeout_at(attempt_deadline, store.put(key, body.clone())).await {
            Ok(Ok(location)) => return (Ok(location), attempts),
            Ok(Err(error @ PayloadStoreError::Invalid { .. })) => {
                last_error = error.to_string();
                break;
            }
            Ok(Err(error)) => last_error = error.to_string(),
            Err(_) => last_error = String::from("payload store call timed out"),
        }
        if Instant::now() + backoff + MIN_ATTEMPT > deadline {
            break;
        }
        sleep(backoff).await;
        backoff *= 2;
    }
    (Err(last_error), attempts)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::{MemoryPayloads, StoreBehaviour};

    fn large(body: &str) -> OutboundMessage {
        OutboundMessage {
            body: body.into(),
            attributes: vec![("type", "product.updated".into())],
            event_id: Some("e-1".into()),
            event_type: Some("product.updated".into()),
        }
    }

    fn budget() -> Instant {
        Instant::now() + Duration::from_millis(300)
    }

    #[tokio::test(start_paused = true)]
    async fn each_body_is_stored_under_its_own_key_and_a_pointer_comes_back() {
        // GIVEN a store that takes everything
        let store = MemoryPayloads::new(StoreBehaviour::Accept);
        let prefix = KeyPrefix::parse("relay/").expect("prefix");
        // WHEN two bodies are offloaded
        let offloaded = offload(&store, &prefix, &[large("first"), large("second")], budget())
            .await
            .expect("stored");
        // THEN each is stored byte for byte under its own prefixed key, and its pointer names it
        assert_eq!(offloaded.len(), 2);
        assert_ne!(offloaded[0].location.key, offloaded[1].location.key);
        for (item, body) in offloaded.iter().zip(["first", "second"]) {
            assert!(item.location.key.starts_with("relay/"));
            assert_eq!(item.location.key.len(), "relay/".len() + 36);
            assert_eq!(store.object(&item.location.key).as_deref(), Some(body.as_bytes()));
            assert_eq!(item.bytes, body.len());
            assert!(item.pointer.body.contains(&item.location.key));
            assert_eq!(
                item.pointer.attribute("ExtendedPayloadSize"),
                Some(&*body.len().to_string())
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_put_is_tried_again_under_the_same_key() {
        // GIVEN a store that fails its first two calls
        let store = MemoryPayloads::new(StoreBehaviour::FailTimes(2));
        // WHEN a body is offloaded
        let offloaded = offload(&store, &KeyPrefix::default(), &[large("body")], budget())
            .await
            .expect("stored");
        // THEN the third call stored it, all three under one key
        let keys = store.put_keys();
        assert_eq!(keys.len(), 3);
        assert!(keys.iter().all(|k| *k == offloaded[0].location.key));
    }

    #[tokio::test(start_paused = true)]
    async fn an_unavailable_store_fails_by_the_deadline_after_several_attempts() {
        // GIVEN a store that refuses every call
        let store = MemoryPayloads::new(StoreBehaviour::Unavailable);
        let started = Instant::now();
        // WHEN a body is offloaded within 300 ms
        let error = offload(&store, &KeyPrefix::default(), &[large("body")], budget())
            .await
            .expect_err("not stored");
        // THEN it gives up in time, having tried several times, and says why
        assert!(started.elapsed() <= Duration::from_millis(300));
        assert_eq!((error.unstored, error.total), (1, 1));
        assert!(error.attempts >= 3, "{error}");
        assert!(error.last_error.contains("unavailable"), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_store_is_abandoned_by_the_deadline_after_a_second_try() {
        // GIVEN a store that never answers
        let store = MemoryPayloads::new(StoreBehaviour::Hang);
        let started = Instant::now();
        // WHEN a body is offloaded within 300 ms
        let error = offload(&store, &KeyPrefix::default(), &[large("body")], budget())
            .await
            .expect_err("not stored");
        // THEN the first attempt was cut short so a second one fitted
        assert!(started.elapsed() <= Duration::from_millis(300));
        assert!(error.attempts >= 2, "{error}");
        assert_eq!(error.last_error, "payload store call timed out");
    }
}
