//! The two Akeneo delivery systems the relay receives, and what differs
//! between them: route, deadline, the answer when the queue is busy.

use std::time::Duration;

use http::StatusCode;

/// The two Akeneo delivery systems; each has its own route, signature scheme and
/// deadline (see PROTOCOLS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The Events API (`/events-api`): one signed request per batch of events,
    /// with a timestamp.
    EventsApi,
    /// The Event Platform (`/event-platform`): CloudEvents, signed per
    /// subscription secret.
    EventPlatform,
    /// Not Akeneo's: the relay's own catch-up, which reads what changed in a
    /// time window from the PIM's REST API and queues one event per entity
    /// (see [`crate::core::catch_up`]). It has no route.
    CatchUp,
}

impl Protocol {
    /// Akeneo's two, in route order: the ones the receiver has a route for.
    pub const ALL: [Protocol; 2] = [Protocol::EventsApi, Protocol::EventPlatform];

    /// The name used in routes, queue envelopes, message attributes and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::EventsApi => "events-api",
            Protocol::EventPlatform => "event-platform",
            Protocol::CatchUp => "catch-up",
        }
    }

    /// The protocol named `name` as [`Protocol::as_str`] writes it.
    pub fn from_name(name: &str) -> Option<Protocol> {
        [Protocol::EventsApi, Protocol::EventPlatform, Protocol::CatchUp]
            .into_iter()
            .find(|p| p.as_str() == name)
    }

    /// Its route on the receiver: `/events-api` or `/event-platform`; empty
    /// for the catch-up, which has none.
    pub fn path(self) -> &'static str {
        match self {
            Protocol::EventsApi => "/events-api",
            Protocol::EventPlatform => "/event-platform",
            Protocol::CatchUp => "",
        }
    }

    /// Its name for people: `Events API` or `Event Platform`.
    pub fn display_name(self) -> &'static str {
        match self {
            Protocol::EventsApi => "Events API",
            Protocol::EventPlatform => "Event Platform",
            Protocol::CatchUp => "catch-up",
        }
    }

    /// How long the receiver may spend getting a request's events onto the queue.
    /// Akeneo's own deadlines are 500 ms and 5 s; the margin covers the Function
    /// URL, the network back to Akeneo and writing the response.
    pub fn queue_budget(self) -> Duration {
        match self {
            Protocol::EventsApi => Duration::from_millis(400),
            Protocol::EventPlatform => Duration::from_millis(4_000),
            // Nobody waits on a catch-up's answer: a page may take its time.
            Protocol::CatchUp => Duration::from_secs(30),
        }
    }

    /// The answer when the queue did not take every event: the Events API never
    /// retries, so a plain 503; the Event Platform slows down and retries on 429
    /// without counting it against the subscription's health.
    pub fn busy_status(self) -> StatusCode {
        match self {
            Protocol::EventsApi => StatusCode::SERVICE_UNAVAILABLE,
            Protocol::EventPlatform | Protocol::CatchUp => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
