//! Both routes' signing secrets and the Event Platform's notification secret,
//! each tenant's (see [`crate::core::tenant`]), and the JSON document that
//! holds them in a Secrets Manager secret.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::core::protocol::Protocol;
use crate::core::signature::Secrets;
use crate::core::tenant::{self, TenantDocumentError};

/// The secrets of each route, as the receiver checks requests against them.
#[derive(Debug, Clone, Default)]
pub struct RouteSecrets {
    /// The Events API route's; empty: that route answers 404.
    pub events_api: Secrets,
    /// The Event Platform route's; empty: that route answers 404.
    pub event_platform: Secrets,
    /// The subscriber's notification webhook secret (one, a second during a
    /// change); empty: the notification route answers 404.
    pub notifications: Secrets,
    /// Each tenant's routes' secrets, by tenant name; a tenant's own entry
    /// has no tenants.
    pub tenants: BTreeMap<String, RouteSecrets>,
}

/// The catch-up has no route, so no secret.
static NO_SECRETS: Secrets = Secrets::none();

impl RouteSecrets {
    /// The secrets of `protocol`'s route.
    pub fn for_protocol(&self, protocol: Protocol) -> &Secrets {
        match protocol {
            Protocol::EventsApi => &self.events_api,
            Protocol::EventPlatform => &self.event_platform,
            Protocol::CatchUp => &NO_SECRETS,
        }
    }

    /// No route has a secret. A document holding only the notification secret
    /// is not empty: `subscribe` stores that one first, and the receiver must
    /// take it.
    pub fn is_empty(&self) -> bool {
        self.events_api.is_empty()
            && self.event_platform.is_empty()
            && self.notifications.is_empty()
            && self.tenants.is_empty()
    }

    /// The secrets of the tenant `name`; `None` when there is no such tenant.
    pub fn tenant(&self, name: &str) -> Option<&RouteSecrets> {
        self.tenants.get(name)
    }
}

/// The secret is not the document the relay reads. Only the position is kept:
/// the parser's excerpt could be a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretDocumentError {
    /// Not the JSON object expected.
    #[error("the secret is not the expected JSON object (line {line}, column {column})")]
    Malformed {
        /// Where the parser stopped: line.
        line: usize,
        /// Where the parser stopped: column.
        column: usize,
    },
    /// Its `"tenants"` cannot be read.
    #[error("the secret's tenants cannot be read: {0}")]
    Tenants(#[from] TenantDocumentError),
}

impl SecretDocumentError {
    fn malformed(error: &serde_json::Error) -> SecretDocumentError {
        SecretDocumentError::Malformed {
            line: error.line(),
            column: error.column(),
        }
    }
}

/// `{"events_api_secrets": "a,b", "event_platform_secrets": "c",
/// "notification_secret": "d", "tenants": {"<name>": { …the same keys… }}}`;
/// each value a comma-separated string or an array of strings.
pub fn parse_secret_document(text: &str) -> Result<RouteSecrets, SecretDocumentError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        Text(String),
        Items(Vec<String>),
    }
    /// One pass over the text, however many tenants: a tenant's other keys
    /// (its PIM connection) are skipped, not built.
    #[derive(Deserialize)]
    struct Routes {
        events_api_secrets: Option<List>,
        event_platform_secrets: Option<List>,
        notification_secret: Option<List>,
    }
    #[derive(Deserialize)]
    struct Document {
        events_api_secrets: Option<List>,
        event_platform_secrets: Option<List>,
        notification_secret: Option<List>,
        tenants: Option<BTreeMap<String, Routes>>,
    }
    let secrets = |list: Option<List>| match list {
        None => Secrets::default(),
        Some(List::Text(text)) => Secrets::parse_list(&text),
        Some(List::Items(items)) => Secrets::new(items.iter().map(|s| s.trim()).filter(|s| !s.is_empty())),
    };
    let routes = |routes: Routes| RouteSecrets {
        events_api: secrets(routes.events_api_secrets),
        event_platform: secrets(routes.event_platform_secrets),
        notifications: secrets(routes.notification_secret),
        tenants: BTreeMap::new(),
    };
    let document: Document = serde_json::from_str(text).map_err(|e| SecretDocumentError::malformed(&e))?;
    let mut tenants = BTreeMap::new();
    for (name, entry) in document.tenants.unwrap_or_default() {
        if !tenant::is_valid_name(&name) {
            let shown: String = name.chars().take(tenant::MAX_NAME_LEN).collect();
            return Err(TenantDocumentError::InvalidName(shown).into());
        }
        tenants.insert(name, routes(entry));
    }
    Ok(RouteSecrets {
        tenants,
        ..routes(Routes {
            events_api_secrets: document.events_api_secrets,
            event_platform_secrets: document.event_platform_secrets,
            notification_secret: document.notification_secret,
        })
    })
}

