//! The Event Platform's management API (EVENT-PLATFORM-API.md): subscribers,
//! subscriptions, suspend and resume, delivery logs. Every call carries the
//! PIM's URL, an ordinary PIM access token of the connection and its client
//! id (`X-PIM-URL`, `X-PIM-TOKEN`, `X-PIM-CLIENT-ID`); the token comes from
//! the same [`Connection`] as the PIM client's, so both share one token.
//!
//! The token goes only to the management API's origin: a list's next page
//! link elsewhere is refused, as a redirect elsewhere is (see the
//! transport), and a chain of pages that comes back to a page already read is
//! cut.

use std::collections::HashSet;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

use super::auth::{AccessToken, AuthError};
use super::connection::{self, CallError, Connection, ConnectionSettings};
use super::transport::{Request, TransportError};
use crate::config::Credentials;
use crate::core::answers::{MANAGEMENT_ANSWER_LIMIT, error_message};
use crate::core::subscription::model::{LogEntry, Subscriber, Subscription, list_items, next_page};

/// Akeneo's production management API.
pub const DEFAULT_BASE_URL: &str = "https://event.prd.sdk.akeneo.cloud/api/v1";

/// The path segments under a subscription. `suspend` is documented (the logs
/// page shows it); `resume` is its counterpart by name and not confirmed
/// against Akeneo's OpenAPI file: this is the one place to change it.
const SUSPEND: &str = "suspend";
const RESUME: &str = "resume";

/// The logs' query parameters (the logs page names the filters, not their
/// spelling; the OpenAPI file has it): the subscription, `action` or `error`,
/// entries from a time on.
pub(crate) const LOG_FILTER_SUBSCRIPTION: &str = "subscription_id";
pub(crate) const LOG_FILTER_TYPE: &str = "log_type";
pub(crate) const LOG_FILTER_FROM: &str = "from";

const PIM_URL_HEADER: &str = "x-pim-url";
const PIM_TOKEN_HEADER: &str = "x-pim-token";
const PIM_CLIENT_ID_HEADER: &str = "x-pim-client-id";

/// Pages of one list read at most, and their bytes in all. Akeneo's lists
/// are short (20 subscribers, 20 subscriptions each); logs are read up to a
/// number of entries the user gives.
const MAX_PAGES: usize = 1000;
const MAX_LIST_BYTES: usize = 4 * MANAGEMENT_ANSWER_LIMIT;

/// Why a management call failed; never carries a token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManagementError {
    /// The management API's URL or the PIM's is not an http(s) URL.
    #[error("{0:?} is not an http(s) URL")]
    InvalidUrl(String),
    /// The HTTP client could not be built (the TLS setup failed).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// No PIM access token could be had.
    #[error("PIM authentication: {0}")]
    Auth(#[from] AuthError),
    /// The call gave up (see [`TransportError`]).
    #[error("Event Platform API: {0}")]
    Transport(#[from] TransportError),
    /// 401 twice: with the token held, then with a new one.
    #[error("the Event Platform refused a fresh PIM access token (401)")]
    Unauthorized,
    /// 404 on this path: no such subscriber or subscription.
    #[error("not found: {0}")]
    NotFound(String),
    /// 403 (no "Event Platform" permission), 422 (invalid subscription), ...
    #[error("the Event Platform refused the request ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The API's error message.
        message: String,
    },
    /// A 2xx whose body is not what the call expects, or a list whose pages
    /// never end, link back, leave the API's origin or grow too large.
    #[error("the Event Platform's answer was not understood: {0}")]
    InvalidAnswer(String),
}

impl From<CallError> for ManagementError {
    fn from(error: CallError) -> ManagementError {
        match error {
            CallError::Auth(error) => ManagementError::Auth(error),
            CallError::Transport(error) => ManagementError::Transport(error),
            CallError::Unauthorized => ManagementError::Unauthorized,
        }
    }
}

/// Filters of [`EventPlatformClient::logs`].
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Only this subscription's entries.
    pub subscription_id: Option<String>,
    /// `action` or `error`.
    pub log_type: Option<String>,
    /// RFC 3339: entries from then on.
    pub from: Option<String>,
    /// At most this many entries (pages are followed until then).
    pub limit: usize,
}

