//! The PIM REST API client: products by uuid (one, or many in one search),
//! product models by code, and writes, for the processor's enrichment and for
//! your business logic.
//!
//! ```no_run
//! use std::time::Duration;
//! use akeneo_event_relay::adapters::akeneo::pim::{PimClient, PimError};
//! use akeneo_event_relay::adapters::akeneo::ConnectionSettings;
//! use akeneo_event_relay::config::Credentials;
//! use tokio::time::Instant;
//!
//! # async fn example() -> Result<(), PimError> {
//! let credentials = Credentials {
//!     client_id: "…".into(),
//!     client_secret: "…".into(),
//!     username: "relay_1234".into(),
//!     password: "…".into(),
//! };
//! let pim = PimClient::new("https://demo.cloud.akeneo.com", &credentials, ConnectionSettings::default())?;
//! let deadline = Instant::now() + Duration::from_secs(10);
//! if let Some(product) = pim.product("1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad", deadline).await? {
//!     println!("{}", product.get());
//! }
//! pim.patch_product(
//!     "1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad",
//!     &serde_json::json!({"values": {"erp_status": [{"locale": null, "scope": null, "data": "synced"}]}}),
//!     deadline,
//! )
//! .await?;
//! # Ok(())
//! # }
//! ```

mod reader;
mod updated;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::try_join_all;
use http::{Method, StatusCode};
use reqwest::Url;
use serde_json::value::RawValue;
use tokio::time::Instant;

use super::auth::{AccessToken, AuthError, TokenProvider};
use super::connection::{self, CallError, Connection, ConnectionSettings};
use super::transport::{Answer, Request, TransportError};
use crate::config::Credentials;
use crate::core::answers::{PIM_ANSWER_LIMIT, SearchKey, error_message, read_search_page};

/// Akeneo's largest page.
pub const MAX_PAGE_SIZE: usize = 100;

const PRODUCTS: &str = "/api/rest/v1/products-uuid";
const PRODUCT_MODELS: &str = "/api/rest/v1/product-models";

/// Why a PIM call failed. A product that does not exist is not an error (it is
/// `None`, or absent from a search). Never carries a token or a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PimError {
    /// `url` is not an http(s) URL, or a `path_and_query` names another origin.
    #[error("{0:?} is not a PIM URL")]
    InvalidUrl(String),
    /// The HTTP client could not be built (the TLS setup failed).
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    /// No access token could be had.
    #[error("authentication: {0}")]
    Auth(#[from] AuthError),
    /// The call gave up: the PIM was down, slow or rate-limiting past the
    /// deadline (see [`TransportError`]).
    #[error("PIM API: {0}")]
    Transport(#[from] TransportError),
    /// 401 twice: with the token held, then with a new one.
    #[error("the PIM refused a fresh access token (401)")]
    Unauthorized,
    /// Any other 4xx: 403 (no permission), 422 (invalid data), ...
    #[error("the PIM refused the request ({status}): {message}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// Akeneo's error message.
        message: String,
    },
    /// A 2xx whose body is not what the call expects, or search pages that
    /// never end or leave the PIM's origin.
    #[error("the PIM's answer was not understood: {0}")]
    InvalidAnswer(String),
}

impl PimError {
    /// Trying again later may work (the PIM was down, slow or rate-limiting).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PimError::Transport(_) | PimError::Auth(AuthError::Transport(_))
        )
    }
}

impl From<CallError> for PimError {
    fn from(error: CallError) -> PimError {
        match error {
            CallError::Auth(error) => PimError::Auth(error),
            CallError::Transport(error) => PimError::Transport(error),
            CallError::Unauthorized => PimError::Unauthorized,
        }
    }
}

/// A client of one PIM connection. Cheap to clone; every client of the same
/// connection in the process shares one token and one limit on calls in
/// flight.
///
/// In business logic, take the connection the processor is configured with
/// (`PIM_URL` and its credentials), so both share that token and that limit:
///
/// ```no_run
/// use std::time::Duration;
///
/// use akeneo_event_relay::adapters::akeneo::PimClient;
/// use http::Method;
/// use tokio::time::Instant;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let Some(pim): Option<PimClient> = akeneo_event_relay::assembly::pim::client_from_env().await? else {
///     return Ok(()); // No PIM configured.
/// };
/// // Every call ends by its deadline, retries included.
/// let deadline = Instant::now() + Duration::from_secs(10);
/// let uuids = ["1fd20ad8-ef95-49d7-a581-fb9f8ac0c5ad".to_owned()];
/// for (uuid, product) in pim.products_by_uuid(&uuids, deadline).await? {
///     println!("{uuid}: {}", product.get());
/// }
/// let answer = pim.call(Method::GET, "/api/rest/v1/categories?limit=10", None, deadline).await?;
/// println!("{} {}", answer.status, String::from_utf8_lossy(&answer.body));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PimClient {
    connection: Arc<Connection>,
}

