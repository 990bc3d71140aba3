//! The feedback import's CSV (discovery), a second CSV reader of outside files.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = keel_domain::discovery::parse_csv(s);
    }
});
