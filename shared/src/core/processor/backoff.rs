use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

/// The first retry waits about this long; each further one doubles it.
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);

/// How long a retried message stays invisible: `BASE * 2^(receives - 1)`, capped,
/// then "equal jitter" (between half and all of it) so messages that failed
/// together do not come back together. The jitter is derived from the message id
/// and receive count, so it is reproducible in tests and logs.
pub fn backoff(receive_count: u32, cap: Duration, message_id: &str) -> Duration {
    let doublings = receive_count.saturating_sub(1).min(20);
    let full = BACKOFF_BASE.saturating_mul(1 << doublings).min(cap);
    let mut hasher = DefaultHasher::new();
    (message_id, receive_count).hash(&mut hasher);
    let fraction = (hasher.finish() % 1_000) as u32;
    let half = full / 2;
    // Whole seconds: that is what SQS takes.
    Duration::from_secs((half + half * fraction / 1_000).as_secs().max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: Duration = Duration::from_secs(900);

    #[test]
    fn each_receive_doubles_the_wait_between_half_and_all_of_it() {
        for receives in 1..=12 {
            let full = (10u64 << (receives - 1)).min(900);
            for id in ["a", "b", "c", "d"] {
                // GIVEN a message failing for the nth time
                // WHEN its backoff is computed
                let delay = backoff(receives, CAP, id).as_secs();
                // THEN it lies between half and all of 10 s x 2^(n-1), capped
                assert!(
                    (full / 2..=full).contains(&delay),
                    "{receives}: {delay} not in {}..={full}",
                    full / 2
                );
            }
        }
    }

    #[test]
    fn the_jitter_is_reproducible_for_one_message() {
        // GIVEN one message on its third receive
        // WHEN its backoff is computed twice
        // THEN it is the same
        assert_eq!(backoff(3, CAP, "m"), backoff(3, CAP, "m"));
    }

    #[test]
    fn the_jitter_spreads_messages_that_failed_together() {
        // GIVEN twenty messages failing together
        // WHEN their backoffs are computed
        let spread: std::collections::HashSet<_> =
            (0..20).map(|i| backoff(4, CAP, &format!("m{i}"))).collect();
        // THEN they come back at many different times
        assert!(spread.len() > 5, "{spread:?}");
    }

    #[test]
    fn huge_receive_counts_stay_under_the_cap_and_tiny_caps_still_wait_a_second() {
        // GIVEN extreme receive counts and caps
        // WHEN backoffs are computed
        // THEN they stay within the cap and at least one second
        assert!(backoff(u32::MAX, CAP, "x") <= CAP);
        assert_eq!(backoff(0, Duration::from_secs(1), "x"), Duration::from_secs(1));
    }
}
