//! The credentials a call signs with, from the SDK configuration's provider,
//! kept until shortly before they expire.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

use crate::ports::queue::QueueError;

/// Credentials this close to their expiry are fetched again: a call signed
/// with them must still be valid when SQS reads it.
const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct CredentialCache {
    provider: Option<SharedCredentialsProvider>,
    current: Mutex<Option<Credentials>>,
}

impl CredentialCache {
    pub fn new(provider: Option<SharedCredentialsProvider>) -> CredentialCache {
        CredentialCache {
            provider,
            current: Mutex::new(None),
        }
    }

    /// Lambda's environment credentials never expire within an instance's
    /// life, so a warm call reads them from memory; a role assumed elsewhere
    /// (a profile, SSO) is fetched again before it lapses.
    pub async fn get(&self, now: SystemTime) -> Result<Credentials, QueueError> {
        if let Some(credentials) = self.cached(now) {
            return Ok(credentials);
        }
        let provider = self.provider.as_ref().ok_or_else(|| QueueError::Unavailable {
            detail: String::from("no AWS credentials are configured"),
        })?;
        let credentials = match provider.provide_credentials().await {
            Ok(credentials) => credentials,
            // A failed refresh must not fail calls the old credentials can
            // still sign.
            Err(error) => {
                return self.unexpired(now).ok_or_else(|| QueueError::Unavailable {
                    detail: format!("could not load AWS credentials: {error}"),
                });
            }
        };
        if let Ok(mut current) = self.current.lock() {
            *current = Some(credentials.clone());
        }
        Ok(credentials)
    }

    /// The cached credentials if they are valid `margin` past `now`.
    fn valid_for(&self, now: SystemTime, margin: Duration) -> Option<Credentials> {
        let current = self.current.lock().ok()?;
        let credentials = current.as_ref()?;
        let valid = credentials.expiry().is_none_or(|expiry| expiry > now + margin);
        valid.then(|| credentials.clone())
    }

    fn cached(&self, now: SystemTime) -> Option<Credentials> {
        self.valid_for(now, REFRESH_BEFORE_EXPIRY)
    }

    fn unexpired(&self, now: SystemTime) -> Option<Credentials> {
        self.valid_for(now, Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::future;

    use super::*;

    /// A provider handing out credentials that expire `lifetime` after `now`,
    /// counting how often it is asked.
    #[derive(Debug)]
    struct Counting {
        now: SystemTime,
        lifetime: Option<Duration>,
        calls: Arc<AtomicUsize>,
        /// Every call after the first fails (STS or IMDS unreachable).
        fails_after_first: bool,
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            if call > 0 && self.fails_after_first {
                return future::ProvideCredentials::ready(Err(CredentialsError::provider_timed_out(
                    Duration::from_secs(1),
                )));
            }
            let expiry = self.lifetime.map(|lifetime| self.now + lifetime);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{call}"),
                "secret",
                None,
                expiry,
                "test",
            )))
        }
    }

    fn cache(now: SystemTime, lifetime: Option<Duration>) -> (CredentialCache, Arc<AtomicUsize>) {
        cache_with(now, lifetime, false)
    }

    fn cache_with(
        now: SystemTime,
        lifetime: Option<Duration>,
        fails_after_first: bool,
    ) -> (CredentialCache, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = Counting {
            now,
            lifetime,
            calls: calls.clone(),
            fails_after_first,
        };
        (
            CredentialCache::new(Some(SharedCredentialsProvider::new(provider))),
            calls,
        )
    }

    #[tokio::test]
    async fn credentials_without_expiry_are_fetched_once() {
        // GIVEN Lambda's environment credentials (no expiry)
        let now = SystemTime::now();
        let (cache, calls) = cache(now, None);
        // WHEN three calls sign, an hour apart
        for hour in 0..3 {
            cache
                .get(now + Duration::from_secs(3600 * hour))
                .await
                .expect("credentials");
        }
        // THEN the provider was asked once
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn credentials_close_to_expiry_are_fetched_again() {
        // GIVEN a role's credentials that expire in 15 minutes
        let now = SystemTime::now();
        let (cache, calls) = cache(now, Some(Duration::from_secs(900)));
        let first = cache.get(now).await.expect("credentials");
        // WHEN a call signs 5 minutes later, then 11 minutes later (4 minutes before expiry)
        let later = cache
            .get(now + Duration::from_secs(300))
            .await
            .expect("credentials");
        let near_expiry = cache
            .get(now + Duration::from_secs(660))
            .await
            .expect("credentials");
        // THEN the first is reused while fresh, and replaced near its expiry
        assert_eq!(later.access_key_id(), first.access_key_id());
        assert_ne!(near_expiry.access_key_id(), first.access_key_id());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_signing_with_credentials_not_yet_expired() {
        // GIVEN credentials that expire in 15 minutes, and a provider that then fails
        let now = SystemTime::now();
        let (cache, _) = cache_with(now, Some(Duration::from_secs(900)), true);
        let first = cache.get(now).await.expect("credentials");
        // WHEN a call signs 12 minutes later (refresh due, refresh fails), then after expiry
        let near_expiry = cache.get(now + Duration::from_secs(720)).await;
        let expired = cache.get(now + Duration::from_secs(901)).await;
        // THEN the old credentials still sign until they expire, and then the call fails
        assert_eq!(
            near_expiry.expect("still valid").access_key_id(),
            first.access_key_id()
        );
        assert!(
            matches!(expired, Err(QueueError::Unavailable { .. })),
            "{expired:?}"
        );
    }

    #[tokio::test]
    async fn no_provider_is_unavailable() {
        // GIVEN an SDK configuration without credentials
        let cache = CredentialCache::new(None);
        // WHEN a call asks for them
        let outcome = cache.get(SystemTime::now()).await;
        // THEN the call fails as unavailable, naming what is missing
        assert!(
            matches!(outcome, Err(QueueError::Unavailable { ref detail }) if detail.contains("credentials"))
        );
    }
}
