//! Matching items that the full-text index does not hold yet (a bulk write's items until the
//! indexer reaches them, migration 0012): `keel_match(title, description, query)` answers what
//! `items_fts MATCH fts_query(query)` would, by reading the text. Words are runs of letters and
//! digits, compared without case and without the common Latin diacritics, as the index's
//! `unicode61 remove_diacritics 2` tokenizer does; every word of the query must be a word of the
//! item, the last one as a prefix.

use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;

/// One character as the index's tokenizer keys it: lower case, common diacritics removed.
fn fold(c: char) -> char {
    let c = if c.is_ascii() { c.to_ascii_lowercase() } else { c.to_lowercase().next().unwrap_or(c) };
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'ď' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
        'ł' | 'ľ' | 'ĺ' => 'l',
        'ñ' | 'ń' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'š' | 'ş' => 's',
        'ť' | 'ţ' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        c => c,
    }
}

/// The query's words, folded; `None` when it has none (an FTS query would match nothing).
pub fn query_words(q: &str) -> Option<Vec<Vec<char>>> {
    let words: Vec<Vec<char>> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().map(fold).collect())
        .collect();
    (!words.is_empty()).then_some(words)
}

/// Whether the texts hold every word (the last as a prefix).
pub fn matches(words: &[Vec<char>], texts: &[&str]) -> bool {
    let mut found = vec![false; words.len()];
    let last = words.len() - 1;
    let mut token: Vec<char> = Vec::with_capacity(32);
    for text in texts {
        let mut chars = text.chars().peekable();
        loop {
            token.clear();
            while let Some(&c) = chars.peek() {
                chars.next();
                if c.is_alphanumeric() {
                    token.push(fold(c));
                    break;
                }
            }
            while let Some(&c) = chars.peek() {
                if !c.is_alphanumeric() {
                    break;
                }
                token.push(fold(c));
                chars.next();
            }
            if token.is_empty() {
                break;
            }
            for (i, w) in words.iter().enumerate() {
                if !found[i] && (if i == last { token.starts_with(w) } else { token == *w }) {
                    found[i] = true;
                }
            }
            if found.iter().all(|f| *f) {
                return true;
            }
        }
    }
    false
}

/// Registers `keel_match(title, description, query)` on a connection.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "keel_match",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let words = ctx.get_or_create_aux(2, |v| -> Result<_, std::convert::Infallible> {
                Ok(v.as_str().ok().and_then(query_words))
            })?;
            let Some(words) = words.as_ref() else { return Ok(false) };
            let title = ctx.get_raw(0).as_str().unwrap_or("");
            let description = ctx.get_raw(1).as_str().unwrap_or("");
            Ok(matches(words, &[title, description]))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str, title: &str, description: &str) -> bool {
        query_words(q).is_some_and(|w| matches(&w, &[title, description]))
    }

    #[test]
    fn every_word_must_be_a_word_the_last_a_prefix() {
        assert!(m("login page", "Fix the login", "the page times out"));
        assert!(m("login pa", "Fix the login", "the page times out"));
        assert!(!m("log page", "Fix the login", "the page times out"), "only the last word is a prefix");
        assert!(!m("login cart", "Fix the login", "the page times out"));
        assert!(!m("ogin", "Fix the login", ""), "a prefix, not a substring");
    }

    #[test]
    fn case_and_diacritics_fold_punctuation_splits() {
        assert!(m("CAFE", "Café au lait", ""));
        assert!(m("café", "cafe", ""));
        assert!(m("x2 y", "x2-y", ""));
        assert!(m("über", "UBER", ""));
    }

    #[test]
    fn a_query_without_words_matches_nothing() {
        assert!(query_words(" -- ").is_none());
        assert!(!m("", "anything", ""));
    }
}
