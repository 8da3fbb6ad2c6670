//! Image references and source prefixes (`docker://`, `oci:DIR:TAG`...).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = image_budget::reference::validate(text);
        let _ = image_budget::measure::transport::parse(text);
    }
});
