//! A whole `docker save` stream: manifest.json, configs and layer tars.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = image_budget::measure::archive::measure_docker_archive_reader(
        data, "fuzz.tar", None, None, false,
    );
});
