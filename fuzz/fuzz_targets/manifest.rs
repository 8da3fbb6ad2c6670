//! Registry manifests and indexes, with and without a Content-Type.
#![no_main]

use image_budget::measure::registry::manifest::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data, None);
    let _ = parse(data, Some("application/vnd.oci.image.index.v1+json"));
    let _ = parse(data, Some("application/vnd.docker.distribution.manifest.v2+json"));
});
