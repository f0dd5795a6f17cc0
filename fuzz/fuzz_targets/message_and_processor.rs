//! The envelope writer and reader and a processor batch: the first byte picks
//! the route, the rest is the body. Invariants: see
//! `shared::testing::model::check_message_and_processor`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::core::protocol::Protocol;
use shared::testing::model::check_message_and_processor;

fuzz_target!(|data: &[u8]| {
    if let Some((&route, body)) = data.split_first() {
        let protocol = if route % 2 == 0 {
            Protocol::EventsApi
        } else {
            Protocol::EventPlatform
        };
        check_message_and_processor(protocol, body);
    }
});
