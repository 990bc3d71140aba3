//! Jira CSV, both dialects: the input is split into files at NUL bytes; each file gets a header
//! of one of the importer's file kinds unless it brings its own (first byte odd), so the fuzzer
//! reaches the row readers of every dialect, then the whole set is checked and finished.
#![no_main]
use keel_domain::import::{csv, jira};
use libfuzzer_sys::fuzz_target;

const HEADERS: &[&str] = &[
    // The UI export (one row per issue, repeated columns for sprints, labels, components).
    "Issue key,Issue id,Summary,Issue Type,Status,Priority,Assignee,Reporter,Created,Updated,Resolved,Sprint,Sprint,Labels,Labels,Custom field (Story Points),Parent,Parent id,Description,Custom field (Epic Link),Fix Version/s\n",
    // The data pipeline's files: issues, changelog, sprints, users.
    "key,id,summary,issue_type,status,priority,assignee_email,reporter_email,created,updated,resolution_date,sprint_id,story_points,parent_key,description,labels,fix_versions,epic_key\n",
    "issue_key,issue_id,field,from,from_string,to,to_string,author_email,created\n",
    "id,name,state,start_date,end_date,complete_date,goal\n",
    "user_id,display_name,email,active\n",
];

fuzz_target!(|data: &[u8]| {
    // The CSV layer alone, on the raw bytes.
    if let Ok(text) = csv::decode(data) {
        let _ = csv::parse(text);
    }
    let mut files = Vec::new();
    for (i, part) in data.split(|&b| b == 0).take(6).enumerate() {
        let mut bytes = Vec::new();
        match part.first() {
            Some(&b) if b % 2 == 1 => bytes.extend_from_slice(&part[1..]),
            Some(&b) => {
                bytes.extend_from_slice(HEADERS[(b as usize / 2) % HEADERS.len()].as_bytes());
                bytes.extend_from_slice(&part[1..]);
            }
            None => {}
        }
        files.push((format!("file{i}.csv"), bytes));
    }
    let mut set = jira::read_files(&files);
    let _ = set.has_problems();
    set.finish();
});
