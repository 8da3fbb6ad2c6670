//! Saved JSON reports (baselines, shards): loaded or refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = image_budget::saved::parse(std::path::Path::new("report.json"), text);
    }
});
