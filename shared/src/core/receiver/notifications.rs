//! The notification route: Akeneo's word that a subscription was suspended,
//! revoked or resumed. Verified like events; a suspension is a warn line and
//! a metric the template alarms on. A state change is also queued, as a
//! catch-up job (see [`crate::core::catch_up::job`]), before the answer: on
//! a resume the processor catches up the suspended window.

use std::time::SystemTime;

use http::{HeaderMap, Method, StatusCode};
use tokio::time::Instant;
use tracing::{info, warn};

use super::{Handled, Receiver, Rejection, RouteSecrets, answered, rejected};
use crate::core::catch_up::Job;
use crate::core::delivery::deliver_all;
use crate::core::message::format_timestamp;
use crate::core::notification::{
    NOTIFICATION_TOLERANCE, Notification, NotificationError, NotificationKind, SUSPENDED_METRIC, check_fresh,
    read_notification,
};
use crate::core::protocol::Protocol;
use crate::core::signature::event_platform;
use crate::observability::metrics::Record;
use crate::ports::queue::QueueSender;

impl<Q: QueueSender> Receiver<Q> {
    pub(super) async fn notification(
        &self,
        tenant: Option<&str>,
        secrets: &RouteSecrets,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Handled {
        // Logged under the Event Platform's route: notifications come from it.
        let route = Some(Protocol::EventPlatform);
        if secrets.notifications.is_empty() {
            self.secrets.route_not_configured();
            return rejected(route, Rejection::NotificationsNotConfigured, 0);
        }
        match *method {
            Method::POST => {}
            Method::HEAD => return answered(Protocol::EventPlatform, StatusCode::OK, None, 0),
            Method::GET => {
                let status = r#"{"status":"ok","route":"event-platform-notifications"}"#.to_owned();
                return answered(Protocol::EventPlatform, StatusCode::OK, Some(status), 0);
            }
            _ => return rejected(route, Rejection::MethodNotAllowed, 0),
        }
        let header = |name: &str| headers.get(name).map(|value| value.as_bytes());
        let read = read_notification(
            &secrets.notifications,
            header(event_platform::PRIMARY_HEADER),
            header(event_platform::ALGORITHM_HEADER),
            body,
        );
        let notification = match read {
            Ok(notification) => notification,
            Err(NotificationError::Unauthorized(error)) => {
                if matches!(error, crate::core::signature::SignatureError::Mismatch) {
                    self.secrets.signature_mismatched();
                }
                self.count(
                    Protocol::EventPlatform,
                    tenant,
                    None,
                    &[("NotificationSignatureFailures", 1)],
                );
                return rejected(route, Rejection::Unauthorized(error), 0);
            }
            Err(NotificationError::Invalid) => return rejected(route, Rejection::InvalidNotification, 0),
        };
        // Signed, but a state change must be recent: a signed notification
        // replayed later (a `resumed` clearing the alarm of a subscription
        // still suspended) is refused. Akeneo does not retry a 4xx; it falls
        // back to email, so a genuine late one still reaches the operator.
        if let Err(error) = check_fresh(&notification, now, NOTIFICATION_TOLERANCE) {
            warn!(
                notification_type = notification.notification_type.as_str(),
                subscription_id = notification.subscription_id.as_deref(),
                reason = %error,
                "Event Platform notification refused as stale: it changes nothing"
            );
            self.count(
                Protocol::EventPlatform,
                tenant,
                None,
                &[("NotificationSignatureFailures", 1)],
            );
            return rejected(route, Rejection::StaleNotification, 0);
        }
        let subscription = notification.subscription_id.as_deref();
        let fields = (
            notification.notification_type.as_str(),
            subscription,
            notification.subscriber_id.as_deref(),
            notification.reason.as_deref(),
            notification.destination.as_deref(),
        );
        match &notification.kind {
            NotificationKind::Revoked => warn!(
                notification_type = fields.0,
                subscription_id = fields.1,
                subscriber_id = fields.2,
                reason = fields.3,
                destination = fields.4,
                revoked_at = notification.timestamp.as_deref(),
                tenant,
                "Event Platform subscription revoked: events are lost until a new subscription exists; then catch up from revoked_at with `akeneo-relay catch-up --since <revoked_at>`"
            ),
            kind if kind.stops_delivery() => warn!(
                notification_type = fields.0,
                subscription_id = fields.1,
                subscriber_id = fields.2,
                reason = fields.3,
                destination = fields.4,
                tenant,
                "Event Platform subscription stopped: events are lost until it is resumed"
            ),
            NotificationKind::Resumed => info!(
                notification_type = fields.0,
                subscription_id = fields.1,
                subscriber_id = fields.2,
                tenant,
                "Event Platform subscription resumed"
            ),
            _ => info!(
                notification_type = fields.0,
                subscription_id = fields.1,
                subscriber_id = fields.2,
                reason = fields.3,
                tenant,
                "Event Platform notification of a type this relay does not know; accepted"
            ),
        }
        if let Some(record) = suspended_record(&notification.kind) {
            self.metrics.emit_state(&record);
        }
        if let Some(job) = catch_up_job(&notification) {
            let deadline = Instant::now() + Protocol::EventPlatform.queue_budget();
            // A tenant's job reads that tenant's PIM (the processor's jobs).
            let message = job.message_for(tenant, &format_timestamp(now));
            if let Err(error) = deliver_all(&self.queue, &[message], deadline).await {
                warn!(reason = %error, "notification not queued for the catch-up; Akeneo will send it again");
                return rejected(route, Rejection::QueueUnavailable(error), 0);
            }
        }
        let reply = serde_json::json!({ "received": notification.notification_type });
        answered(
            Protocol::EventPlatform,
            StatusCode::OK,
            Some(reply.to_string()),
            0,
        )
    }
}

/// The catch-up job a state change asks for: a suspension (or revocation)
/// is remembered, a resume catches up.
fn catch_up_job(notification: &Notification) -> Option<Job> {
    let subscription = notification.subscription_id.clone()?;
    let at = notification.timestamp.clone()?;
    match notification.kind {
        NotificationKind::Resumed => Some(Job::Resumed { subscription, at }),
        ref kind if kind.stops_delivery() => Some(Job::Suspended { subscription, at }),
        _ => None,
    }
}

/// The state metric a notification sets, without dimensions so one alarm
/// covers every subscription of the stack.
pub fn suspended_record(kind: &NotificationKind) -> Option<Record<'static>> {
    kind.suspended_value().map(|value| Record {
        dimensions: vec![],
        counts: vec![(SUSPENDED_METRIC, value)],
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use http::HeaderValue;

    use super::*;
    use crate::core::receiver::{RouteSecrets, SecretStore};
    use crate::core::signature::Secrets;
    use crate::observability::metrics::emf_line;
    use crate::testing::{Behaviour, MemoryQueue};

    const SECRET: &str = "the-notification-webhook-secret";

    fn receiver() -> Receiver<MemoryQueue> {
        let secrets = RouteSecrets {
            event_platform: Secrets::new(["events-secret"]),
            notifications: Secrets::new([SECRET]),
            ..RouteSecrets::default()
        };
        Receiver::new(
            MemoryQueue::new(Behaviour::Accept),
            SecretStore::fixed(secrets),
            300,
        )
    }

    /// Two seconds after the notifications below were stamped.
    fn sent_at() -> SystemTime {
        SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_795_489_202)
    }

    fn notification(kind: &str) -> Vec<u8> {
        format!(
            r#"{{"notification_type":"{kind}","timestamp":"2026-11-24T03:00:00Z","subscription_id":"sub-1","subscriber_id":"sbr-1","destination":"https://relay.example/event-platform","events":["com.akeneo.pim.v1.product.updated"],"reason":"404 Not Found","subject":"https://pim.example"}}"#
        )
        .into_bytes()
    }

    fn signed_with(secret: &str, body: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let signature = event_platform::sign(secret, body);
        headers.insert(
            event_platform::PRIMARY_HEADER,
            HeaderValue::from_str(&signature).expect("hex"),
        );
        headers.insert(
            event_platform::ALGORITHM_HEADER,
            HeaderValue::from_static("HmacSHA256"),
        );
        headers
    }

    /// The top-level notification route, as `process` calls it.
    async fn notify<Q: QueueSender>(
        receiver: &Receiver<Q>,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Handled {
        let secrets = receiver.secrets.current();
        receiver
            .notification(None, &secrets, method, headers, body, now)
            .await
    }

    fn block<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    /// The log lines written while `run` runs, as JSON.
    fn logged(run: impl FnOnce() -> Handled) -> (Handled, Vec<serde_json::Value>) {
        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl Write for Lines {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("lock").extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        let handled = tracing::subscriber::with_default(subscriber, run);
        let text = String::from_utf8(lines.0.lock().expect("lock").clone()).expect("utf-8");
        let lines = text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        (handled, lines)
    }

    #[test]
    fn a_signed_suspension_is_200_logged_at_warn_and_queued_only_as_a_catch_up_job() {
        // GIVEN a receiver with a notification secret and a signed suspension
        let receiver = receiver();
        let body = notification("subscription.suspended.system");
        // WHEN it is posted to the notification route
        let (handled, lines) = logged(|| {
            block(notify(
                &receiver,
                &Method::POST,
                &signed_with(SECRET, &body),
                &body,
                sent_at(),
            ))
        });
        // THEN it is acknowledged, a warn line names the subscription and why, and the
        // suspension's time is queued for the processor, which remembers it for the catch-up
        assert_eq!(handled.reply.status, StatusCode::OK);
        assert_eq!(
            handled.reply.body.as_deref(),
            Some(r#"{"received":"subscription.suspended.system"}"#)
        );
        let warning = lines.iter().find(|l| l["level"] == "WARN").expect("a warn line");
        assert_eq!(warning["subscription_id"], "sub-1");
        assert_eq!(warning["reason"], "404 Not Found");
        let queued = receiver.queue().bodies();
        assert_eq!(queued.len(), 1);
        let event = crate::PimEvent::from_message_body(&queued[0]).expect("an envelope");
        assert_eq!(
            Job::of(&event).expect("a job").expect("readable"),
            Job::Suspended {
                subscription: "sub-1".into(),
                at: "2026-11-24T03:00:00Z".into()
            }
        );
    }

    #[test]
    fn a_resume_is_acknowledged_only_once_its_catch_up_job_is_queued() {
        // GIVEN a signed resume, and a queue that refuses everything
        let secrets = RouteSecrets {
            notifications: Secrets::new([SECRET]),
            ..RouteSecrets::default()
        };
        let receiver = Receiver::new(
            MemoryQueue::new(Behaviour::Unavailable),
            SecretStore::fixed(secrets),
            300,
        );
        let body = notification("subscription.resumed");
        // WHEN it is posted
        let handled = block(notify(
            &receiver,
            &Method::POST,
            &signed_with(SECRET, &body),
            &body,
            sent_at(),
        ));
        // THEN it is not acknowledged: Akeneo sends it again (it retries 429 and 5xx)
        assert_eq!(handled.reply.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(handled.error, Some("queue_unavailable"));
    }

    #[test]
    fn a_notification_signed_with_another_secret_is_401() {
        // GIVEN a suspension signed with the events secret instead of the notification one
        let receiver = receiver();
        let body = notification("subscription.suspended.system");
        // WHEN it is posted
        let handled = block(notify(
            &receiver,
            &Method::POST,
            &signed_with("events-secret", &body),
            &body,
            sent_at(),
        ));
        // THEN it is unauthorized, and nothing is queued
        assert_eq!(handled.reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(handled.error, Some("unauthorized"));
        assert!(receiver.queue().bodies().is_empty());
    }

    #[test]
    fn an_unknown_notification_type_is_accepted_and_logged() {
        // GIVEN a signed notification of a type Akeneo may add later
        let receiver = receiver();
        let body = notification("subscription.renamed");
        // WHEN it is posted
        let (handled, lines) = logged(|| {
            block(notify(
                &receiver,
                &Method::POST,
                &signed_with(SECRET, &body),
                &body,
                sent_at(),
            ))
        });
        // THEN it is 200, and an info line says what came
        assert_eq!(handled.reply.status, StatusCode::OK);
        let line = lines
            .iter()
            .find(|l| l["notification_type"] == "subscription.renamed")
            .expect("logged");
        assert_eq!(line["level"], "INFO");
    }

    #[test]
    fn signed_json_that_is_not_a_notification_is_400() {
        // GIVEN signed JSON without a notification_type
        let receiver = receiver();
        let body = br#"{"hello":"world"}"#;
        // WHEN it is posted
        let handled = block(notify(
            &receiver,
            &Method::POST,
            &signed_with(SECRET, body),
            body,
            sent_at(),
        ));
        // THEN it is 400 invalid_notification
        assert_eq!(
            (handled.reply.status, handled.error),
            (StatusCode::BAD_REQUEST, Some("invalid_notification"))
        );
    }

    #[test]
    fn without_a_notification_secret_the_route_is_404() {
        // GIVEN a receiver with event secrets only
        let secrets = RouteSecrets {
            event_platform: Secrets::new(["events-secret"]),
            ..RouteSecrets::default()
        };
        let receiver = Receiver::new(
            MemoryQueue::new(Behaviour::Accept),
            SecretStore::fixed(secrets),
            300,
        );
        let body = notification("subscription.resumed");
        // WHEN a notification is posted
        let handled = block(notify(
            &receiver,
            &Method::POST,
            &signed_with(SECRET, &body),
            &body,
            sent_at(),
        ));
        // THEN the route is not configured
        assert_eq!(
            (handled.reply.status, handled.error),
            (StatusCode::NOT_FOUND, Some("route_not_configured"))
        );
    }

    #[test]
    fn the_alarm_metric_line_is_1_on_a_suspension_or_revocation_and_0_on_a_resume() {
        // GIVEN each known notification type
        let line = |kind: &str| {
            let record = suspended_record(&NotificationKind::from_type(kind)).expect("a metric");
            serde_json::from_str::<serde_json::Value>(&emf_line("AkeneoEventRelay", &record, 0, false))
                .expect("JSON")
        };
        // WHEN their EMF lines are built
        let (suspended, revoked, resumed) = (
            line("subscription.suspended.user"),
            line("subscription.revoked"),
            line("subscription.resumed"),
        );
        // THEN the metric the template alarms on is 1, 1, then 0, without dimensions
        assert_eq!(
            (
                &suspended[SUSPENDED_METRIC],
                &revoked[SUSPENDED_METRIC],
                &resumed[SUSPENDED_METRIC]
            ),
            (
                &serde_json::json!(1),
                &serde_json::json!(1),
                &serde_json::json!(0)
            )
        );
        let declared = &resumed["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Metrics"][0]["Name"], SUSPENDED_METRIC);
        assert_eq!(declared["Dimensions"], serde_json::json!([[]]));
        assert!(suspended_record(&NotificationKind::from_type("subscription.renamed")).is_none());
    }

    /// A source that answers the notification secret `subscribe` just stored.
    struct Stored;

    impl crate::ports::secrets::SecretSource for Stored {
        fn load(
            &self,
        ) -> futures::future::BoxFuture<'_, Result<RouteSecrets, crate::ports::secrets::SecretSourceError>>
        {
            Box::pin(async {
                Ok(RouteSecrets {
                    event_platform: Secrets::new(["events-secret"]),
                    notifications: Secrets::new([SECRET]),
                    ..RouteSecrets::default()
                })
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_notification_route_without_a_secret_looks_again_soon() {
        // GIVEN a receiver loaded before `subscribe` stored the notification secret, 31 s ago
        let initial = RouteSecrets {
            event_platform: Secrets::new(["events-secret"]),
            ..RouteSecrets::default()
        };
        let store = SecretStore::reloading(initial, Arc::new(Stored), std::time::Duration::from_secs(300));
        let receiver = Receiver::new(MemoryQueue::new(Behaviour::Accept), store, 300);
        tokio::time::sleep(std::time::Duration::from_secs(31)).await;
        let body = notification("subscription.resumed");
        // WHEN a notification is answered 404 (Akeneo falls back to email for it)
        let first = notify(
            &receiver,
            &Method::POST,
            &signed_with(SECRET, &body),
            &body,
            sent_at(),
        )
        .await;
        tokio::task::yield_now().await;
        // THEN the secrets were reloaded, and the next notification is accepted
        let retried = notify(
            &receiver,
            &Method::POST,
            &signed_with(SECRET, &body),
            &body,
            sent_at(),
        )
        .await;
        assert_eq!(
            (first.reply.status, retried.reply.status),
            (StatusCode::NOT_FOUND, StatusCode::OK)
        );
    }
}
