//! What the integration tests share: moto (started by `scripts/test`), Akeneo's
//! signing, Function URL requests, a test app around the receiver, queue
//! messages for the processor, a PIM REST API test server and a hostile Akeneo, polling with a
//! deadline, and the release binaries.

pub mod akeneo;
pub mod app;
pub mod events;
pub mod function_url;
pub mod hostile_akeneo;
pub mod moto;
pub mod package;
pub mod pim;
pub mod release;
pub mod wait;

pub use shared::testing::{fixture, fixture_files};

/// An HTTP client for the tests. In a workspace build reqwest may carry the
/// CLI's `rustls-no-provider` feature, so ring is installed first, as the CLI does.
pub fn http_client(timeout: std::time::Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("HTTP client")
}
