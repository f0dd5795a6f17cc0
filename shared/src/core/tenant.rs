//! Tenants: one deployment serving many PIMs. A tenant is a name with its
//! own routes (`/t/<name>/events-api`, `/t/<name>/event-platform`,
//! `/t/<name>/event-platform/notifications`), their signing secrets and its
//! PIM connection, all kept in the one secret document the receiver already
//! reads, under `"tenants"`:
//!
//! ```json
//! {"events_api_secrets": "…", "event_platform_secrets": "…",
//!  "tenants": {"acme": {"event_platform_secrets": "…", "notification_secret": "…",
//!                       "pim": {"url": "https://acme.cloud.akeneo.com", "client_id": "…",
//!                               "client_secret": "…", "username": "…", "password": "…"}}}}
//! ```
//!
//! One document, so a cold start reads every tenant in one call however many
//! there are. A deployment with no tenant serves one PIM at the top-level
//! routes, exactly as before; both can be used side by side.

use std::collections::BTreeMap;

use crate::config::Credentials;
use crate::core::processor::own_events::user_uuid;

/// The document's key holding the tenants.
pub const TENANTS_KEY: &str = "tenants";
/// The key of a tenant's PIM connection in its entry.
pub const PIM_KEY: &str = "pim";
/// The longest tenant name: it is part of URLs, metric dimensions and the
/// queue's message group id.
pub const MAX_NAME_LEN: usize = 40;
/// Where a tenant's routes start: `/t/<name>`.
pub const PATH_PREFIX: &str = "/t/";

/// Lower-case ASCII letters, digits and `-`, starting with a letter or a
/// digit, at most [`MAX_NAME_LEN`]: safe in a URL path, a CloudWatch
/// dimension and an SQS message group id as it is.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Splits `/t/<name>/<route>` into the tenant's name and `/<route>`; any
/// other path has no tenant and is returned whole. `/t/<name>` alone is that
/// tenant with an empty route (no route).
pub fn split_path(path: &str) -> (Option<&str>, &str) {
    let Some(rest) = path.strip_prefix(PATH_PREFIX) else {
        return (None, path);
    };
    match rest.find('/') {
        Some(slash) => (Some(&rest[..slash]), &rest[slash..]),
        None => (Some(rest), ""),
    }
}

/// Where a tenant's route is: `/t/<name><route>`, or `route` with no tenant.
pub fn route_path(tenant: Option<&str>, route: &str) -> String {
    match tenant {
        Some(name) => format!("{PATH_PREFIX}{name}{route}"),
        None => route.to_owned(),
    }
}

/// A tenant's PIM connection as its entry holds it under `"pim"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPim {
    /// The PIM's base URL.
    pub url: String,
    /// The connection's four credentials.
    pub credentials: Credentials,
    /// The UUID of the connection's user, when given: the author the Event
    /// Platform names in the connection's own events.
    pub user_uuid: Option<String>,
}

/// Why the tenants of a document could not be read. Names the tenant (names
/// are not secret) and the field, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantDocumentError {
    /// `"tenants"` is there but not an object.
    #[error("\"tenants\" is not an object of tenant entries")]
    NotAnObject,
    /// A key of `"tenants"` is not a tenant name.
    #[error(
        "tenant {0:?} is not a tenant name (lower-case letters, digits and '-', starting with a letter or a digit, at most 40)"
    )]
    InvalidName(String),
    /// A tenant's entry is not an object.
    #[error("tenant {0:?} is not an object")]
    NotAnEntry(String),
    /// A tenant's `"pim"` is there but unusable.
    #[error("tenant {tenant:?}'s PIM connection is unusable: {reason}")]
    Pim {
        /// The tenant.
        tenant: String,
        /// Which field, never its value.
        reason: String,
    },
}

/// Each tenant's entry (an object), by name; empty when the document has no
/// `"tenants"`.
pub fn entries(
    document: &serde_json::Map<String, serde_json::Value>,
) -> Result<BTreeMap<String, &serde_json::Map<String, serde_json::Value>>, TenantDocumentError> {
    let Some(tenants) = document.get(TENANTS_KEY) else {
        return Ok(BTreeMap::new());
    };
    let tenants = tenants.as_object().ok_or(TenantDocumentError::NotAnObject)?;
    tenants
        .iter()
        .map(|(name, entry)| {
            if !is_valid_name(name) {
                let shown: String = name.chars().take(MAX_NAME_LEN).collect();
                return Err(TenantDocumentError::InvalidName(shown));
            }
            let entry = entry
                .as_object()
                .ok_or_else(|| TenantDocumentError::NotAnEntry(name.clone()))?;
            Ok((name.clone(), entry))
        })
        .collect()
}

