//! Rank keys: fractional, lexicographically ordered strings that place items in the backlog.
//!
//! Moving an item writes one new key between its new neighbours' keys, so a move costs the same
//! at 100 items and at 1,000,000 (in the manner of Jira's LexoRank). Keys are base-62 digits in
//! ASCII order (`0-9A-Za-z`), compared byte-wise (the store must use a binary collation), and never
//! end in `0`, so there is always room between any two keys.
//!
//! The first [`HEAD`] digits act as an integer: bulk loads spread items over it, and appends at
//! the bottom (or the top) step it by [`STEP`], so the common case of adding items at either end
//! keeps keys short instead of growing them one digit every few inserts. When a key nevertheless
//! grows past [`MAX_LEN`] (many moves into one gap), the store rebalances the product's keys.

use crate::error::{Invalid, ValidationError};
use serde::{Deserialize, Serialize};
use std::fmt;

const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: u64 = 62;
/// Digits of the integer head.
pub const HEAD: usize = 6;
/// How far an append at either end moves the head.
pub const STEP: u64 = 62 * 62;
/// Keys longer than this trigger a rebalance.
pub const MAX_LEN: usize = 32;
const SPACE: u64 = 56_800_235_584; // 62^6

/// A valid rank key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RankKey(String);

impl fmt::Display for RankKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

fn digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'Z' => Some(c - b'A' + 10),
        b'a'..=b'z' => Some(c - b'a' + 36),
        _ => None,
    }
}

impl RankKey {
    /// Parses a key (non-empty, base-62 digits, not ending in `0`).
    pub fn parse(field: &str, s: &str) -> Invalid<Self> {
        if s.is_empty() || s.len() > 255 || s.ends_with('0') || s.bytes().any(|c| digit(c).is_none()) {
            return Err(ValidationError::new(field, "is not a rank key"));
        }
        Ok(RankKey(s.to_string()))
    }

    /// Wraps a key read back from the store.
    pub fn from_trusted(s: String) -> Self {
        RankKey(s)
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this key is long enough that the product should be rebalanced.
    pub fn is_long(&self) -> bool {
        self.0.len() > MAX_LEN
    }

    fn digits(&self) -> Vec<u8> {
        self.0.bytes().map(|c| digit(c).unwrap_or(0)).collect()
    }

    fn head(&self) -> u64 {
        let d = self.digits();
        (0..HEAD).fold(0u64, |acc, i| acc * BASE + u64::from(d.get(i).copied().unwrap_or(0)))
    }
}

fn from_digits(d: &[u8]) -> RankKey {
    RankKey(d.iter().map(|&v| DIGITS[v as usize] as char).collect())
}

/// The key for head value `h`, trailing zeros dropped (which keeps the order).
fn encode_head(mut h: u64) -> RankKey {
    let mut d = [0u8; HEAD];
    for slot in d.iter_mut().rev() {
        *slot = (h % BASE) as u8;
        h /= BASE;
    }
    let end = d.iter().rposition(|&v| v != 0).map_or(0, |i| i + 1);
    from_digits(&d[..end])
}

/// Digits strictly between `a` and `b` (`a` may be empty, meaning zero; `b` `None` means one).
/// Neither input ends in zero, and neither does the result.
fn midpoint(a: &[u8], b: Option<&[u8]>) -> Vec<u8> {
    if let Some(b) = b {
        let n = b.iter().enumerate().take_while(|&(i, &d)| a.get(i).copied().unwrap_or(0) == d).count();
        if n > 0 {
            let mut out = b[..n].to_vec();
            out.extend(midpoint(a.get(n..).unwrap_or(&[]), Some(&b[n..])));
            return out;
        }
    }
    let da = a.first().copied().map_or(0, u64::from);
    let db = b.map_or(BASE, |b| u64::from(b[0]));
    if db - da > 1 {
        vec![((da + db) / 2) as u8]
    } else if let Some(b) = b.filter(|b| b.len() > 1) {
        vec![b[0]]
    } else {
        let mut out = vec![da as u8];
        out.extend(midpoint(a.get(1..).unwrap_or(&[]), None));
        out
    }
}

/// A key strictly between `before` and `after`; `None` is the open end on that side.
/// `before` must sort below `after` when both are given.
pub fn between(before: Option<&RankKey>, after: Option<&RankKey>) -> RankKey {
    match (before, after) {
        (None, None) => encode_head(SPACE / 4),
        (Some(a), None) => after_last(a),
        (None, Some(b)) => before_first(b),
        (Some(a), Some(b)) => {
            debug_assert!(a < b, "between({a}, {b})");
            from_digits(&midpoint(&a.digits(), Some(&b.digits())))
        }
    }
}

/// A key after `last`, by stepping the head when there is room.
pub fn after_last(last: &RankKey) -> RankKey {
    let h = last.head();
    if h + STEP < SPACE {
        encode_head(h + STEP)
    } else {
        from_digits(&midpoint(&last.digits(), None))
    }
}

/// A key before `first`, by stepping the head down when there is room.
pub fn before_first(first: &RankKey) -> RankKey {
    let h = first.head();
    if h > STEP * 2 {
        encode_head(h - STEP)
    } else {
        from_digits(&midpoint(&[], Some(&first.digits())))
    }
}

/// `n` evenly spaced, short keys in ascending order, for bulk loads and rebalancing. They occupy
/// the middle of the head space, leaving room at both ends for appends.
pub fn spread(n: usize) -> Vec<RankKey> {
    let lo = SPACE / 8;
    let span = SPACE / 2;
    let step = (span / (n as u64 + 1)).clamp(1, STEP * 16);
    (0..n as u64).map(|i| encode_head(lo + (i + 1) * step)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: a small, seeded generator so the property tests are repeatable.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }
    }

