//! Jira REST JSON: the input is split into files at NUL bytes (search pages with changelogs,
//! the agile API's sprints, or anything), read as one set and finished.
#![no_main]
use keel_domain::import::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = json::looks_like_json(data);
    let files: Vec<(String, Vec<u8>)> =
        data.split(|&b| b == 0).take(4).enumerate().map(|(i, p)| (format!("page{i}.json"), p.to_vec())).collect();
    let mut set = json::read_jira_files(&files);
    let _ = set.has_problems();
    set.finish();
});