/// Each tenant's PIM connection (`None`: the tenant has none, its events are
/// not enriched), by name.
pub fn pim_connections(text: &str) -> Result<BTreeMap<String, Option<TenantPim>>, TenantDocumentError> {
    // Parsed as a map so that no parse error can quote a value.
    let document: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text).map_err(|_| TenantDocumentError::NotAnObject)?;
    entries(&document)?
        .into_iter()
        .map(|(name, entry)| {
            let pim = match entry.get(PIM_KEY) {
                None | Some(serde_json::Value::Null) => None,
                Some(pim) => Some(tenant_pim(&name, pim)?),
            };
            Ok((name, pim))
        })
        .collect()
}

fn tenant_pim(tenant: &str, pim: &serde_json::Value) -> Result<TenantPim, TenantDocumentError> {
    let unusable = |reason: String| TenantDocumentError::Pim {
        tenant: tenant.to_owned(),
        reason,
    };
    let text = pim.to_string();
    let credentials = Credentials::from_secret_document(&text).map_err(|e| unusable(e.to_string()))?;
    let field = |name: &str| {
        pim.get(name)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let url = field("url").ok_or_else(|| unusable("its \"url\" is missing, empty or not text".into()))?;
    let user_uuid = match field("user_uuid") {
        None => None,
        Some(text) => {
            Some(user_uuid(text).ok_or_else(|| unusable("its \"user_uuid\" is not a UUID".into()))?)
        }
    };
    Ok(TenantPim {
        url: url.trim_end_matches('/').to_owned(),
        credentials,
        user_uuid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_letters_digits_and_dashes() {
        // GIVEN names a URL, a dimension and a group id all take as they are, and others
        // WHEN each is checked
        // THEN only the first kind is a tenant name
        for good in ["acme", "acme-eu", "3m", "a"] {
            assert!(is_valid_name(good), "{good}");
        }
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        for bad in [
            "",
            "Acme",
            "-acme",
            "acme/eu",
            "acme eu",
            "acmé",
            too_long.as_str(),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_tenant_path_splits_into_the_name_and_the_route() {
        // GIVEN tenant paths and a plain one
        // WHEN they are split
        // THEN the tenant comes off the front, and a plain path has none
        assert_eq!(
            split_path("/t/acme/event-platform"),
            (Some("acme"), "/event-platform")
        );
        assert_eq!(
            split_path("/t/acme/event-platform/notifications"),
            (Some("acme"), "/event-platform/notifications")
        );
        assert_eq!(split_path("/t/acme"), (Some("acme"), ""));
        assert_eq!(split_path("/events-api"), (None, "/events-api"));
    }

    #[test]
    fn each_tenants_pim_connection_is_read_and_a_tenant_may_have_none() {
        // GIVEN a document with two tenants, one with a PIM connection
        let text = r#"{"tenants":{
            "acme":{"event_platform_secrets":"s","pim":{"url":"https://acme.example/","client_id":"c",
                    "client_secret":"cs","username":"u","password":"p","user_uuid":"7F8A1C2E-1111-4222-8333-444455556666"}},
            "beta":{"events_api_secrets":"s"}}}"#;
        // WHEN the connections are read
        let pims = pim_connections(text).expect("reads");
        // THEN acme's is there without its trailing slash, and beta has none
        let acme = pims["acme"].as_ref().expect("acme has one");
        assert_eq!(acme.url, "https://acme.example");
        assert_eq!(
            acme.user_uuid.as_deref(),
            Some("7f8a1c2e-1111-4222-8333-444455556666")
        );
        assert_eq!(pims["beta"], None);
    }

    #[test]
    fn a_bad_name_or_connection_is_named_without_its_values() {
        // GIVEN a tenant whose name is not one, and one whose connection lacks its password
        let bad_name = r#"{"tenants":{"Acme Corp":{}}}"#;
        let no_password = r#"{"tenants":{"acme":{"pim":{"url":"https://x","client_id":"c","client_secret":"hunter2","username":"u"}}}}"#;
        // WHEN they are read
        let name_error = pim_connections(bad_name).expect_err("refused");
        let pim_error = pim_connections(no_password).expect_err("refused");
        // THEN each error names what is wrong, and no secret
        assert_eq!(name_error, TenantDocumentError::InvalidName("Acme Corp".into()));
        assert!(pim_error.to_string().contains("password"), "{pim_error}");
        assert!(!pim_error.to_string().contains("hunter2"), "{pim_error}");
    }

    #[test]
    fn a_document_without_tenants_has_none() {
        // GIVEN today's single-PIM document
        // WHEN its tenants are read
        // THEN there are none
        let pims = pim_connections(r#"{"events_api_secrets":"a"}"#).expect("reads");
        assert!(pims.is_empty());
    }
}
