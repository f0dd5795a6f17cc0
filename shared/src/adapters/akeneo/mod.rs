//! Clients of Akeneo's APIs (feature `akeneo`).
//!
//! - [`auth`]: a connection's access tokens (password grant, refresh, one
//!   token call at a time), for any Akeneo API that takes them.
//! - [`transport`]: the limit on calls in flight, `429 Retry-After`, retries
//!   with backoff and jitter within the caller's deadline.
//! - [`connection`]: both, shared by every client of one connection in the
//!   process; a call retried once with a new token after a 401.
//! - [`event_platform`]: the Event Platform's management API (subscribers,
//!   subscriptions, logs), with the connection's PIM token.
//! - [`pim`]: the PIM REST API client, also the processor's
//!   [`crate::ports::pim::PimReader`].
//! - [`tenants`]: each tenant's PIM client, read from the secret document.

pub mod auth;
pub mod connection;
pub mod event_platform;
pub mod pim;
pub mod tenants;
pub mod transport;

pub use auth::{AccessToken, AuthError, TokenProvider};
pub use connection::{CallError, Connection, ConnectionSettings};
pub use event_platform::{EventPlatformClient, LogQuery, ManagementError};
pub use pim::{PimClient, PimError};
pub use tenants::TenantConnections;
pub use transport::{Answer, RetryPolicy, TransportError};
