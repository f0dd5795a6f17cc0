//! The client behind the processor's [`PimReader`] port.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::time::Instant;

use super::{PimClient, PimError};
use crate::adapters::akeneo::auth::AuthError;
use crate::ports::pim::{Found, PimReadError, PimReader};

impl From<PimError> for PimReadError {
    fn from(error: PimError) -> PimReadError {
        let text = error.to_string();
        match error {
            PimError::Transport(_) | PimError::Auth(AuthError::Transport(_)) => {
                PimReadError::Unavailable(text)
            }
            PimError::InvalidAnswer(_) | PimError::Auth(AuthError::InvalidAnswer { .. }) => {
                PimReadError::Invalid(text)
            }
            _ => PimReadError::Refused(text),
        }
    }
}

fn shared(found: std::collections::HashMap<String, Box<serde_json::value::RawValue>>) -> Found {
    found
        .into_iter()
        .map(|(key, raw)| (key, Arc::from(raw)))
        .collect()
}

impl PimReader for PimClient {
    fn products<'a>(
        &'a self,
        uuids: &'a [String],
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>> {
        Box::pin(async move { Ok(shared(self.products_by_uuid(uuids, deadline).await?)) })
    }

    fn product_models<'a>(
        &'a self,
        codes: &'a [String],
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>> {
        Box::pin(async move { Ok(shared(self.product_models_by_code(codes, deadline).await?)) })
    }
}