/// A client of the Event Platform's management API for one PIM connection.
/// Cheap to clone; it shares the connection's token with the PIM client.
#[derive(Clone)]
pub struct EventPlatformClient {
    connection: Arc<Connection>,
    base: Url,
    pim_url: HeaderValue,
    client_id: HeaderValue,
}

impl std::fmt::Debug for EventPlatformClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventPlatformClient")
            .field("base", &self.base.as_str())
            .field("pim_url", &self.connection.base().as_str())
            .finish()
    }
}

impl EventPlatformClient {
    /// A client of the management API at `base` ([`DEFAULT_BASE_URL`] in
    /// production) for the connection with `credentials` on the PIM at `pim_url`.
    pub fn new(
        base: &str,
        pim_url: &str,
        credentials: &Credentials,
        settings: ConnectionSettings,
    ) -> Result<EventPlatformClient, ManagementError> {
        let parse = |text: &str| {
            Url::parse(text.trim_end_matches('/'))
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                .ok_or_else(|| ManagementError::InvalidUrl(text.to_owned()))
        };
        let base = parse(base)?;
        let pim = parse(pim_url)?;
        let connection = connection::shared(&pim, credentials, settings)
            .map_err(|e| ManagementError::Client(e.to_string()))?;
        let header = |text: &str| {
            HeaderValue::from_str(text).map_err(|_| ManagementError::InvalidUrl(text.to_owned()))
        };
        Ok(EventPlatformClient {
            pim_url: header(pim_url.trim_end_matches('/'))?,
            client_id: header(&credentials.client_id)?,
            connection,
            base,
        })
    }

    /// The PIM's URL, the `subject` of its subscriptions.
    pub fn pim_url(&self) -> &str {
        self.pim_url.to_str().unwrap_or_default()
    }

    /// The subscribers of the connection (every page).
    pub async fn subscribers(&self, deadline: Instant) -> Result<Vec<Subscriber>, ManagementError> {
        self.list(&["subscribers"], &[], deadline).await
    }

    /// Creates a subscriber from `body` (`name`, `contact`, ...), as Akeneo
    /// documents it; returns it with its id.
    pub async fn create_subscriber(
        &self,
        body: &Value,
        deadline: Instant,
    ) -> Result<Subscriber, ManagementError> {
        self.send(Method::POST, &["subscribers"], Some(body), deadline)
            .await
    }

    /// Updates the subscriber `id` with the fields in `body`.
    pub async fn update_subscriber(
        &self,
        id: &str,
        body: &Value,
        deadline: Instant,
    ) -> Result<Subscriber, ManagementError> {
        self.send(Method::PATCH, &["subscribers", id], Some(body), deadline)
            .await
    }

    /// The subscriptions of `subscriber` (every page).
    pub async fn subscriptions(
        &self,
        subscriber: &str,
        deadline: Instant,
    ) -> Result<Vec<Subscription>, ManagementError> {
        self.list(&["subscribers", subscriber, "subscriptions"], &[], deadline)
            .await
    }

    /// One subscription of `subscriber`; [`ManagementError::NotFound`] when
    /// there is none with this id.
    pub async fn subscription(
        &self,
        subscriber: &str,
        id: &str,
        deadline: Instant,
    ) -> Result<Subscription, ManagementError> {
        self.send(
            Method::GET,
            &["subscribers", subscriber, "subscriptions", id],
            None,
            deadline,
        )
        .await
    }

    /// Creates a subscription of `subscriber` from `body` (`events`,
    /// `config.url`, `secret`, ...); returns it with its id.
    pub async fn create_subscription(
        &self,
        subscriber: &str,
        body: &Value,
        deadline: Instant,
    ) -> Result<Subscription, ManagementError> {
        self.send(
            Method::POST,
            &["subscribers", subscriber, "subscriptions"],
            Some(body),
            deadline,
        )
        .await
    }

    /// Updates the subscription `id` of `subscriber` with the fields in `body`
    /// (a new secret pair, other events, ...).
    pub async fn update_subscription(
        &self,
        subscriber: &str,
        id: &str,
        body: &Value,
        deadline: Instant,
    ) -> Result<Subscription, ManagementError> {
        self.send(
            Method::PATCH,
            &["subscribers", subscriber, "subscriptions", id],
            Some(body),
            deadline,
        )
        .await
    }

