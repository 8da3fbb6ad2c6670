//! One layer blob (plain, gzip or zstd tar): counted as the engine counts it
//! and listed, and the listing analysed as an image of one layer (and of that
//! layer twice, so the overlay hides what the first copy holds).
#![no_main]

use image_budget::analysis::{Analysis, advice, diff};
use image_budget::measure::layer::layer_stats;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(stats) = layer_stats(data, true, true) else {
        return;
    };
    let listing = stats.listing.unwrap_or_default();
    let once = Analysis::new(Vec::new(), vec![listing.clone()]);
    assert_eq!(once.visible + once.wasted, once.size);
    let twice = Analysis::new(Vec::new(), vec![listing.clone(), listing]);
    assert_eq!(twice.visible + twice.wasted, twice.size);
    let _ = advice::advise(&twice);
    let _ = diff::diff(&twice, &once);
});
