//! Rank keys: parsing what a client or an import sends, and the keys made between parsed keys
//! must sort strictly between them and parse back.
#![no_main]
use keel_domain::rank::{self, RankKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (a, b) = s.split_once(' ').unwrap_or((s, ""));
    let a = RankKey::parse("rank", a).ok();
    let b = RankKey::parse("rank", b).ok();
    let (lo, hi) = match (a, b) {
        (Some(x), Some(y)) if x < y => (Some(x), Some(y)),
        (Some(x), Some(y)) if y < x => (Some(y), Some(x)),
        (Some(x), _) => (Some(x), None),
        (None, Some(y)) => (None, Some(y)),
        (None, None) => (None, None),
    };
    let k = rank::between(lo.as_ref(), hi.as_ref());
    if let Some(lo) = &lo {
        assert!(lo < &k, "{lo} < {k}");
    }
    if let Some(hi) = &hi {
        assert!(&k < hi, "{k} < {hi}");
    }
    if k.as_str().len() <= 255 {
        assert!(RankKey::parse("rank", k.as_str()).is_ok(), "{k} parses back");
    }
});