    /// Deletes the subscription `id` of `subscriber`.
    pub async fn delete_subscription(
        &self,
        subscriber: &str,
        id: &str,
        deadline: Instant,
    ) -> Result<(), ManagementError> {
        self.call(
            Method::DELETE,
            &["subscribers", subscriber, "subscriptions", id],
            &[],
            None,
            deadline,
        )
        .await
        .map(|_| ())
    }

    /// Suspends the subscription `id`: Akeneo stops delivering its events.
    pub async fn suspend(
        &self,
        subscriber: &str,
        id: &str,
        deadline: Instant,
    ) -> Result<(), ManagementError> {
        self.subscription_action(subscriber, id, SUSPEND, deadline).await
    }

    /// Resumes the suspended subscription `id`.
    pub async fn resume(&self, subscriber: &str, id: &str, deadline: Instant) -> Result<(), ManagementError> {
        self.subscription_action(subscriber, id, RESUME, deadline).await
    }

    async fn subscription_action(
        &self,
        subscriber: &str,
        id: &str,
        action: &str,
        deadline: Instant,
    ) -> Result<(), ManagementError> {
        let path = ["subscribers", subscriber, "subscriptions", id, action];
        self.call(Method::POST, &path, &[], None, deadline)
            .await
            .map(|_| ())
    }

    /// The delivery logs matching `query`, as Akeneo answers them (pages
    /// followed up to `query.limit` entries).
    pub async fn logs(&self, query: &LogQuery, deadline: Instant) -> Result<Vec<LogEntry>, ManagementError> {
        let mut filters = Vec::new();
        for (name, value) in [
            (LOG_FILTER_SUBSCRIPTION, &query.subscription_id),
            (LOG_FILTER_TYPE, &query.log_type),
            (LOG_FILTER_FROM, &query.from),
        ] {
            if let Some(value) = value {
                filters.push((name, value.as_str()));
            }
        }
        self.list_up_to(&["logs"], &filters, query.limit.max(1), deadline)
            .await
    }

