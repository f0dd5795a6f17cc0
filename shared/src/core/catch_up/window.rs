//! The time window a catch-up reads, how it is cut into slices that can be
//! read side by side, and the PIM's `updated` filter for one slice.

use std::time::Duration;

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// Why a window could not be had from what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// Not an RFC 3339 time nor a duration back from now (`90m`, `6h`, `3d`).
    #[error("{0:?} is neither an RFC 3339 time (2026-12-01T10:00:00Z) nor a duration like 90m, 6h or 3d")]
    Unreadable(String),
    /// The end is not after the start.
    #[error("the window is empty: {until} is not after {since}")]
    Empty {
        /// The start, as given.
        since: String,
        /// The end, as given.
        until: String,
    },
}

/// `[since, until]`, in whole seconds (the PIM's filter has no finer unit):
/// the start rounded down, the end rounded up, so nothing in the window is
/// left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first second read.
    pub since: OffsetDateTime,
    /// The last second read.
    pub until: OffsetDateTime,
}

/// A point in time as a person gives it: RFC 3339, or a duration back from
/// `now` (`45s`, `90m`, `6h`, `3d`).
pub fn parse_time(text: &str, now: OffsetDateTime) -> Result<OffsetDateTime, WindowError> {
    let text = text.trim();
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(time);
    }
    let unreadable = || WindowError::Unreadable(text.to_owned());
    let split = text.len().checked_sub(1).ok_or_else(unreadable)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| unreadable())?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60).ok_or_else(unreadable)?,
        "h" => number.checked_mul(3_600).ok_or_else(unreadable)?,
        "d" => number.checked_mul(86_400).ok_or_else(unreadable)?,
        _ => return Err(unreadable()),
    };
    now.checked_sub(time::Duration::seconds(
        i64::try_from(seconds).map_err(|_| unreadable())?,
    ))
    .ok_or_else(unreadable)
}

impl Window {
    /// The window between two times (see [`parse_time`]); `until` defaults to
    /// `now`.
    pub fn parse(since: &str, until: Option<&str>, now: OffsetDateTime) -> Result<Window, WindowError> {
        let start = parse_time(since, now)?;
        let end = match until {
            Some(until) => parse_time(until, now)?,
            None => now,
        };
        Window::new(start, end).ok_or_else(|| WindowError::Empty {
            since: since.to_owned(),
            until: until.unwrap_or("now").to_owned(),
        })
    }

    /// In UTC and whole seconds; `None` when `until` is not after `since`.
    pub fn new(since: OffsetDateTime, until: OffsetDateTime) -> Option<Window> {
        let since = since.to_offset(UtcOffset::UTC).replace_nanosecond(0).ok()?;
        let until_utc = until.to_offset(UtcOffset::UTC);
        let until = if until_utc.nanosecond() > 0 {
            until_utc
                .replace_nanosecond(0)
                .ok()?
                .checked_add(time::Duration::SECOND)?
        } else {
            until_utc
        };
        (until > since).then_some(Window { since, until })
    }

    /// Its length.
    pub fn length(&self) -> Duration {
        (self.until - self.since).unsigned_abs()
    }

    /// At most `count` slices of equal length (at least a second each), in
    /// order. Neighbours share their boundary second: whether the PIM's
    /// `BETWEEN` includes its ends or not, nothing falls between two slices;
    /// an entity updated in that second is read twice and deduplicated.
    pub fn slices(&self, count: usize) -> Vec<Window> {
        let seconds = self.length().as_secs().max(1);
        let count = (count.max(1) as u64).min(seconds);
        (0..count)
            .map(|index| {
                let from = seconds * index / count;
                let to = seconds * (index + 1) / count;
                Window {
                    since: self.since + time::Duration::seconds(from as i64),
                    until: self.since + time::Duration::seconds(to as i64),
                }
            })
            .collect()
    }

    /// The search for entities updated in this window, as the PIM takes it in
    /// `search=` (`YYYY-MM-DD hh:mm:ss`, UTC: the SaaS PIM's time zone).
    pub fn updated_filter(&self) -> String {
        serde_json::json!({
            "updated": [{"operator": "BETWEEN", "value": [pim_time(self.since), pim_time(self.until)]}]
        })
        .to_string()
    }
}

