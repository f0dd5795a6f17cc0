//! The live signing secrets of both routes, optionally reloaded from a source
//! (Secrets Manager) so a rotated secret takes effect without a redeploy.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Deserialize;
use tokio::time::Instant;

use super::signature::Secrets;
use crate::Protocol;

/// After a signature mismatch, reload at most this often: the sender may have
/// switched to a secret added since the last load.
const MISMATCH_REFRESH_AFTER: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
pub struct RouteSecrets {
    pub events_api: Secrets,
    pub event_platform: Secrets,
}

impl RouteSecrets {
    pub fn for_protocol(&self, protocol: Protocol) -> &Secrets {
        match protocol {
            Protocol::EventsApi => &self.events_api,
            Protocol::EventPlatform => &self.event_platform,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.events_api.is_empty() && self.event_platform.is_empty()
    }
}

/// The secret's JSON: `{"events_api_secrets": "a,b", "event_platform_secrets": "c"}`;
/// each value a comma-separated string or an array of strings.
pub fn parse_secret_json(text: &str) -> Result<RouteSecrets, String> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Text(String),
        Items(Vec<String>),
    }
    #[derive(Deserialize)]
    struct Document {
        events_api_secrets: Option<List>,
        event_platform_secrets: Option<List>,
    }
    let document: Document = serde_json::from_str(text).map_err(|e| {
        // The error's position is safe to show; its excerpt could be a secret.
        format!(
            "the secret is not the expected JSON object (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let secrets = |list: Option<List>| match list {
        None => Secrets::default(),
        Some(List::Text(text)) => Secrets::parse_list(&text),
        Some(List::Items(items)) => Secrets::new(items.iter().map(|s| s.trim()).filter(|s| !s.is_empty())),
    };
    Ok(RouteSecrets {
        events_api: secrets(document.events_api_secrets),
        event_platform: secrets(document.event_platform_secrets),
    })
}

pub type SecretLoader = Arc<dyn Fn() -> BoxFuture<'static, Result<RouteSecrets, String>> + Send + Sync>;

/// Shared by every request. Reads are a lock and an `Arc` clone; reloads run in
/// the background so no request waits for Secrets Manager.
#[derive(Clone)]
pub struct SecretStore {
    inner: Arc<Inner>,
}

struct Inner {
    current: RwLock<Arc<RouteSecrets>>,
    loader: Option<(SecretLoader, Duration)>,
    loaded_at: Mutex<Instant>,
    reloading: AtomicBool,
}

impl SecretStore {
    pub fn fixed(secrets: RouteSecrets) -> SecretStore {
        SecretStore::build(secrets, None)
    }

    /// `initial` as loaded during init; reloaded when older than `every`.
    pub fn reloading(initial: RouteSecrets, loader: SecretLoader, every: Duration) -> SecretStore {
        SecretStore::build(initial, Some((loader, every)))
    }

    fn build(secrets: RouteSecrets, loader: Option<(SecretLoader, Duration)>) -> SecretStore {
        SecretStore {
            inner: Arc::new(Inner {
                current: RwLock::new(Arc::new(secrets)),
                loader,
                loaded_at: Mutex::new(Instant::now()),
                reloading: AtomicBool::new(false),
            }),
        }
    }

    /// The secrets to verify this request with; starts a background reload when
    /// they are older than the reload interval.
    pub fn current(&self) -> Arc<RouteSecrets> {
        if let Some((_, every)) = &self.inner.loader {
            self.reload_if_older_than(*every);
        }
        match self.inner.current.read() {
            Ok(current) => Arc::clone(&current),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// A signature did not match: reload soon in case the sender rotated.
    pub fn signature_mismatched(&self) {
        self.reload_if_older_than(MISMATCH_REFRESH_AFTER);
    }

    fn reload_if_older_than(&self, age: Duration) {
        let Some((loader, _)) = &self.inner.loader else {
            return;
        };
        let loaded_at = *self.inner.loaded_at.lock().unwrap_or_else(|p| p.into_inner());
        if loaded_at.elapsed() < age || self.inner.reloading.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let load = loader();
        tokio::spawn(async move {
            match load.await {
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

    use super::*;

    #[test]
    fn parses_lists_as_text_or_arrays_and_never_echoes_the_secret_on_error() {
        let secrets =
            parse_secret_json(r#"{"events_api_secrets":"a, b","event_platform_secrets":["c"," "]}"#).unwrap();
        assert_eq!((secrets.events_api.len(), secrets.event_platform.len()), (2, 1));
        let only_one = parse_secret_json(r#"{"event_platform_secrets":"c"}"#).unwrap();
        assert!(only_one.events_api.is_empty());
        let error = parse_secret_json(r#"{"events_api_secrets": 12345-hunter2}"#).unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }

    fn counting_loader(calls: Arc<AtomicUsize>, secret: &'static str) -> SecretLoader {
        Arc::new(move || {
            let calls = Arc::clone(&calls);
            Box::pin(async move {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(RouteSecrets {
                    events_api: Secrets::new([secret]),
                    ..RouteSecrets::default()
                })
            })
        })
    }

    #[tokio::test(start_paused = true)]
    async fn reloads_in_the_background_once_the_interval_has_passed() {
        let calls = Arc::new(AtomicUsize::new(0));
        let initial = RouteSecrets {
            event_platform: Secrets::new(["old"]),
            ..RouteSecrets::default()
        };
        let store = SecretStore::reloading(
            initial,
            counting_loader(Arc::clone(&calls), "new"),
            Duration::from_secs(300),
        );
        assert!(store.current().events_api.is_empty());
        tokio::time::sleep(Duration::from_secs(299)).await;
        store.current();
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "not due yet");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let served = store.current();
        assert!(
            served.events_api.is_empty(),
            "this request still uses the loaded secrets"
        );
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            store.current().events_api.len(),
            1,
            "the next one uses the reloaded secrets"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_mismatch_reloads_early_but_at_most_every_thirty_seconds() {
        let calls = Arc::new(AtomicUsize::new(0));
        let store = SecretStore::reloading(
            RouteSecrets::default(),
            counting_loader(Arc::clone(&calls), "x"),
            Duration::from_secs(300),
        );
        store.signature_mismatched();
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 0, "just loaded at init");
        tokio::time::sleep(Duration::from_secs(31)).await;
        store.signature_mismatched();
        store.signature_mismatched();
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
