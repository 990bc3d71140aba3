//! Jira wiki markup to Markdown (descriptions and comments of imported issues).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = keel_domain::import::markup::jira_to_markdown(s);
    }
});
