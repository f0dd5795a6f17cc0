//! The idempotency decisions: which key an event is claimed under, which
//! messages of a batch carry the same event, what a claim's answer means for
//! the message, and what becomes of the claim once the verdict is known.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use super::batch::Verdict;
use crate::core::event::PimEvent;
use crate::core::message::{ATTRIBUTE_ID, ATTRIBUTE_PROTOCOL, ATTRIBUTE_TENANT};
use crate::core::protocol::Protocol;
use crate::ports::idempotency::{ClaimOutcome, StoreError};
use crate::ports::queue::ReceivedMessage;

/// The shortest in-progress claim, for a deadline already (nearly) past.
pub const MIN_CLAIM: Duration = Duration::from_secs(5);

/// Akeneo's event id namespaced by protocol (`events-api#<event_id>`,
/// `event-platform#<id>`), and by tenant when there is one
/// (`t/<tenant>/events-api#<event_id>`: two PIMs' ids are unrelated): the
/// same event whichever message carries it, and never the queue's message
/// id, which changes when a message is re-sent. `None` when the event has no
/// id: it cannot be deduplicated and runs as is.
pub fn idempotency_key(event: &PimEvent) -> Option<String> {
    key(event.tenant.as_deref(), event.protocol, event.id.as_deref()?)
}

/// The key of the event a message carries, read from its attributes alone
/// (the receiver sets `protocol` and `id` on every message, pointers to large
/// events included), for when its body cannot be read.
pub fn idempotency_key_of_message(message: &ReceivedMessage) -> Option<String> {
    let protocol = Protocol::from_name(message.attribute(ATTRIBUTE_PROTOCOL)?)?;
    key(
        message.attribute(ATTRIBUTE_TENANT),
        protocol,
        message.attribute(ATTRIBUTE_ID)?,
    )
}

fn key(tenant: Option<&str>, protocol: Protocol, id: &str) -> Option<String> {
    let id = Some(id.trim()).filter(|id| !id.is_empty())?;
    Some(match tenant {
        Some(tenant) => format!("t/{tenant}/{}#{id}", protocol.as_str()),
        None => format!("{}#{id}", protocol.as_str()),
    })
}

/// How a batch's pending events are claimed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClaimPlan {
    /// (message index, key): the first message of each event id in the batch.
    pub claims: Vec<(usize, String)>,
    /// (message index, index of the message it repeats): later messages of
    /// the same event in the same batch. Whatever becomes of the first one
    /// carries the event on (done, retried or dead-lettered), so these are
    /// duplicates at once.
    pub repeats: Vec<(usize, usize)>,
}

/// Which of the pending events are claimed, and which repeat one claimed
/// earlier in the same batch (the same key).
pub fn plan(pending: &[Option<&PimEvent>]) -> ClaimPlan {
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let mut plan = ClaimPlan::default();
    for (index, event) in pending.iter().enumerate() {
        let Some(key) = event.and_then(idempotency_key) else {
            continue;
        };
        match first_of.get(&key) {
            Some(&first) => plan.repeats.push((index, first)),
            None => {
                first_of.insert(key.clone(), index);
                plan.claims.push((index, key));
            }
        }
    }
    plan
}

/// Until when an event is claimed in progress: the invocation's deadline
/// (after it, Lambda has stopped the invocation), but at least [`MIN_CLAIM`].
pub fn claim_until(now: SystemTime, deadline: SystemTime) -> SystemTime {
    deadline.max(now + MIN_CLAIM)
}

/// What a claim's answer decides: `None` when the event is ours to run.
pub fn verdict_after_claim(answer: &Result<ClaimOutcome, StoreError>) -> Option<Verdict> {
    match answer {
        Ok(ClaimOutcome::Claimed) => None,
        Ok(ClaimOutcome::Completed) => Some(Verdict::Done),
        Ok(ClaimOutcome::InProgress { .. }) => Some(Verdict::Retry(
            "the event is being handled by another invocation".into(),
        )),
        Err(error) => Some(Verdict::Retry(error.to_string())),
    }
}

/// What becomes of a claim once its message's verdict is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Done: remembered as completed for the window.
    Complete,
    /// Retried, panicked or dead-lettered: freed so a later attempt or a
    /// redrive can run it.
    Release,
}

