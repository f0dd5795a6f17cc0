//! The Event Platform's notification webhooks: Akeneo tells the relay when a
//! subscription is suspended, revoked or resumed (EVENT-PLATFORM-API.md,
//! "Notification webhooks"). Signed like events (HMAC-SHA256 of the raw body
//! in `X-AKENEO-SIGNATURE-PRIMARY`) with the subscriber's own notification
//! secret; answered at once and never queued: they are about the relay, not
//! about the PIM's data.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::core::signature::{Secrets, SignatureError, event_platform};

/// How far a notification's `timestamp` may be from now for it to change the
/// suspension state. Akeneo sends at once and retries 1 s and 2 s apart; this
/// leaves room for clock skew and queueing on its side, and none for a
/// signed notification replayed later.
pub const NOTIFICATION_TOLERANCE: Duration = Duration::from_secs(300);

/// The route Akeneo posts notifications to, beside the events route.
pub const NOTIFICATIONS_PATH: &str = "/event-platform/notifications";

/// The metric the template alarms on: 1 when a subscription stops receiving
/// (suspended or revoked), 0 when one resumes.
pub const SUSPENDED_METRIC: &str = "SubscriptionSuspended";

/// Whether `path` is the notification route (one trailing slash tolerated, as
/// for the events routes).
pub fn is_notifications_path(path: &str) -> bool {
    path.strip_suffix('/').unwrap_or(path) == NOTIFICATIONS_PATH
}

/// What happened to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotificationKind {
    /// Akeneo suspended it: a 404 or 3xx, or under 90 % success over an hour.
    SuspendedBySystem,
    /// Someone suspended it through the management API.
    SuspendedByUser,
    /// The connection or app lost its permission: it will not come back.
    Revoked,
    /// It was resumed: events flow again.
    Resumed,
    /// A type this code does not know (Akeneo adds them): accepted and logged.
    Other(String),
}

impl NotificationKind {
    /// The kind named by Akeneo's `notification_type`.
    pub fn from_type(notification_type: &str) -> NotificationKind {
        match notification_type {
            "subscription.suspended.system" => NotificationKind::SuspendedBySystem,
            "subscription.suspended.user" => NotificationKind::SuspendedByUser,
            "subscription.revoked" => NotificationKind::Revoked,
            "subscription.resumed" => NotificationKind::Resumed,
            other => NotificationKind::Other(other.to_owned()),
        }
    }

    /// Events are lost while this lasts: the operator must hear of it.
    pub fn stops_delivery(&self) -> bool {
        matches!(
            self,
            NotificationKind::SuspendedBySystem
                | NotificationKind::SuspendedByUser
                | NotificationKind::Revoked
        )
    }

    /// The value of [`SUSPENDED_METRIC`] this notification sets, if any.
    pub fn suspended_value(&self) -> Option<u64> {
        match self {
            kind if kind.stops_delivery() => Some(1),
            NotificationKind::Resumed => Some(0),
            _ => None,
        }
    }
}

/// A notification as Akeneo sends it; every field but the type may be absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// What happened.
    pub kind: NotificationKind,
    /// `notification_type`, as sent.
    pub notification_type: String,
    /// The subscription it is about.
    pub subscription_id: Option<String>,
    /// Its subscriber.
    pub subscriber_id: Option<String>,
    /// When it happened (RFC 3339), as sent.
    pub timestamp: Option<String>,
    /// Why, as Akeneo words it.
    pub reason: Option<String>,
    /// The subscription's destination URL.
    pub destination: Option<String>,
}

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    /// Its signature is missing or wrong.
    #[error("the notification's signature is refused: {0}")]
    Unauthorized(#[from] SignatureError),
    /// Not a JSON object with a `notification_type`.
    #[error("the notification is not a JSON object with a notification_type")]
    Invalid,
}

/// A state change whose timestamp is missing, unreadable or too far from now:
/// possibly a replay of a genuine, signed notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the notification's timestamp {0}")]
pub struct StaleNotification(String);

