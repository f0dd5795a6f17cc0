//! The receiver's secrets when the deployment has tenants: the top-level
//! routes' from their own document (or fixed), the tenants' from the tenants
//! document, read side by side so a cold start pays one round trip for both.
//! Two documents, so that a stack update rewriting the signing secrets from
//! its parameters never touches the tenants.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::secrets::RouteSecrets;
use crate::ports::secrets::{SecretSource, SecretSourceError};

/// Secrets that never change, as a source (the environment's).
pub struct Fixed(pub RouteSecrets);

impl SecretSource for Fixed {
    fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
        Box::pin(async { Ok(self.0.clone()) })
    }
}

/// The top level's routes from `base`, the tenants from `tenants`.
pub struct WithTenants {
    base: Arc<dyn SecretSource>,
    tenants: Arc<dyn SecretSource>,
}

impl WithTenants {
    /// Both sources, merged on each load.
    pub fn new(base: Arc<dyn SecretSource>, tenants: Arc<dyn SecretSource>) -> WithTenants {
        WithTenants { base, tenants }
    }
}

impl SecretSource for WithTenants {
    fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
        Box::pin(async move {
            let (base, tenants) = futures::join!(self.base.load(), self.tenants.load());
            Ok(RouteSecrets {
                tenants: tenants?.tenants,
                ..base?
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::receiver::secrets::parse_secret_document;

    struct Failing;

    impl SecretSource for Failing {
        fn load(&self) -> BoxFuture<'_, Result<RouteSecrets, SecretSourceError>> {
            Box::pin(async { Err(SecretSourceError::Unavailable("down".into())) })
        }
    }

    fn document(text: &str) -> Arc<dyn SecretSource> {
        Arc::new(Fixed(parse_secret_document(text).expect("document")))
    }

    #[tokio::test]
    async fn the_top_level_comes_from_its_document_and_the_tenants_from_theirs() {
        // GIVEN a signing document that (wrongly) also lists a tenant, and the tenants document
        let base = document(
            r#"{"event_platform_secrets":"top,top2","tenants":{"stale":{"event_platform_secrets":"s"}}}"#,
        );
        let tenants = document(
            r#"{"event_platform_secrets":"ignored","tenants":{"acme":{"event_platform_secrets":"a"}}}"#,
        );
        // WHEN both are loaded
        let secrets = WithTenants::new(base, tenants).load().await.expect("loads");
        // THEN each part comes from its own document only
        assert_eq!(secrets.event_platform.len(), 2);
        assert_eq!(secrets.tenants.keys().collect::<Vec<_>>(), ["acme"]);
    }

    #[tokio::test]
    async fn either_document_failing_fails_the_load() {
        // GIVEN a tenants document that cannot be read
        let source = WithTenants::new(document(r#"{"event_platform_secrets":"top"}"#), Arc::new(Failing));
        // WHEN both are loaded
        // THEN the load fails (the store keeps what it had), rather than dropping every tenant
        assert!(source.load().await.is_err());
    }
}
