//! Both signature checks against the model. The input is split on newlines:
//! secrets (comma-separated), the first header (Events API timestamp, Event
//! Platform primary), the second (signature, secondary), the algorithm, and
//! the body; an empty field is an absent header. Byte 0 asks for the second
//! header to be replaced by a right signature, so matches are reached.
//! Invariants: see `shared::testing::model::check_signatures`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::core::signature::{event_platform, events_api};
use shared::testing::model::{SignatureCase, check_signatures};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut fields = rest.splitn(5, |b| *b == b'\n');
    let mut next = || fields.next().unwrap_or_default().to_vec();
    let secrets: Vec<String> = String::from_utf8_lossy(&next())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let present = |field: Vec<u8>| (!field.is_empty()).then_some(field);
    let (first, second, algorithm, body) = (present(next()), present(next()), present(next()), next());
    let mut case = SignatureCase {
        secrets,
        first,
        second,
        algorithm,
        body,
    };
    if let Some(secret) = case.secrets.first() {
        match mode % 3 {
            0 => {
                let timestamp =
                    String::from_utf8_lossy(case.first.as_deref().unwrap_or_default()).into_owned();
                case.second = Some(events_api::sign(secret, &timestamp, &case.body).into_bytes());
            }
            1 => case.second = Some(event_platform::sign(secret, &case.body).into_bytes()),
            _ => {}
        }
    }
    check_signatures(&case);
});
