//! Reading the current products and product models from the PIM, for the
//! processor's enrichment step, and what changed in a time window, for the
//! catch-up (the PIM REST API client in AWS and locally).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::core::catch_up::{CatchUpEntity, Window};

/// What a read found, by key (product uuid, lower case; product model code).
/// A key that is not in it is gone: deleted, or hidden from the connection.
pub type Found = HashMap<String, Arc<RawValue>>;

/// Why the PIM could not be read before the deadline. Never carries a token or
/// a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PimReadError {
    /// Down, failing, timing out or rate-limiting past the deadline.
    #[error("the PIM could not be read in time: {0}")]
    Unavailable(String),
    /// The connection's credentials or token were refused.
    #[error("the PIM refused the connection: {0}")]
    Refused(String),
    /// It answered something this client does not understand.
    #[error("the PIM's answer was not understood: {0}")]
    Invalid(String),
}

/// Reads many entities in as few calls as the API allows. Boxed futures so
/// the processor can hold any reader as `Arc<dyn PimReader>`.
pub trait PimReader: Send + Sync + 'static {
    /// The products with these uuids (each given once).
    fn products<'a>(
        &'a self,
        uuids: &'a [String],
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>>;

    /// The product models with these codes (each given once).
    fn product_models<'a>(
        &'a self,
        codes: &'a [String],
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Found, PimReadError>>;
}

/// Where a catch-up reads next in one slice of its window.
#[derive(Debug, Clone, Copy)]
pub enum PageCursor<'a> {
    /// The first page of the entities updated in this window.
    First(&'a Window),
    /// The page a previous page's `_links.next` named (unchecked: the reader
    /// refuses one that leaves the PIM).
    Next(&'a str),
}

/// Reads the entities updated in a time window, one search page at a time
/// (for [`crate::core::catch_up`]).
pub trait UpdatedPages: Send + Sync + 'static {
    /// One page's body as the PIM sent it (a search page, read with
    /// [`crate::core::answers::read_search_page`]).
    fn updated_page<'a>(
        &'a self,
        entity: CatchUpEntity,
        cursor: PageCursor<'a>,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Bytes, PimReadError>>;
}

/// A tenant's PIM connection as the processor knows it (see
/// [`crate::core::tenant`]).
#[derive(Clone)]
pub enum TenantReader {
    /// The tenant's own connection.
    Connected(Arc<dyn PimReader>),
    /// The tenant has no PIM connection: its events are not enriched.
    NoConnection,
    /// No such tenant, or not yet (added since the processor read the
    /// tenants): its events are retried, never read from another PIM.
    Unknown,
}

/// Each tenant's PIM connection, by tenant name.
pub trait TenantPims: Send + Sync + 'static {
    /// `tenant`'s connection.
    fn reader(&self, tenant: &str) -> TenantReader;
}

/// Each tenant's PIM for its catch-ups: the reader of updated pages and the
/// PIM's URL (the events' `source`); `None` for a tenant without a
/// connection, or unknown.
pub trait TenantPages: Send + Sync + 'static {
    /// `tenant`'s reader and PIM URL.
    fn pages(&self, tenant: &str) -> Option<(Arc<dyn UpdatedPages>, String)>;
}