/// The document's key of the Events API route's secrets.
pub const EVENTS_API_KEY: &str = "events_api_secrets";
/// The document's key of the Event Platform route's secrets.
pub const EVENT_PLATFORM_KEY: &str = "event_platform_secrets";
/// The document's key of the notification webhook's secret.
pub const NOTIFICATION_KEY: &str = "notification_secret";
/// Not read by the receiver: the one of the Event Platform secrets the
/// subscription signs with, or is about to once `subscribe` creates it. It
/// lets a rerun of a failed `subscribe` reuse the secret it stored instead of
/// adding another, and `rotate-secret` know the current one (Akeneo never
/// shows a subscription's secret).
pub const EVENT_PLATFORM_SUBSCRIPTION_KEY: &str = "event_platform_subscription_secret";

/// The secret document, edited one key at a time (by `subscribe` and
/// `rotate-secret`): the other keys are kept as they are.
#[derive(Clone, Default)]
pub struct SecretDocument(serde_json::Map<String, serde_json::Value>);

impl std::fmt::Debug for SecretDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecretDocument")
            .field(&self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretDocument {
    /// Reads a document the receiver can read (else the error), keeping every
    /// key.
    pub fn parse(text: &str) -> Result<SecretDocument, SecretDocumentError> {
        // Checked as the receiver reads it first: a document it cannot read is not edited.
        parse_secret_document(text)?;
        serde_json::from_str(text)
            .map(SecretDocument)
            .map_err(|e| SecretDocumentError::malformed(&e))
    }

    /// The secrets under `key`, in order, blanks dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        let items: Vec<String> = match self.0.get(key) {
            Some(serde_json::Value::String(text)) => text.split(',').map(str::to_owned).collect(),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        items
            .into_iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The single value under `key`, trimmed; `None` when absent or blank.
    pub fn text(&self, key: &str) -> Option<String> {
        self.0
            .get(key)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    /// Sets `key` to `value`.
    pub fn set_text(&mut self, key: &str, value: &str) {
        self.0
            .insert(key.to_owned(), serde_json::Value::String(value.to_owned()));
    }

    /// Written as comma-separated text, as the template writes it.
    pub fn set_list(&mut self, key: &str, secrets: &[String]) {
        self.0
            .insert(key.to_owned(), serde_json::Value::String(secrets.join(",")));
    }

    /// The document as JSON text.
    pub fn to_text(&self) -> String {
        serde_json::Value::Object(self.0.clone()).to_string()
    }

    /// The tenants' names, sorted.
    pub fn tenants(&self) -> Vec<String> {
        self.0
            .get(tenant::TENANTS_KEY)
            .and_then(serde_json::Value::as_object)
            .map(|tenants| tenants.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The entry of the tenant `name`, edited like the document itself; `None`
    /// when there is no such tenant.
    pub fn tenant(&self, name: &str) -> Option<SecretDocument> {
        self.0
            .get(tenant::TENANTS_KEY)?
            .get(name)?
            .as_object()
            .map(|entry| SecretDocument(entry.clone()))
    }

    /// Sets the tenant `name`'s entry (a new tenant, or its entry replaced);
    /// the other tenants are kept as they are.
    pub fn set_tenant(&mut self, name: &str, entry: SecretDocument) {
        let tenants = self
            .0
            .entry(tenant::TENANTS_KEY)
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if !tenants.is_object() {
            *tenants = serde_json::Value::Object(serde_json::Map::new());
        }
        if let Some(tenants) = tenants.as_object_mut() {
            tenants.insert(name.to_owned(), serde_json::Value::Object(entry.0));
        }
    }

    /// Removes the tenant `name`; whether there was one.
    pub fn remove_tenant(&mut self, name: &str) -> bool {
        self.0
            .get_mut(tenant::TENANTS_KEY)
            .and_then(serde_json::Value::as_object_mut)
            .is_some_and(|tenants| tenants.remove(name).is_some())
    }

    /// Sets `key` to a JSON object (a tenant's PIM connection).
    pub fn set_object(&mut self, key: &str, value: serde_json::Map<String, serde_json::Value>) {
        self.0.insert(key.to_owned(), serde_json::Value::Object(value));
    }

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The JSON object under `key` (a tenant's PIM connection), if it is one.
    pub fn object(&self, key: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
        self.0.get(key).and_then(serde_json::Value::as_object).cloned()
    }

    /// Removes `key`; whether it was set.
    pub fn remove(&mut self, key: &str) -> bool {
        self.0.remove(key).is_some()
    }

    /// The routes' part and the PIM connections' part of a tenants document,
    /// for their two secrets: every tenant is in both (a tenant without a
    /// connection has an empty entry in the second).
    pub fn split_pims(&self) -> (SecretDocument, SecretDocument) {
        let mut routes = self.clone();
        let mut pims = SecretDocument::default();
        for name in self.tenants() {
            let mut entry = self.tenant(&name).unwrap_or_default();
            let mut pim_entry = SecretDocument::default();
            if let Some(pim) = entry.object(tenant::PIM_KEY) {
                pim_entry.set_object(tenant::PIM_KEY, pim);
            }
            entry.remove(tenant::PIM_KEY);
            routes.set_tenant(&name, entry);
            pims.set_tenant(&name, pim_entry);
        }
        (routes, pims)
    }

    /// The whole tenants document from its two parts (see
    /// [`SecretDocument::split_pims`]).
    pub fn join_pims(routes: &SecretDocument, pims: &SecretDocument) -> SecretDocument {
        let mut joined = routes.clone();
        for name in pims.tenants() {
            let mut entry = joined.tenant(&name).unwrap_or_default();
            if let Some(pim) = pims.tenant(&name).and_then(|e| e.object(tenant::PIM_KEY)) {
                entry.set_object(tenant::PIM_KEY, pim);
            }
            joined.set_tenant(&name, entry);
        }
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_document_keeps_the_other_keys_and_reads_back() {
        // GIVEN the template's document
        let text = r#"{"events_api_secrets":"a","event_platform_secrets":"b","notification_secret":"n"}"#;
        let mut document = SecretDocument::parse(text).expect("parses");
        // WHEN a second Event Platform secret is added
        let mut secrets = document.list(EVENT_PLATFORM_KEY);
        secrets.push("c".into());
        document.set_list(EVENT_PLATFORM_KEY, &secrets);
        // THEN the receiver reads both, and the other routes are as they were
        let read = parse_secret_document(&document.to_text()).expect("reads");
        assert_eq!(read.event_platform.len(), 2);
        assert_eq!((read.events_api.len(), read.notifications.len()), (1, 1));
    }

    #[test]
    fn a_tenant_added_then_removed_leaves_the_others_and_the_top_level_as_they_were() {
        // GIVEN a document with top-level secrets and tenant acme
        let text = r#"{"events_api_secrets":"top","tenants":{"acme":{"event_platform_secrets":"a"}}}"#;
        let mut document = SecretDocument::parse(text).expect("parses");
        // WHEN beta is added, then acme removed
        let mut beta = SecretDocument::default();
        beta.set_list(EVENT_PLATFORM_KEY, &["b".to_owned()]);
        document.set_tenant("beta", beta);
        let removed = document.remove_tenant("acme");
        // THEN the receiver reads beta only, beside the top level
        let read = parse_secret_document(&document.to_text()).expect("reads");
        assert!(removed);
        assert_eq!(document.tenants(), ["beta"]);
        assert_eq!(read.tenant("beta").map(|b| b.event_platform.len()), Some(1));
        assert_eq!(read.events_api.len(), 1);
        assert!(!document.remove_tenant("acme"));
    }

    #[test]
    fn a_tenants_document_splits_into_routes_without_credentials_and_pims_and_joins_back() {
        // GIVEN acme with secrets and a PIM connection, and beta without one
        let text = r#"{"tenants":{"acme":{"event_platform_secrets":"a","pim":{"url":"https://x","password":"hunter2"}},"beta":{"event_platform_secrets":"b"}}}"#;
        let document = SecretDocument::parse(text).expect("parses");
        // WHEN it is split for the two secrets, then joined back
        let (routes, pims) = document.split_pims();
        let joined = SecretDocument::join_pims(&routes, &pims);
        // THEN the routes' part holds no credential, both list every tenant, and nothing is lost
        assert!(!routes.to_text().contains("hunter2"), "{}", routes.to_text());
        assert_eq!(
            (routes.tenants(), pims.tenants()),
            (document.tenants(), document.tenants())
        );
        assert!(!pims.to_text().contains("event_platform_secrets"));
        let value =
            |d: &SecretDocument| serde_json::from_str::<serde_json::Value>(&d.to_text()).expect("JSON");
        assert_eq!(value(&joined), value(&document));
    }

    #[test]
    fn lists_may_be_comma_separated_text_or_arrays() {
        // GIVEN a document with a text list and an array with a blank item
        let text = r#"{"events_api_secrets":"a, b","event_platform_secrets":["c"," "]}"#;
        // WHEN it is parsed
        let secrets = parse_secret_document(text).expect("parses");
        // THEN blanks are dropped
        assert_eq!((secrets.events_api.len(), secrets.event_platform.len()), (2, 1));
    }

    #[test]
    fn a_route_left_out_has_no_secrets() {
        // GIVEN a document for the Event Platform only
        // WHEN it is parsed
        let secrets = parse_secret_document(r#"{"event_platform_secrets":"c"}"#).expect("parses");
        // THEN the Events API has none
        assert!(secrets.events_api.is_empty());
    }

    #[test]
    fn a_malformed_document_is_reported_without_echoing_the_secret() {
        // GIVEN a document that is not JSON around a secret
        // WHEN it is parsed
        let error = parse_secret_document(r#"{"events_api_secrets": 12345-hunter2}"#).expect_err("refused");
        // THEN the error gives a position, not the text
        assert!(!error.to_string().contains("hunter2"), "{error}");
        assert!(
            matches!(error, SecretDocumentError::Malformed { line: 1, .. }),
            "{error:?}"
        );
    }

    #[test]
    fn each_tenants_routes_have_their_own_secrets() {
        // GIVEN a document with top-level secrets and two tenants
        let text = r#"{"events_api_secrets":"top","tenants":{
            "acme":{"event_platform_secrets":"a1,a2","notification_secret":"an"},
            "beta":{"events_api_secrets":["b1"]}}}"#;
        // WHEN it is parsed
        let secrets = parse_secret_document(text).expect("parses");
        // THEN each tenant has its own, apart from the top level's
        let acme = secrets.tenant("acme").expect("acme");
        assert_eq!((acme.event_platform.len(), acme.notifications.len()), (2, 1));
        assert!(acme.events_api.is_empty());
        assert_eq!(secrets.tenant("beta").map(|b| b.events_api.len()), Some(1));
        assert_eq!(secrets.events_api.len(), 1);
        assert!(secrets.tenant("gamma").is_none());
    }

    #[test]
    fn a_tenant_name_the_routes_cannot_hold_refuses_the_document() {
        // GIVEN a hand-edited document with a tenant named with a slash
        // WHEN it is parsed
        let error = parse_secret_document(r#"{"tenants":{"acme/eu":{"events_api_secrets":"a"}}}"#)
            .expect_err("refused");
        // THEN the name is given (names are not secret), and the receiver keeps what it had
        assert_eq!(
            error,
            SecretDocumentError::Tenants(TenantDocumentError::InvalidName("acme/eu".into()))
        );
    }

    #[test]
    fn a_document_with_tenants_only_is_not_empty() {
        // GIVEN a multi-PIM deployment's document, with no top-level route
        // WHEN it is parsed
        let secrets =
            parse_secret_document(r#"{"tenants":{"acme":{"events_api_secrets":"a"}}}"#).expect("parses");
        // THEN the receiver takes it
        assert!(!secrets.is_empty());
    }
}