impl std::fmt::Debug for PimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PimClient")
            .field("url", &self.connection.base().as_str())
            .field("username", &self.connection.tokens().username())
            .finish()
    }
}

impl PimClient {
    /// A client of the connection with these credentials on the PIM at `url`
    /// (`https://your-pim.cloud.akeneo.com`). Sharing: see the type.
    pub fn new(
        url: &str,
        credentials: &Credentials,
        settings: ConnectionSettings,
    ) -> Result<PimClient, PimError> {
        let base = Url::parse(url.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| PimError::InvalidUrl(url.to_owned()))?;
        let connection =
            connection::shared(&base, credentials, settings).map_err(|e| PimError::Client(e.to_string()))?;
        Ok(PimClient { connection })
    }

    /// The PIM's URL, without a trailing slash.
    pub fn url(&self) -> &str {
        self.connection.base().as_str().trim_end_matches('/')
    }

    /// The connection's username: the author of the events its writes cause.
    pub fn username(&self) -> &str {
        self.connection.tokens().username()
    }

    /// The connection's client id.
    pub fn client_id(&self) -> &str {
        self.connection.tokens().client_id()
    }

    /// The connection's tokens, for other Akeneo APIs that take them.
    pub fn tokens(&self) -> &TokenProvider {
        self.connection.tokens()
    }

    /// `GET /api/rest/v1/products-uuid/{uuid}`; `None` when it does not exist
    /// (or the connection may not see it).
    pub async fn product(&self, uuid: &str, deadline: Instant) -> Result<Option<Box<RawValue>>, PimError> {
        self.get_one(PRODUCTS, uuid, deadline).await
    }

    /// `GET /api/rest/v1/product-models/{code}`; `None` when it does not exist.
    pub async fn product_model(
        &self,
        code: &str,
        deadline: Instant,
    ) -> Result<Option<Box<RawValue>>, PimError> {
        self.get_one(PRODUCT_MODELS, code, deadline).await
    }

    /// The products with these uuids, by uuid in lower case: one search call
    /// per 100 uuids (in parallel, within the connection's limit), following
    /// `_links.next`. A uuid that is not in the answer does not exist.
    pub async fn products_by_uuid(
        &self,
        uuids: &[String],
        deadline: Instant,
    ) -> Result<HashMap<String, Box<RawValue>>, PimError> {
        self.search(PRODUCTS, SearchKey::Uuid, uuids, deadline).await
    }

    /// The product models with these codes, by code, as
    /// [`PimClient::products_by_uuid`] does.
    pub async fn product_models_by_code(
        &self,
        codes: &[String],
        deadline: Instant,
    ) -> Result<HashMap<String, Box<RawValue>>, PimError> {
        self.search(PRODUCT_MODELS, SearchKey::Code, codes, deadline)
            .await
    }

    /// `PATCH /api/rest/v1/products-uuid/{uuid}`: updates (or creates) the
    /// product with Akeneo's merge rules. The event this write causes comes
    /// back authored by this connection, and the processor skips it.
    pub async fn patch_product(
        &self,
        uuid: &str,
        changes: &serde_json::Value,
        deadline: Instant,
    ) -> Result<(), PimError> {
        let url = self.entity_url(PRODUCTS, uuid);
        let body = Bytes::from(changes.to_string());
        let answer = self
            .connection
            .call(
                |token| Request {
                    authorization: Some(token.bearer_header()),
                    body: Some(("application/json", body.clone())),
                    ..Request::new(Method::PATCH, url.clone(), PIM_ANSWER_LIMIT)
                },
                deadline,
            )
            .await?;
        match answer.status {
            status if status.is_success() => Ok(()),
            status => Err(refused(status, &answer)),
        }
    }