    fn check_order(keys: &[RankKey]) {
        for w in keys.windows(2) {
            assert!(w[0] < w[1], "{} !< {}", w[0], w[1]);
        }
        for k in keys {
            assert!(RankKey::parse("rank", k.as_str()).is_ok(), "invalid key {k}");
        }
    }

    #[test]
    fn spread_is_ordered_and_short() {
        for n in [0, 1, 2, 10, 1000, 100_000] {
            let keys = spread(n);
            assert_eq!(keys.len(), n);
            check_order(&keys);
            assert!(keys.iter().all(|k| k.as_str().len() <= HEAD));
        }
    }

    #[test]
    fn between_edges() {
        let a = RankKey::parse("r", "A").unwrap();
        let b = RankKey::parse("r", "A1").unwrap();
        let m = between(Some(&a), Some(&b));
        assert!(a < m && m < b, "{m}");
        let z = RankKey::parse("r", "zzzzzz").unwrap();
        let after = between(Some(&z), None);
        assert!(after > z);
        let one = RankKey::parse("r", "1").unwrap();
        let before = between(None, Some(&one));
        assert!(before < one && !before.as_str().is_empty());
        assert!(RankKey::parse("r", "A0").is_err());
        assert!(RankKey::parse("r", "").is_err());
        assert!(RankKey::parse("r", "a-b").is_err());
    }

    /// Property: any sequence of moves (to a random gap, to the top, to the bottom) keeps a
    /// strict total order of valid keys.
    #[test]
    fn random_moves_keep_a_total_order() {
        for seed in 0..20u64 {
            let mut rng = Rng(seed);
            let mut keys = spread(200);
            for _ in 0..5_000 {
                let from = rng.below(keys.len());
                keys.remove(from);
                let to = rng.below(keys.len() + 1);
                let k = match rng.below(10) {
                    0 => between(None, keys.first()),
                    1 => between(keys.last(), None),
                    _ => between(if to == 0 { None } else { keys.get(to - 1) }, keys.get(to)),
                };
                let at = keys.partition_point(|x| x < &k);
                keys.insert(at, k);
            }
            check_order(&keys);
        }
    }

    /// Property: hammering one gap grows keys slowly, and only there.
    #[test]
    fn one_gap_grows_slowly() {
        let mut lo = spread(2)[0].clone();
        let hi = spread(2)[1].clone();
        let mut n = 0;
        while !lo.is_long() {
            let m = between(Some(&lo), Some(&hi));
            assert!(lo < m && m < hi);
            lo = m;
            n += 1;
        }
        assert!(n > 100, "only {n} inserts before a rebalance");
    }

    #[test]
    fn appends_keep_keys_short() {
        let mut last = spread(1_000_000).pop().unwrap();
        let mut first = spread(1_000_000)[0].clone();
        for _ in 0..100_000 {
            let k = after_last(&last);
            assert!(k > last);
            last = k;
            let k = before_first(&first);
            assert!(k < first);
            first = k;
        }
        assert!(last.as_str().len() <= HEAD && first.as_str().len() <= HEAD + 1);
    }
}
