//! Tenants' routes: each checked against its own tenant's secrets only, an
//! unknown tenant refused alone, each event stamped with its tenant, and the
//! top-level routes as they were.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Method, StatusCode};

use super::tests::header_map;
use super::*;
use crate::core::signature::{event_platform, events_api};
use crate::testing::{Behaviour, MemoryQueue};

const SENT_AT: u64 = 1_602_565_368;
const EVENT: &str = r#"{"specversion":"1.0","id":"ep-1","type":"com.akeneo.pim.v1.product.updated","source":"pim","subject":"sub","time":"2024-02-22T17:31:00Z","data":{"product":{"uuid":"6a9f8486-2c36-4680-b87f-6f5f8f01b6cf"}}}"#;

/// Three tenants, each with its own secrets, beside top-level routes.
fn receiver() -> Receiver<MemoryQueue> {
    let text = r#"{"event_platform_secrets":"top-secret",
        "tenants":{
            "acme":{"event_platform_secrets":"acme-secret","events_api_secrets":"acme-ea","notification_secret":"acme-n"},
            "beta":{"event_platform_secrets":"beta-secret"},
            "gamma":{"event_platform_secrets":"gamma-secret"}}}"#;
    let secrets = secrets::parse_secret_document(text).expect("document");
    Receiver::new(
        MemoryQueue::new(Behaviour::Accept),
        SecretStore::fixed(secrets),
        300,
    )
}

async fn post(receiver: &Receiver<MemoryQueue>, path: &str, secret: &str) -> Reply {
    let headers = header_map(event_platform::headers(secret, None, EVENT.as_bytes()));
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(SENT_AT);
    receiver
        .handle(&Method::POST, path, &headers, EVENT.as_bytes(), now)
        .await
}

fn error_code(reply: &Reply) -> String {
    let body: serde_json::Value = serde_json::from_str(reply.body.as_deref().unwrap_or("{}")).expect("JSON");
    body["error"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_signature_valid_for_one_tenant_is_refused_on_another_tenants_route() {
    // GIVEN three tenants
    let receiver = receiver();
    // WHEN acme's signed event is sent to beta's URL, and to acme's own
    let at_beta = post(&receiver, "/t/beta/event-platform", "acme-secret").await;
    let at_acme = post(&receiver, "/t/acme/event-platform", "acme-secret").await;
    // THEN beta's route refuses it, and only acme's queued it
    assert_eq!(at_beta.status, StatusCode::UNAUTHORIZED);
    assert_eq!(at_acme.status, StatusCode::OK);
    assert_eq!(receiver.queue().bodies().len(), 1);
}

#[tokio::test]
async fn a_tenants_event_is_queued_stamped_with_its_tenant() {
    // GIVEN three tenants
    let receiver = receiver();
    // WHEN gamma's PIM delivers an event
    let reply = post(&receiver, "/t/gamma/event-platform", "gamma-secret").await;
    // THEN it is queued with gamma in its envelope, and its bytes as sent
    assert_eq!(reply.status, StatusCode::OK);
    let event = crate::PimEvent::from_message_body(&receiver.queue().bodies()[0]).expect("envelope");
    assert_eq!(event.tenant.as_deref(), Some("gamma"));
    assert_eq!(event.raw.get(), EVENT);
}

#[tokio::test]
async fn an_unknown_tenant_is_404_and_the_others_still_receive() {
    // GIVEN three tenants
    let receiver = receiver();
    // WHEN a subscription points at a tenant that does not exist, then acme's delivers
    let unknown = post(&receiver, "/t/delta/event-platform", "acme-secret").await;
    let acme = post(&receiver, "/t/acme/event-platform", "acme-secret").await;
    // THEN the unknown tenant alone is refused, with its own code
    assert_eq!(
        (unknown.status, error_code(&unknown).as_str()),
        (StatusCode::NOT_FOUND, "unknown_tenant")
    );
    assert_eq!(acme.status, StatusCode::OK);
}

#[tokio::test]
async fn the_top_level_routes_are_as_they_were_beside_tenants() {
    // GIVEN three tenants and a top-level Event Platform secret
    let receiver = receiver();
    // WHEN the top-level route receives an event signed with a tenant's secret, then its own
    let tenant_secret = post(&receiver, "/event-platform", "acme-secret").await;
    let own = post(&receiver, "/event-platform", "top-secret").await;
    // THEN only its own secret is accepted, and the envelope names no tenant
    assert_eq!(tenant_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(own.status, StatusCode::OK);
    let body = &receiver.queue().bodies()[0];
    assert!(!body.contains("\"tenant\""), "{body}");
}

#[tokio::test]
async fn a_tenants_route_without_a_secret_is_not_configured() {
    // GIVEN beta, which has no Events API secret
    let receiver = receiver();
    // WHEN an Events API request comes to beta's route
    let headers = header_map(events_api::headers("acme-ea", SENT_AT, b"{}"));
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(SENT_AT);
    let reply = receiver
        .handle(&Method::POST, "/t/beta/events-api", &headers, b"{}", now)
        .await;
    // THEN it is 404 route_not_configured, as a top-level route without a secret is
    assert_eq!(
        (reply.status, error_code(&reply).as_str()),
        (StatusCode::NOT_FOUND, "route_not_configured")
    );
}

#[tokio::test]
async fn a_tenants_notifications_are_checked_against_its_own_notification_secret() {
    // GIVEN acme with a notification secret
    let receiver = receiver();
    let body = br#"{"notification_type":"subscription.suspended.system","timestamp":"2020-10-13T05:02:48Z","subscription_id":"sub-1"}"#;
    let now: SystemTime = UNIX_EPOCH + Duration::from_secs(SENT_AT);
    let signed = |secret: &str| header_map(event_platform::headers(secret, None, body));
    // WHEN a notification signed with acme's secret comes to beta's route, then to acme's
    let at_beta = receiver
        .handle(
            &Method::POST,
            "/t/beta/event-platform/notifications",
            &signed("acme-n"),
            body,
            now,
        )
        .await;
    let at_acme = receiver
        .handle(
            &Method::POST,
            "/t/acme/event-platform/notifications",
            &signed("acme-n"),
            body,
            now,
        )
        .await;
    // THEN beta has no notification route, and acme's accepts it
    assert_eq!(at_beta.status, StatusCode::NOT_FOUND);
    assert_eq!(at_acme.status, StatusCode::OK, "{:?}", at_acme.body);
}