    /// Any other call: `path_and_query` under the PIM's URL
    /// (`/api/rest/v1/categories?limit=100`), with an optional JSON body. Any
    /// answer but 401, 408, 429, 5xx (which are handled) and a redirect to
    /// another origin (an error) is returned; its body is read up to
    /// [`PIM_ANSWER_LIMIT`]. A `path_and_query` that names another origin is
    /// refused: the token goes only to the PIM.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
        deadline: Instant,
    ) -> Result<Answer, PimError> {
        let base = self.connection.base();
        let url = base
            .join(path_and_query)
            .ok()
            .filter(|url| url.origin() == base.origin())
            .ok_or_else(|| PimError::InvalidUrl(path_and_query.to_owned()))?;
        let body = body.map(|b| ("application/json", Bytes::from(b.to_string())));
        Ok(self
            .connection
            .call(
                |token| Request {
                    authorization: Some(token.bearer_header()),
                    body: body.clone(),
                    ..Request::new(method.clone(), url.clone(), PIM_ANSWER_LIMIT)
                },
                deadline,
            )
            .await?)
    }

    fn entity_url(&self, collection: &str, key: &str) -> Url {
        let mut url = self.connection.base().clone();
        url.set_path(collection);
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.push(key);
        }
        url
    }

    async fn get(&self, url: &Url, deadline: Instant) -> Result<Answer, PimError> {
        let request = |token: &AccessToken| Request {
            authorization: Some(token.bearer_header()),
            ..Request::get(url.clone(), PIM_ANSWER_LIMIT)
        };
        Ok(self.connection.call(request, deadline).await?)
    }

    async fn get_one(
        &self,
        collection: &str,
        key: &str,
        deadline: Instant,
    ) -> Result<Option<Box<RawValue>>, PimError> {
        let answer = self.get(&self.entity_url(collection, key), deadline).await?;
        match answer.status {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => serde_json::from_slice(&answer.body)
                .map(Some)
                .map_err(|e| PimError::InvalidAnswer(format!("{collection}/{key}: {e}"))),
            status => Err(refused(status, &answer)),
        }
    }

    async fn search(
        &self,
        collection: &str,
        key: SearchKey,
        values: &[String],
        deadline: Instant,
    ) -> Result<HashMap<String, Box<RawValue>>, PimError> {
        let pages = values
            .chunks(MAX_PAGE_SIZE)
            .map(|chunk| self.search_chunk(collection, key, chunk, deadline));
        let mut found = HashMap::with_capacity(values.len());
        for items in try_join_all(pages).await? {
            found.extend(items);
        }
        Ok(found)
    }

    /// One search (at most 100 values) and the pages it links to.
    async fn search_chunk(
        &self,
        collection: &str,
        key: SearchKey,
        values: &[String],
        deadline: Instant,
    ) -> Result<Vec<(String, Box<RawValue>)>, PimError> {
        let search = serde_json::json!({ key.name(): [{"operator": "IN", "value": values}] });
        let mut url = self.connection.base().clone();
        url.set_path(collection);
        url.query_pairs_mut()
            .append_pair("search", &search.to_string())
            .append_pair("limit", &MAX_PAGE_SIZE.to_string());
        let mut items = Vec::with_capacity(values.len());
        // Every page but the last holds at least one item: a chain longer than
        // the values searched for is a PIM bug, not a reason to loop.
        for _ in 0..=values.len() {
            let answer = self.get(&url, deadline).await?;
            if !answer.status.is_success() {
                return Err(refused(answer.status, &answer));
            }
            let page = read_search_page(&answer.body, key)
                .map_err(|e| PimError::InvalidAnswer(format!("{collection} search page: {e}")))?;
            items.extend(page.items.into_iter().map(|(key, item)| (key, item.to_owned())));
            match page.next {
                Some(next) => url = self.same_origin(&next)?,
                None => return Ok(items),
            }
        }
        Err(PimError::InvalidAnswer(format!(
            "{collection} search pages never end"
        )))
    }

    /// A `_links.next` URL, refused when it points elsewhere than the PIM
    /// (the token would go with it).
    fn same_origin(&self, href: &str) -> Result<Url, PimError> {
        let base = self.connection.base();
        // Named by origin only: the link is the server's text.
        let url = Url::parse(href)
            .map_err(|_| PimError::InvalidAnswer("a next page link that is not a URL".into()))?;
        if url.origin() != base.origin() {
            return Err(PimError::InvalidAnswer(format!(
                "a next page link to {} leaves {}",
                url.origin().ascii_serialization(),
                base.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }
}

fn refused(status: StatusCode, answer: &Answer) -> PimError {
    PimError::Refused {
        status: status.as_u16(),
        message: error_message(&answer.body),
    }
}
