//! The receiver's whole handling of one request. Byte 0 picks the route, byte 1
//! the method, byte 2 how it is signed (as Akeneo signs it, skewed by byte 3
//! for the Events API; with the signature byte byte 3 names flipped; or with two header
//! values taken from the input, up to the first two newlines), the rest is the
//! body. Half the inputs carry a valid signature, so the handling past the
//! check is reached. Invariants: see `shared::testing::model::check_request`.
#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use shared::core::protocol::Protocol;
use shared::core::signature::{event_platform, events_api};
use shared::testing::model::{RequestCase, check_request};

fuzz_target!(|data: &[u8]| {
    let [route, method, signing, tweak, rest @ ..] = data else {
        return;
    };
    let protocol = if route % 2 == 0 {
        Protocol::EventsApi
    } else {
        Protocol::EventPlatform
    };
    let method = match method % 8 {
        0 => Method::GET,
        1 => Method::HEAD,
        2 => Method::PUT,
        _ => Method::POST,
    };
    let skew = i64::from(*tweak as i8) * 4;
    let mut case = match signing % 4 {
        0 | 1 => RequestCase::signed(protocol, rest.to_vec(), skew),
        2 => {
            let mut case = RequestCase::signed(protocol, rest.to_vec(), skew);
            if let Some((_, value)) = case.headers.last_mut()
                && let Some(byte) = value.get_mut(usize::from(*tweak) % 64)
            {
                *byte ^= 1;
            }
            case
        }
        _ => {
            let mut parts = rest.splitn(3, |b| *b == b'\n');
            let first = parts.next().unwrap_or_default().to_vec();
            let second = parts.next().unwrap_or_default().to_vec();
            let body = parts.next().unwrap_or_default().to_vec();
            let names = match protocol {
                Protocol::EventsApi => [events_api::TIMESTAMP_HEADER, events_api::SIGNATURE_HEADER],
                Protocol::EventPlatform => [event_platform::PRIMARY_HEADER, event_platform::SECONDARY_HEADER],
            };
            RequestCase {
                method: Method::POST,
                protocol,
                headers: vec![(names[0], first), (names[1], second)],
                body,
            }
        }
    };
    case.method = method;
    check_request(&case);
});
