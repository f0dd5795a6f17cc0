//! Catch-up jobs: the messages that make the processor run a catch-up by
//! itself, one page per message, so no Lambda invocation runs long and every
//! step is retried (or dead-lettered) like any message.
//!
//! - `window`: plan a window (or the last N hours) and queue one `page` job
//!   per slice; an EventBridge Scheduler schedule sends it for the optional
//!   reconciliation.
//! - `page`: read one page of one slice, queue its events, and queue the job
//!   of the page after it.
//! - `suspended`, `resumed`: the receiver's word that a subscription stopped
//!   or started delivering again; on a resume, the suspended window is
//!   caught up.
//!
//! Their envelope: `"protocol":"catch-up"`, `"type":"catch-up.job"`, the
//! job as the event (`{"job":"page", …}`), and an id naming the step, so a
//! job delivered twice runs once (the processor's idempotency store).

use serde::{Deserialize, Serialize};

use super::checkpoint::Slice;
use crate::core::event::PimEvent;
use crate::core::message::{EventFields, OutboundMessage};
use crate::core::protocol::Protocol;

/// The type of every catch-up job message.
pub const JOB_TYPE: &str = "catch-up.job";

/// One step of a catch-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "job", rename_all = "snake_case")]
pub enum Job {
    /// Plan a window and queue its pages' jobs.
    Window {
        /// The run's id.
        run: String,
        /// The window's start (RFC 3339), or none with `last_hours`.
        #[serde(default)]
        since: Option<String>,
        /// The window's end (RFC 3339); now when absent.
        #[serde(default)]
        until: Option<String>,
        /// The last hours up to when the job runs, instead of `since`.
        #[serde(default)]
        last_hours: Option<u32>,
        /// Why (`schedule`, `resumed`, …), for logs.
        #[serde(default)]
        reason: String,
    },
    /// Read one page of one slice.
    Page {
        /// The run's id.
        run: String,
        /// The slice and how far it was read.
        slice: Slice,
        /// Pages of this slice read before this one (names the step).
        #[serde(default)]
        page: u64,
    },
    /// A subscription stopped delivering (suspended or revoked) at `at`.
    Suspended {
        /// The subscription.
        subscription: String,
        /// When (RFC 3339), as Akeneo's notification says.
        at: String,
    },
    /// A subscription delivers again since `at`.
    Resumed {
        /// The subscription.
        subscription: String,
        /// When (RFC 3339), as Akeneo's notification says.
        at: String,
    },
}

impl Job {
    /// The id that names this step: the same job queued twice is one.
    pub fn id(&self) -> String {
        match self {
            Job::Window { run, .. } => format!("job/{run}/window"),
            Job::Page { run, slice, page } => {
                format!("job/{run}/{}/{}/{page}", slice.entity.name(), slice.since)
            }
            Job::Suspended { subscription, at } => format!("job/suspended/{subscription}/{at}"),
            Job::Resumed { subscription, at } => format!("job/resumed/{subscription}/{at}"),
        }
    }

    /// Its queue message.
    pub fn message(&self, received_at: &str) -> OutboundMessage {
        self.message_for(None, received_at)
    }

    /// Its queue message, for `tenant`'s PIM (see [`crate::core::tenant`]).
    pub fn message_for(&self, tenant: Option<&str>, received_at: &str) -> OutboundMessage {
        let fields = EventFields {
            id: Some(self.id()),
            kind: Some(JOB_TYPE.to_owned()),
            occurred_at: None,
            source: None,
        };
        let json = serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"));
        OutboundMessage::build_for_tenant(tenant, Protocol::CatchUp, &json, &fields, received_at)
    }

    /// The job an event carries, when it is one; `Err` when it claims to be
    /// one and is not readable (dead-lettered: retrying cannot fix it).
    pub fn of(event: &PimEvent) -> Option<Result<Job, serde_json::Error>> {
        (event.protocol == Protocol::CatchUp && event.event_type.as_deref() == Some(JOB_TYPE))
            .then(|| serde_json::from_str(event.raw.get()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::catch_up::{CatchUpEntity, Position};

    fn page_job() -> Job {
        Job::Page {
            run: "run-1".into(),
            slice: Slice {
                entity: CatchUpEntity::ProductModel,
                since: "2026-12-01T10:00:00Z".into(),
                until: "2026-12-01T10:07:30Z".into(),
                position: Position::Next {
                    url: "https://pim/api/rest/v1/product-models?search_after=x".into(),
                },
            },
            page: 3,
        }
    }

    #[test]
    fn a_job_queued_is_read_back_as_the_same_job() {
        // GIVEN a page job
        let job = page_job();
        // WHEN it is queued and read back by the processor
        let event =
            PimEvent::from_message_body(&job.message("2026-12-07T12:00:00.000Z").body).expect("an envelope");
        // THEN it is that job, with its id
        assert_eq!(Job::of(&event).expect("a job").expect("readable"), job);
        assert_eq!(
            event.id.as_deref(),
            Some("job/run-1/product-model/2026-12-01T10:00:00Z/3")
        );
    }

    #[test]
    fn a_scheduled_window_is_a_fixed_text_a_schedule_can_send() {
        // GIVEN the body the template's schedule sends, written by hand
        let body = r#"{"v":1,"protocol":"catch-up","type":"catch-up.job","event":{"job":"window","run":"scheduled","last_hours":6,"reason":"schedule"}}"#;
        // WHEN the processor reads it
        let event = PimEvent::from_message_body(body).expect("an envelope");
        // THEN it is a window job of the last six hours
        assert!(matches!(
            Job::of(&event),
            Some(Ok(Job::Window {
                last_hours: Some(6),
                ..
            }))
        ));
    }

    #[test]
    fn an_event_that_is_not_a_job_is_none_and_a_broken_job_an_error() {
        // GIVEN a catch-up event and a job message with a job of an unknown kind
        let event = crate::core::catch_up::catch_up_message(
            CatchUpEntity::Product,
            "u",
            r#"{"uuid":"u"}"#,
            "r",
            "https://pim",
            "t",
        );
        let broken = r#"{"v":1,"protocol":"catch-up","type":"catch-up.job","event":{"job":"dance"}}"#;
        // WHEN they are read as jobs
        // THEN the first is none, the second an error
        assert!(Job::of(&PimEvent::from_message_body(&event.body).expect("event")).is_none());
        assert!(matches!(
            Job::of(&PimEvent::from_message_body(broken).expect("event")),
            Some(Err(_))
        ));
    }
}