    async fn list<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
        deadline: Instant,
    ) -> Result<Vec<T>, ManagementError> {
        self.list_up_to(path, query, usize::MAX, deadline).await
    }

    /// The items of a list, following `_links.next` until `limit` are read.
    async fn list_up_to<T: DeserializeOwned>(
        &self,
        path: &[&str],
        query: &[(&str, &str)],
        limit: usize,
        deadline: Instant,
    ) -> Result<Vec<T>, ManagementError> {
        let mut all = Vec::new();
        let mut url = self.url(path, query);
        let mut read: HashSet<Url> = HashSet::new();
        let mut bytes = 0;
        loop {
            if read.len() >= MAX_PAGES || !read.insert(url.clone()) {
                return Err(ManagementError::InvalidAnswer(format!(
                    "the pages of {} link back to a page already read, or never end",
                    url.path()
                )));
            }
            let body = self.get_url(url, deadline).await?;
            bytes += body.len();
            if bytes > MAX_LIST_BYTES {
                return Err(ManagementError::InvalidAnswer(format!(
                    "a list over {MAX_LIST_BYTES} bytes in all"
                )));
            }
            all.extend(items(&body)?);
            if all.len() >= limit {
                break;
            }
            match next_page(&body) {
                Some(next) => url = self.same_origin(&next)?,
                None => break,
            }
        }
        all.truncate(limit);
        Ok(all)
    }

    /// A next page link, resolved against the API's URL; refused when it
    /// leaves the API's origin (the PIM token would go with it).
    fn same_origin(&self, href: &str) -> Result<Url, ManagementError> {
        let url = self
            .base
            .join(href)
            .map_err(|_| ManagementError::InvalidAnswer("a next page link that is not a URL".into()))?;
        if url.origin() != self.base.origin() {
            return Err(ManagementError::InvalidAnswer(format!(
                "a next page link to {} leaves {}",
                url.origin().ascii_serialization(),
                self.base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    async fn get_url(&self, url: Url, deadline: Instant) -> Result<Bytes, ManagementError> {
        self.exchange(Method::GET, url, None, deadline).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<T, ManagementError> {
        let answer = self.call(method, path, &[], body, deadline).await?;
        serde_json::from_slice(&answer).map_err(|e| ManagementError::InvalidAnswer(e.to_string()))
    }

    async fn call(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, &str)],
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<Bytes, ManagementError> {
        self.exchange(method, self.url(path, query), body, deadline).await
    }

    async fn exchange(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        deadline: Instant,
    ) -> Result<Bytes, ManagementError> {
        let body = body.map(|b| ("application/json", Bytes::from(b.to_string())));
        let request = |token: &AccessToken| Request {
            body: body.clone(),
            headers: self.headers(token),
            ..Request::new(method.clone(), url.clone(), MANAGEMENT_ANSWER_LIMIT)
        };
        let answer = self.connection.call(request, deadline).await?;
        match answer.status {
            status if status.is_success() => Ok(answer.body),
            StatusCode::NOT_FOUND => Err(ManagementError::NotFound(url.path().to_owned())),
            status => Err(ManagementError::Refused {
                status: status.as_u16(),
                message: error_message(&answer.body),
            }),
        }
    }

    fn headers(&self, token: &AccessToken) -> Vec<(HeaderName, HeaderValue)> {
        let mut token =
            HeaderValue::from_str(token.expose()).unwrap_or_else(|_| HeaderValue::from_static(""));
        token.set_sensitive(true);
        vec![
            (HeaderName::from_static(PIM_URL_HEADER), self.pim_url.clone()),
            (HeaderName::from_static(PIM_TOKEN_HEADER), token),
            (
                HeaderName::from_static(PIM_CLIENT_ID_HEADER),
                self.client_id.clone(),
            ),
        ]
    }

    fn url(&self, path: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(path);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }
}

fn items<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, ManagementError> {
    let items = list_items(body).ok_or_else(|| ManagementError::InvalidAnswer("not a list".into()))?;
    items
        .into_iter()
        .map(|item| serde_json::from_value(item).map_err(|e| ManagementError::InvalidAnswer(e.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> EventPlatformClient {
        let credentials = Credentials {
            client_id: "id".into(),
            client_secret: "s".into(),
            username: "u".into(),
            password: "p".into(),
        };
        EventPlatformClient::new(
            base,
            "https://pim.example",
            &credentials,
            ConnectionSettings::default(),
        )
        .expect("client")
    }

    #[test]
    fn paths_go_under_the_base_and_ids_are_escaped() {
        // GIVEN a base with a path
        let client = client("https://event.example/api/v1/");
        // WHEN a subscription's suspend URL is built with an odd id
        let url = client.url(&["subscribers", "a b", "subscriptions", "s/1", SUSPEND], &[]);
        // THEN it stays under the base, each id one segment
        assert_eq!(
            url.as_str(),
            "https://event.example/api/v1/subscribers/a%20b/subscriptions/s%2F1/suspend"
        );
    }

    #[test]
    fn a_next_page_on_the_api_is_followed_and_one_elsewhere_is_refused() {
        // GIVEN a client of the API at event.example
        let client = client("https://event.example/api/v1");
        // WHEN next page links are resolved: relative, absolute on the API, on another host, on another scheme
        // THEN the first two are pages of the API, the others are refused
        assert_eq!(
            client
                .same_origin("/api/v1/logs?page=2")
                .expect("same origin")
                .as_str(),
            "https://event.example/api/v1/logs?page=2"
        );
        assert!(
            client
                .same_origin("https://event.example/api/v1/logs?page=3")
                .is_ok()
        );
        for elsewhere in [
            "https://attacker.example/collect",
            "http://event.example/api/v1/logs",
            "https://event.example:8443/x",
        ] {
            let error = client.same_origin(elsewhere).expect_err(elsewhere);
            assert!(
                error.to_string().contains("leaves https://event.example"),
                "{error}"
            );
        }
    }

    #[test]
    fn the_token_header_is_marked_sensitive() {
        // GIVEN a client
        // WHEN its headers are built
        let headers =
            client("https://event.example/api/v1").headers(&AccessToken::from_static_for_tests("t"));
        // THEN the PIM URL and client id are plain, the token is sensitive
        let names: Vec<_> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.is_sensitive()))
            .collect();
        assert_eq!(
            names,
            [
                ("x-pim-url", false),
                ("x-pim-token", true),
                ("x-pim-client-id", false)
            ]
        );
    }
}