/// Completed when done; released when retried or dead-lettered.
pub fn settlement(verdict: &Verdict) -> Settlement {
    match verdict {
        Verdict::Done => Settlement::Complete,
        Verdict::Retry(_) | Verdict::DeadLetter { .. } => Settlement::Release,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::message::{EventFields, OutboundMessage};
    use crate::core::protocol::Protocol;

    fn event(protocol: Protocol, id: Option<&str>) -> PimEvent {
        let fields = EventFields {
            id: id.map(Into::into),
            kind: Some("product.updated".into()),
            occurred_at: None,
            source: None,
        };
        PimEvent::from_message_body(&OutboundMessage::build(protocol, "{}", &fields, "t").body)
            .expect("envelope")
    }

    #[test]
    fn the_key_is_the_akeneo_id_namespaced_by_protocol() {
        // GIVEN the same id from both protocols, and events without a usable id
        // WHEN their keys are derived
        // THEN each protocol has its own namespace, and id-less events have none
        assert_eq!(
            idempotency_key(&event(Protocol::EventsApi, Some("e-1"))).as_deref(),
            Some("events-api#e-1")
        );
        assert_eq!(
            idempotency_key(&event(Protocol::EventPlatform, Some("e-1"))).as_deref(),
            Some("event-platform#e-1")
        );
        assert_eq!(idempotency_key(&event(Protocol::EventsApi, None)), None);
        assert_eq!(idempotency_key(&event(Protocol::EventsApi, Some("  "))), None);
    }

    #[test]
    fn the_same_akeneo_id_in_two_tenants_is_two_events() {
        // GIVEN the same Event Platform id received on acme's and beta's routes
        let fields = EventFields {
            id: Some("e-1".into()),
            ..EventFields::default()
        };
        let keys: Vec<Option<String>> = [Some("acme"), Some("beta"), None]
            .into_iter()
            .map(|tenant| {
                let message =
                    OutboundMessage::build_for_tenant(tenant, Protocol::EventPlatform, "{}", &fields, "t");
                idempotency_key(&PimEvent::from_message_body(&message.body).expect("envelope"))
            })
            .collect();
        // WHEN their keys are derived
        // THEN each tenant has its own key, and without a tenant the key is as it always was
        assert_eq!(
            keys,
            vec![
                Some("t/acme/event-platform#e-1".into()),
                Some("t/beta/event-platform#e-1".into()),
                Some("event-platform#e-1".into())
            ]
        );
    }

    #[test]
    fn the_first_message_of_an_event_claims_it_and_later_ones_in_the_batch_repeat_it() {
        // GIVEN a batch with e-1 twice, e-2 once, an id-less event and an unparsed message
        let (a, b, c, d) = (
            event(Protocol::EventsApi, Some("e-1")),
            event(Protocol::EventsApi, Some("e-2")),
            event(Protocol::EventsApi, Some("e-1")),
            event(Protocol::EventsApi, None),
        );
        // WHEN the claims are planned
        let plan = plan(&[Some(&a), Some(&b), None, Some(&c), Some(&d)]);
        // THEN e-1 and e-2 are claimed once each, and the second e-1 repeats the first
        assert_eq!(
            plan,
            ClaimPlan {
                claims: vec![(0, "events-api#e-1".into()), (1, "events-api#e-2".into())],
                repeats: vec![(3, 0)],
            }
        );
    }

    #[test]
    fn each_claim_answer_decides_the_message() {
        // GIVEN each possible answer
        let until = SystemTime::UNIX_EPOCH;
        // WHEN the verdict is derived
        // THEN claimed runs, completed is done, in progress and a failing store retry
        assert_eq!(verdict_after_claim(&Ok(ClaimOutcome::Claimed)), None);
        assert_eq!(
            verdict_after_claim(&Ok(ClaimOutcome::Completed)),
            Some(Verdict::Done)
        );
        assert!(matches!(
            verdict_after_claim(&Ok(ClaimOutcome::InProgress { until })),
            Some(Verdict::Retry(_))
        ));
        assert!(matches!(
            verdict_after_claim(&Err(StoreError::Unavailable("timeout".into()))),
            Some(Verdict::Retry(reason)) if reason.contains("unavailable")
        ));
    }

    #[test]
    fn done_completes_the_claim_and_everything_else_releases_it() {
        // GIVEN each verdict
        // WHEN the claim is settled
        // THEN only done keeps the event from running again
        assert_eq!(settlement(&Verdict::Done), Settlement::Complete);
        assert_eq!(settlement(&Verdict::Retry("x".into())), Settlement::Release);
        let dead = Verdict::DeadLetter {
            code: "rejected".into(),
            message: "x".into(),
        };
        assert_eq!(settlement(&dead), Settlement::Release);
    }

    #[test]
    fn a_claim_lasts_until_the_deadline_but_never_less_than_the_minimum() {
        // GIVEN a deadline a minute away, and one already past
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        // WHEN the claim's end is computed
        // THEN it is the deadline, or the minimum from now
        assert_eq!(
            claim_until(now, now + Duration::from_secs(60)),
            now + Duration::from_secs(60)
        );
        assert_eq!(claim_until(now, now - Duration::from_secs(1)), now + MIN_CLAIM);
    }
}
