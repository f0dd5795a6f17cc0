//! The live signing secrets of both routes, optionally reloaded from a
//! [`SecretSource`] so a rotated secret takes effect without a redeploy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::secrets::RouteSecrets;
use crate::ports::secrets::SecretSource;

/// After a signature mismatch, or a request to a route with no secret, reload
/// at most this often: the sender may have switched to a secret added since
/// the last load, or `subscribe` may just have stored the route's first one.
/// Anyone can send either request, so it is rate-limited.
const EARLY_REFRESH_AFTER: Duration = Duration::from_secs(30);

/// Shared by every request. Reads are a lock and an `Arc` clone; reloads run in
/// the background so no request waits for the source.
#[derive(Clone)]
pub struct SecretStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("current", &self.current())
            .field("reloads", &self.inner.source.is_some())
            .finish()
    }
}

struct Inner {
    current: RwLock<Arc<RouteSecrets>>,
    source: Option<(Arc<dyn SecretSource>, Duration)>,
    loaded_at: Mutex<Instant>,
    reloading: AtomicBool,
}

impl SecretStore {
    /// Secrets that never change (environment variables, flags).
    pub fn fixed(secrets: RouteSecrets) -> SecretStore {
        SecretStore::build(secrets, None)
    }

    /// `initial` as loaded during init; reloaded from `source` when older than
    /// `every`.
    pub fn reloading(initial: RouteSecrets, source: Arc<dyn SecretSource>, every: Duration) -> SecretStore {
        SecretStore::build(initial, Some((source, every)))
    }

    /// Loads `source` once (an error fails init), then reloads it every
    /// `every`.
    pub async fn load_then_reload(
        source: Arc<dyn SecretSource>,
        every: Duration,
    ) -> Result<SecretStore, crate::ports::secrets::SecretSourceError> {
        let initial = source.load().await?;
        Ok(SecretStore::reloading(initial, source, every))
    }

    fn build(secrets: RouteSecrets, source: Option<(Arc<dyn SecretSource>, Duration)>) -> SecretStore {
        SecretStore {
            inner: Arc::new(Inner {
                current: RwLock::new(Arc::new(secrets)),
                source,
                loaded_at: Mutex::new(Instant::now()),
                reloading: AtomicBool::new(false),
            }),
        }
    }

    /// The secrets to verify this request with; starts a background reload when
    /// they are older than the reload interval.
    pub fn current(&self) -> Arc<RouteSecrets> {
        if let Some((_, every)) = &self.inner.source {
            self.reload_if_older_than(*every);
        }
        match self.inner.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A signature did not match: reload soon in case the sender rotated.
    pub fn signature_mismatched(&self) {
        self.reload_if_older_than(EARLY_REFRESH_AFTER);
    }

    /// A request came to a route with no secret: reload soon, as `subscribe`
    /// stores the first secret and then waits for the receiver to take it
    /// (without this, until the next periodic reload: 300 s in the template).
    pub fn route_not_configured(&self) {
        self.reload_if_older_than(EARLY_REFRESH_AFTER);
    }

    fn reload_if_older_than(&self, age: Duration) {
        let Some((source, _)) = &self.inner.source else {
            return;
        };
        let loaded_at = *self.inner.loaded_at.lock().unwrap_or_else(|p| p.into_inner());
        if loaded_at.elapsed() < age || self.inner.reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let source = Arc::clone(source);
        tokio::spawn(async move {
            match source.load().await {
                Ok(secrets) if !secrets.is_empty() => {
                    *inner.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(secrets);
                    tracing::info!("signing secrets reloaded");
                }
                Ok(_) => tracing::warn!("the secret lists no signing secrets; keeping the current ones"),
                Err(reason) => {
                    tracing::warn!(%reason, "signing secrets not reloaded; keeping the current ones")
                }
            }
            *inner.loaded_at.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
            inner.reloading.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use futures::future::BoxFuture;

    use super::*;
    use crate::core::signature::Secrets;
    use crate::ports::secrets::SecretSourceError;

    /// Answers `secret` for the Events API and counts its loads.
    struct Counting {
        loads: AtomicUsize,
        secret: &'static str,
    }

    impl SecretSource for Counting {
        fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
            Box::pin(async move {
                self.loads.fetch_add(1, Ordering::SeqCst);
                Ok(RouteSecrets {
                    events_api: Secrets::new([self.secret]),
                    ..RouteSecrets::default()
                })
            })
        }
    }

    fn counting(secret: &'static str) -> Arc<Counting> {
        Arc::new(Counting {
            loads: AtomicUsize::new(0),
            secret,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn secrets_are_not_reloaded_before_the_interval() {
        // GIVEN a store loaded at init that reloads every 300 s
        let source = counting("new");
        let store = SecretStore::reloading(RouteSecrets::default(), source.clone(), Duration::from_secs(300));
        // WHEN a request comes 299 s later
        tokio::time::sleep(Duration::from_secs(299)).await;
        store.current();
        tokio::task::yield_now().await;
        // THEN nothing was reloaded
        assert_eq!(source.loads.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn once_due_a_request_starts_a_reload_and_the_next_request_uses_its_result() {
        // GIVEN a store loaded at init that reloads every 300 s
        let source = counting("new");
        let store = SecretStore::reloading(RouteSecrets::default(), source.clone(), Duration::from_secs(300));
        tokio::time::sleep(Duration::from_secs(301)).await;
        // WHEN a request comes after the interval
        let served = store.current();
        tokio::task::yield_now().await;
        // THEN it is verified with what was loaded, while a reload runs for the next one
        assert!(served.events_api.is_empty());
        assert_eq!(source.loads.load(Ordering::SeqCst), 1);
        assert_eq!(store.current().events_api.len(), 1);
    }

    /// Answers a notification secret only, as the document is once `subscribe`
    /// has stored it on a stack deployed with the template's empty one.
    struct NotificationOnly;

    impl SecretSource for NotificationOnly {
        fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
            Box::pin(async {
                Ok(RouteSecrets {
                    notifications: Secrets::new(["the-notification-secret"]),
                    ..RouteSecrets::default()
                })
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_document_holding_only_the_notification_secret_is_taken() {
        // GIVEN a store loaded with nothing, whose source now holds a notification secret only
        let store = SecretStore::reloading(
            RouteSecrets::default(),
            Arc::new(NotificationOnly),
            Duration::from_secs(300),
        );
        tokio::time::sleep(Duration::from_secs(31)).await;
        // WHEN a request to the unconfigured notification route asks for a reload
        store.route_not_configured();
        tokio::task::yield_now().await;
        // THEN the notification secret is held (it is not taken for an empty document)
        assert_eq!(store.current().notifications.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_mismatch_reloads_early_but_at_most_every_thirty_seconds() {
        // GIVEN a store just loaded
        let source = counting("x");
        let store = SecretStore::reloading(RouteSecrets::default(), source.clone(), Duration::from_secs(300));
        // WHEN a mismatch comes at once, then two more after 31 s
        store.signature_mismatched();
        tokio::task::yield_now().await;
        let right_after_init = source.loads.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_secs(31)).await;
        store.signature_mismatched();
        store.signature_mismatched();
        tokio::task::yield_now().await;
        // THEN only the later mismatches reloaded, once
        assert_eq!((right_after_init, source.loads.load(Ordering::SeqCst)), (0, 1));
    }
}
