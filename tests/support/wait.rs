//! Waiting for background work by polling a condition with a deadline, never by
//! a fixed sleep.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

const POLL_EVERY: Duration = Duration::from_millis(50);

/// Polls `check` until it answers `Some`, or panics naming `what` after `within`.
pub async fn until<T, F, Fut>(what: &str, within: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Polls `check` for the whole of `during`, panicking naming `what` as soon as
/// it answers true: for things that must not happen yet.
pub async fn never<F, Fut>(what: &str, during: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + during;
    while Instant::now() < deadline {
        assert!(!check().await, "{what}");
        tokio::time::sleep(POLL_EVERY).await;
    }
}
