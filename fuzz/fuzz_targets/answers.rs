//! Akeneo's answers: the first byte picks the reader (token, search page,
//! list, error body, Retry-After, chunks under a limit), the rest is the
//! answer. Invariants: see `shared::testing::answers::check_answer`; memory
//! is bounded by libFuzzer's `-rss_limit_mb` (scripts/fuzz).
#![no_main]

use libfuzzer_sys::fuzz_target;
use shared::testing::answers::check_answer;

fuzz_target!(|data: &[u8]| {
    if let Some((&pick, answer)) = data.split_first() {
        check_answer(pick, answer);
    }
});
