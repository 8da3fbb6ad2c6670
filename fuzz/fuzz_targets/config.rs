//! budgets.toml: any text is a plan or errors at file:line:column, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let lookup = |name: &str| (name == "TAG").then(|| "1.0".to_string());
        let _ = image_budget::config::parse(std::path::Path::new("budgets.toml"), text, &lookup);
    }
});
