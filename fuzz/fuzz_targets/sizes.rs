//! Sizes (`150MB`, `1.5GiB`) and growth (`5%`, `10MB`): parsed or refused.
#![no_main]

use image_budget::size::{Growth, parse_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_bytes(text);
        if let Ok(growth) = Growth::parse(text) {
            // Whatever parses must also judge without overflow.
            let allowed = growth.allowed(u64::MAX);
            let _ = growth.exceeded(u64::MAX, i128::from(allowed));
            let _ = growth.exceeded(0, i128::MIN);
        }
    }
});
