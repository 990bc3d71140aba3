//! Linear's CSV export: half of the inputs get Linear's header in front, so the fuzzer reaches
//! the row reader and not only the header check.
#![no_main]
use keel_domain::import::{linear, ImportSet};
use libfuzzer_sys::fuzz_target;

const HEADER: &str = "ID,Team,Title,Description,Status,Estimate,Priority,Project ID,Project,Creator,Assignee,Labels,Cycle Number,Cycle Name,Cycle Start,Cycle End,Created,Updated,Started,Triaged,Completed,Canceled,Archived,Due Date,Parent issue,Initiatives,Project Milestone ID,Project Milestone,SLA Status,Roadmaps\n";

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let mut bytes = Vec::with_capacity(data.len() + HEADER.len());
    if first % 2 == 0 {
        bytes.extend_from_slice(HEADER.as_bytes());
    }
    bytes.extend_from_slice(rest);
    let mut set = ImportSet::default();
    linear::read_linear("export.csv", &bytes, &mut set);
    let _ = set.has_problems();
    set.finish();
});
