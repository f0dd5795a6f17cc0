//! What an HTTPS endpoint's answer to a forwarded event means for its
//! message: a 2xx is done; 408, 429 and 5xx are retried with the processor's
//! backoff (as are timeouts and refused connections, decided by the
//! forwarder); any other answer, redirects included (never followed), is
//! dead-lettered with the status and the first bytes of the body, since
//! sending the same event again would get the same answer.

use crate::ports::handler::Outcome;

/// How much of a refusal's body goes into the dead letter's reason.
pub const EXCERPT_BYTES: usize = 256;

/// The outcome of an answer with `status` whose body starts with
/// `body_start`: done on 2xx, retried on 408, 429 and 5xx, rejected otherwise.
pub fn outcome_of_answer(status: u16, body_start: &[u8]) -> Outcome {
    match status {
        200..=299 => Outcome::Done,
        408 | 429 | 500..=599 => Outcome::Retry(format!("the endpoint answered {status}")),
        _ => Outcome::Reject(format!("the endpoint answered {status}: {}", excerpt(body_start))),
    }
}

/// The first [`EXCERPT_BYTES`] of a body as one line of text.
pub fn excerpt(body: &[u8]) -> String {
    let start = &body[..body.len().min(EXCERPT_BYTES)];
    String::from_utf8_lossy(start)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_2xx_is_done() {
        // GIVEN answers 200, 202 and 204
        // WHEN they are read
        // THEN each is done
        for status in [200, 202, 204] {
            assert_eq!(outcome_of_answer(status, b""), Outcome::Done);
        }
    }

    #[test]
    fn rate_limits_timeouts_and_server_errors_are_retried() {
        // GIVEN answers 408, 429, 500 and 503
        // WHEN they are read
        // THEN each is retried
        for status in [408, 429, 500, 503] {
            assert!(
                matches!(outcome_of_answer(status, b"busy"), Outcome::Retry(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn a_refusal_is_dead_lettered_with_its_status_and_the_start_of_its_body() {
        // GIVEN a 400 whose body is long and holds a newline
        let body = format!("invalid sku\n{}", "z".repeat(1_000));
        // WHEN it is read
        let outcome = outcome_of_answer(400, body.as_bytes());
        // THEN the reason holds the status and at most the first bytes, on one line
        let Outcome::Reject(reason) = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            reason.starts_with("the endpoint answered 400: invalid sku z"),
            "{reason}"
        );
        assert!(reason.len() < EXCERPT_BYTES + 40);
    }

    #[test]
    fn a_redirect_is_dead_lettered_not_followed() {
        // GIVEN a 302
        // WHEN it is read
        // THEN the event is dead-lettered
        assert!(matches!(outcome_of_answer(302, b""), Outcome::Reject(_)));
    }
}
