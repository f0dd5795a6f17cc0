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

    #[test]
    fn grows_exponentially_with_jitter_and_stops_at_the_cap() {
        let cap = Duration::from_secs(900);
        let bounds = |receives: u32| {
            let full = (10u64 << (receives - 1)).min(900);
            (full / 2, full)
        };
        for receives in 1..=12 {
            let (low, high) = bounds(receives);
            for id in ["a", "b", "c", "d"] {
                let delay = backoff(receives, cap, id).as_secs();
                assert!(
                    (low..=high).contains(&delay),
                    "{receives}: {delay} not in {low}..={high}"
                );
            }
        }
        assert_eq!(backoff(3, cap, "m"), backoff(3, cap, "m"), "reproducible");
        let spread: std::collections::HashSet<_> =
            (0..20).map(|i| backoff(4, cap, &format!("m{i}"))).collect();
        assert!(spread.len() > 5, "jitter spreads messages: {spread:?}");
    }

    #[test]
    fn survives_huge_receive_counts_and_tiny_caps() {
        assert!(backoff(u32::MAX, Duration::from_secs(900), "x") <= Duration::from_secs(900));
        assert_eq!(backoff(0, Duration::from_secs(1), "x"), Duration::from_secs(1));
    }
}
