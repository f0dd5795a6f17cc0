//! The Event Platform subscription as the relay manages it (EVENT-PLATFORM-API.md):
//! the resources ([`model`]), what `subscribe` changes ([`plan`], [`filter`]), the order of
//! a zero-loss secret rotation ([`rotation`]) and new secrets ([`secret`]).
//! The HTTP client is `adapters::akeneo::event_platform`.

pub mod filter;
pub mod model;
pub mod plan;
pub mod rotation;
pub mod secret;

use crate::core::notification::NOTIFICATIONS_PATH;
use crate::core::protocol::Protocol;

/// What `subscribe` asks for by default: every product and product model event.
pub const DEFAULT_EVENT_TYPES: [&str; 10] = [
    "com.akeneo.pim.v1.product.created",
    "com.akeneo.pim.v1.product.updated",
    "com.akeneo.pim.v1.product.deleted",
    "com.akeneo.pim.v1.product.became-complete",
    "com.akeneo.pim.v1.product.became-incomplete",
    "com.akeneo.pim.v1.product.updated.delta",
    "com.akeneo.pim.v1.product-model.created",
    "com.akeneo.pim.v1.product-model.updated",
    "com.akeneo.pim.v1.product-model.deleted",
    "com.akeneo.pim.v1.product-model.updated.delta",
];

/// The subscriber name `subscribe` looks for and creates.
pub const DEFAULT_SUBSCRIBER_NAME: &str = "akeneo-event-relay";

/// The notification route beside an Event Platform Request URL
/// (`https://x.lambda-url…/event-platform` → `…/event-platform/notifications`).
pub fn notification_url(request_url: &str) -> Option<String> {
    let route = Protocol::EventPlatform.path();
    let base = request_url.trim_end_matches('/').strip_suffix(route)?;
    Some(format!("{base}{NOTIFICATIONS_PATH}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_notification_url_sits_beside_the_request_url() {
        // GIVEN a Function URL's Event Platform Request URL, with a trailing slash
        let request_url = "https://abc.lambda-url.eu-west-1.on.aws/event-platform/";
        // WHEN the notification URL is derived
        // THEN it is the notification route on the same host
        assert_eq!(
            super::notification_url(request_url).as_deref(),
            Some("https://abc.lambda-url.eu-west-1.on.aws/event-platform/notifications")
        );
        assert_eq!(super::notification_url("https://abc/events-api"), None);
    }
}