const PIM_TIME: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// A time in the PIM filter's format, in UTC.
pub fn pim_time(time: OffsetDateTime) -> String {
    time.to_offset(UtcOffset::UTC)
        .format(PIM_TIME)
        .unwrap_or_else(|_| String::from("1970-01-01 00:00:00"))
}

/// RFC 3339 in UTC, as the catch-up's ids, checkpoints and summaries write
/// times.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-07 12:00:00.250 UTC);

    #[test]
    fn a_window_is_whole_seconds_in_utc_and_covers_what_was_asked() {
        // GIVEN a start with milliseconds in another time zone, and an end with some
        // WHEN the window is made
        let window = Window::new(
            datetime!(2026-12-07 11:00:00.900 +01:00),
            datetime!(2026-12-07 11:30:10.100 UTC),
        )
        .expect("a window");
        // THEN the start is rounded down and the end up, in UTC
        assert_eq!(window.since, datetime!(2026-12-07 10:00:00 UTC));
        assert_eq!(window.until, datetime!(2026-12-07 11:30:11 UTC));
    }

    #[test]
    fn since_and_until_read_rfc3339_and_durations_back_from_now() {
        // GIVEN a duration for the start and nothing for the end
        // WHEN they are read
        let window = Window::parse("6h", None, NOW).expect("a window");
        // THEN the window is the last six hours
        assert_eq!(window.since, datetime!(2026-12-07 06:00:00 UTC));
        assert_eq!(window.until, datetime!(2026-12-07 12:00:01 UTC));
        // AND an RFC 3339 pair is taken as it is
        let window =
            Window::parse("2026-12-01T10:00:00Z", Some("2026-12-01T11:00:00+00:00"), NOW).expect("a window");
        assert_eq!(window.length(), Duration::from_secs(3_600));
    }

    #[test]
    fn a_time_that_is_neither_is_refused_by_name() {
        // GIVEN texts that are not times
        for text in ["yesterday", "", "h", "-3h", "5w", "99999999999999999999d"] {
            // WHEN they are read
            // THEN each is refused
            assert!(
                matches!(parse_time(text, NOW), Err(WindowError::Unreadable(_))),
                "{text:?}"
            );
        }
        // AND an end before the start is an empty window
        assert!(matches!(
            Window::parse("1h", Some("2h"), NOW),
            Err(WindowError::Empty { .. })
        ));
    }

    #[test]
    fn slices_cover_the_window_sharing_their_boundaries() {
        // GIVEN an hour
        let window = Window::new(
            datetime!(2026-12-01 10:00:00 UTC),
            datetime!(2026-12-01 11:00:00 UTC),
        )
        .expect("window");
        // WHEN it is cut in 16
        let slices = window.slices(16);
        // THEN the slices are in order, each starting where the one before ends
        assert_eq!(slices.len(), 16);
        assert_eq!(slices[0].since, window.since);
        assert_eq!(slices[15].until, window.until);
        for pair in slices.windows(2) {
            assert_eq!(pair[0].until, pair[1].since);
        }
    }

    #[test]
    fn a_short_window_gives_no_slice_under_a_second() {
        // GIVEN a three-second window
        let window = Window::new(
            datetime!(2026-12-01 10:00:00 UTC),
            datetime!(2026-12-01 10:00:03 UTC),
        )
        .expect("window");
        // WHEN it is cut in 16
        // THEN there are three slices
        assert_eq!(window.slices(16).len(), 3);
    }

    #[test]
    fn the_filter_is_the_pims_between_in_utc() {
        // GIVEN a window
        let window = Window::new(
            datetime!(2026-12-01 10:00:00 UTC),
            datetime!(2026-12-01 11:00:00 UTC),
        )
        .expect("window");
        // WHEN its filter is written
        // THEN it is the documented `updated` BETWEEN with the PIM's time format
        assert_eq!(
            window.updated_filter(),
            r#"{"updated":[{"operator":"BETWEEN","value":["2026-12-01 10:00:00","2026-12-01 11:00:00"]}]}"#
        );
    }
}
