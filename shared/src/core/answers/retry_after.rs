//! `Retry-After`, as a 429 carries it: seconds, or an HTTP date. Read as a
//! bounded wait: a server cannot make a caller wait past [`MAX_RETRY_AFTER`],
//! nor overflow a clock with a number, and a date in the past means now.

use std::time::{Duration, SystemTime};

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// The longest wait an answer can ask for. Callers compare it with their own
/// deadline: a wait that ends past it fails the call at once, and the message
/// that needed it is retried later with the processor's own backoff.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// RFC 9110's IMF-fixdate, the only HTTP date form senders may generate.
const IMF_FIXDATE: &[FormatItem<'static>] =
    format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");

/// The wait `value` asks for at `now`; `None` when it is neither form.
pub fn read_retry_after(value: &[u8], now: SystemTime) -> Option<Duration> {
    let text = std::str::from_utf8(value).ok()?.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: too many for a u64 is simply "very long".
        let seconds = text.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
    }
    let at = PrimitiveDateTime::parse(text, IMF_FIXDATE).ok()?.assume_utc();
    let now = OffsetDateTime::from(now);
    let wait = (at - now).max(time::Duration::ZERO);
    Some(
        Duration::try_from(wait)
            .unwrap_or(MAX_RETRY_AFTER)
            .min(MAX_RETRY_AFTER),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn seconds_are_read_as_a_wait() {
        // GIVEN a Retry-After of 3 seconds, padded
        // WHEN it is read
        // THEN the wait is 3 s
        assert_eq!(read_retry_after(b" 3 ", at(0)), Some(Duration::from_secs(3)));
    }

    #[test]
    fn a_number_past_any_clock_is_capped_not_overflowed() {
        // GIVEN u64::MAX seconds, and more digits than a u64 holds
        // WHEN they are read
        // THEN both are the longest wait allowed
        assert_eq!(
            read_retry_after(b"18446744073709551615", at(0)),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(read_retry_after(&[b'9'; 400], at(0)), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn an_http_date_is_a_wait_until_then_and_a_past_one_is_no_wait() {
        // GIVEN now is 1994-11-06 08:49:30 UTC
        let now = at(784_111_770);
        // WHEN a date 7 s later, one in the past and one in the year 9999 are read
        // THEN they wait 7 s, nothing, and the longest wait allowed
        assert_eq!(
            read_retry_after(b"Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            read_retry_after(b"Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            read_retry_after(b"Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn anything_else_is_no_wait_given() {
        // GIVEN a negative number, a fraction, text and invalid UTF-8
        // WHEN they are read
        // THEN none gives a wait
        for value in [&b"-1"[..], b"1.5", b"soon", b"", b"\xff\xfe"] {
            assert_eq!(read_retry_after(value, at(0)), None, "{value:?}");
        }
    }
}