/// A notification that changes the suspension state must be recent (within
/// `tolerance` of `now`, either way): a replayed `subscription.resumed`
/// would otherwise clear the alarm of a subscription still suspended. Other
/// notifications change nothing and are not checked.
pub fn check_fresh(
    notification: &Notification,
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), StaleNotification> {
    if notification.kind.suspended_value().is_none() {
        return Ok(());
    }
    let Some(text) = notification.timestamp.as_deref() else {
        return Err(StaleNotification("is missing".into()));
    };
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| StaleNotification("is not an RFC 3339 time".into()))?;
    let skew = (OffsetDateTime::from(now) - at).abs();
    if skew > tolerance {
        return Err(StaleNotification(format!(
            "is {} s from now, over the {} s allowed",
            skew.whole_seconds(),
            tolerance.as_secs()
        )));
    }
    Ok(())
}

/// Verifies the primary signature against the notification secret(s), then
/// reads the body.
pub fn read_notification(
    secrets: &Secrets,
    signature: Option<&[u8]>,
    algorithm: Option<&[u8]>,
    body: &[u8],
) -> Result<Notification, NotificationError> {
    event_platform::verify(secrets, signature, None, algorithm, body)?;
    parse(body)
}

fn parse(body: &[u8]) -> Result<Notification, NotificationError> {
    #[derive(Deserialize)]
    struct Body {
        notification_type: String,
        subscription_id: Option<serde_json::Value>,
        subscriber_id: Option<serde_json::Value>,
        timestamp: Option<serde_json::Value>,
        reason: Option<serde_json::Value>,
        destination: Option<serde_json::Value>,
    }
    // Fields are lifted as text whatever their JSON type, so an odd one does
    // not cost the operator the notification.
    fn text(value: Option<serde_json::Value>) -> Option<String> {
        match value? {
            serde_json::Value::Null => None,
            serde_json::Value::String(text) => Some(text),
            other => Some(other.to_string()),
        }
    }
    let body: Body = serde_json::from_slice(body).map_err(|_| NotificationError::Invalid)?;
    Ok(Notification {
        kind: NotificationKind::from_type(&body.notification_type),
        notification_type: body.notification_type,
        subscription_id: text(body.subscription_id),
        subscriber_id: text(body.subscriber_id),
        timestamp: text(body.timestamp),
        reason: text(body.reason),
        destination: text(body.destination),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-notification-secret-of-16+";

    fn suspended() -> Vec<u8> {
        br#"{"notification_type":"subscription.suspended.system","timestamp":"2026-11-24T03:00:00Z","subscription_id":"sub-1","subscriber_id":"sbr-1","destination":"https://relay.example/event-platform","events":[],"reason":"404","subject":"https://pim.example"}"#.to_vec()
    }

    fn signed(body: &[u8]) -> String {
        event_platform::sign(SECRET, body)
    }

    #[test]
    fn a_signed_suspension_is_read_with_its_subscription_and_reason() {
        // GIVEN a suspension signed with the notification secret
        let body = suspended();
        // WHEN it is read
        let notification = read_notification(
            &Secrets::new([SECRET]),
            Some(signed(&body).as_bytes()),
            Some(b"HmacSHA256"),
            &body,
        )
        .expect("read");
        // THEN it names the subscription, why, and that delivery stopped
        assert_eq!(notification.kind, NotificationKind::SuspendedBySystem);
        assert_eq!(notification.subscription_id.as_deref(), Some("sub-1"));
        assert_eq!(notification.reason.as_deref(), Some("404"));
        assert_eq!(notification.kind.suspended_value(), Some(1));
    }

    #[test]
    fn a_notification_signed_with_another_secret_is_unauthorized() {
        // GIVEN a suspension signed with an events secret instead
        let body = suspended();
        let wrong = event_platform::sign("the-events-secret", &body);
        // WHEN it is read
        let error = read_notification(&Secrets::new([SECRET]), Some(wrong.as_bytes()), None, &body)
            .expect_err("refused");
        // THEN it is unauthorized
        assert!(matches!(
            error,
            NotificationError::Unauthorized(SignatureError::Mismatch)
        ));
    }

    #[test]
    fn an_unknown_type_is_read_as_other_and_sets_no_metric() {
        // GIVEN a notification of a type Akeneo may add later
        let body = br#"{"notification_type":"subscription.renamed","subscription_id":7}"#;
        // WHEN it is read
        let notification =
            read_notification(&Secrets::new([SECRET]), Some(signed(body).as_bytes()), None, body)
                .expect("read");
        // THEN it is kept as is, with an odd field as text, and no metric
        assert_eq!(
            notification.kind,
            NotificationKind::Other("subscription.renamed".into())
        );
        assert_eq!(notification.subscription_id.as_deref(), Some("7"));
        assert_eq!(notification.kind.suspended_value(), None);
    }

    #[test]
    fn revocation_stops_delivery_and_resumption_clears_the_metric() {
        // GIVEN the two other known types
        let revoked = NotificationKind::from_type("subscription.revoked");
        let resumed = NotificationKind::from_type("subscription.resumed");
        // WHEN their metric values are asked
        // THEN a revocation raises it and a resumption clears it
        assert_eq!(
            (revoked.suspended_value(), resumed.suspended_value()),
            (Some(1), Some(0))
        );
        assert!(NotificationKind::from_type("subscription.suspended.user").stops_delivery());
    }

    #[test]
    fn a_signed_body_without_a_type_is_invalid() {
        // GIVEN signed JSON without notification_type, and signed text
        for body in [br#"{"subscription_id":"s"}"#.as_slice(), b"not json"] {
            // WHEN it is read
            let error = read_notification(&Secrets::new([SECRET]), Some(signed(body).as_bytes()), None, body)
                .expect_err("refused");
            // THEN it is invalid
            assert_eq!(error, NotificationError::Invalid);
        }
    }

    #[test]
    fn the_route_is_the_events_route_plus_notifications_with_one_trailing_slash_tolerated() {
        // GIVEN the route, with and without a slash, and near misses
        // WHEN each is checked
        // THEN only the route matches
        assert!(is_notifications_path("/event-platform/notifications"));
        assert!(is_notifications_path("/event-platform/notifications/"));
        assert!(!is_notifications_path("/event-platform"));
        assert!(!is_notifications_path("/event-platform/notifications//"));
    }

    fn at(text: &str) -> SystemTime {
        OffsetDateTime::parse(text, &Rfc3339).expect("time").into()
    }

    fn resumed(timestamp: Option<&str>) -> Notification {
        let body = match timestamp {
            Some(t) => format!(r#"{{"notification_type":"subscription.resumed","timestamp":"{t}"}}"#),
            None => r#"{"notification_type":"subscription.resumed"}"#.to_owned(),
        };
        parse(body.as_bytes()).expect("parses")
    }

    #[test]
    fn a_state_change_sent_now_or_retried_seconds_later_is_fresh() {
        // GIVEN a resumption stamped 03:00:00
        let notification = resumed(Some("2026-11-24T03:00:00Z"));
        // WHEN it arrives at once, after Akeneo's retries, and 4 minutes early by a skewed clock
        // THEN it is fresh each time
        for now in [
            "2026-11-24T03:00:00Z",
            "2026-11-24T03:00:03Z",
            "2026-11-24T02:56:00Z",
        ] {
            assert_eq!(
                check_fresh(&notification, at(now), NOTIFICATION_TOLERANCE),
                Ok(()),
                "{now}"
            );
        }
    }

    #[test]
    fn a_resumption_replayed_years_later_is_stale() {
        // GIVEN a signed resumption from 2020
        let notification = resumed(Some("2020-01-01T00:00:00Z"));
        // WHEN it arrives in 2026
        let checked = check_fresh(&notification, at("2026-12-03T20:00:00Z"), NOTIFICATION_TOLERANCE);
        // THEN it is stale
        assert!(checked.is_err(), "{checked:?}");
    }

    #[test]
    fn a_state_change_without_a_readable_timestamp_is_stale() {
        // GIVEN resumptions without a timestamp, and with one that is not RFC 3339
        // WHEN they are checked
        // THEN both are stale
        for notification in [resumed(None), resumed(Some("yesterday"))] {
            assert!(check_fresh(&notification, SystemTime::now(), NOTIFICATION_TOLERANCE).is_err());
        }
    }

    #[test]
    fn a_notification_that_changes_nothing_is_not_checked() {
        // GIVEN a notification of an unknown type from 2020
        let body = br#"{"notification_type":"subscription.renamed","timestamp":"2020-01-01T00:00:00Z"}"#;
        let notification = parse(body).expect("parses");
        // WHEN it is checked
        // THEN it passes: it sets no metric
        assert_eq!(
            check_fresh(&notification, SystemTime::now(), NOTIFICATION_TOLERANCE),
            Ok(())
        );
    }
}
