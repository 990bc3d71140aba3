//! Small formatting helpers shared by the pages: dates, estimates, names, URL encoding.

use askama::Template;
use keel_domain::workflow::Category;
use keel_domain::Timestamp;

/// Percent-encodes everything but unreserved characters, for query-string values.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Up to two initials of a name, for the avatar.
pub(crate) fn initials(name: &str) -> String {
    let mut words = name.split_whitespace().filter_map(|w| w.chars().next()).collect::<Vec<_>>().into_iter();
    let first = words.next();
    let last = words.next_back();
    first.into_iter().chain(last).flat_map(char::to_uppercase).collect()
}

/// A field name as people read it (`as_a` → "As a").
pub(crate) fn field_label(field: &str) -> String {
    let f = field.split(['.', '[']).next().unwrap_or(field);
    let words = match f {
        "as_a" => "As a",
        "i_want" => "I want",
        "so_that" => "So that",
        "q" => "Search",
        "to" => "Linked item",
        "user_id" => "User",
        "current_password" => "Current password",
        other => other,
    };
    capitalise(&words.replace('_', " "))
}

/// The first letter in upper case.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The 404 page for visitors who are not signed in.
#[derive(Template)]
#[template(path = "not_found_plain.html")]
struct PlainNotFound {
    css: &'static str,
}

/// Renders the 404 page for visitors who are not signed in.
pub(crate) fn plain_not_found() -> String {
    PlainNotFound { css: super::assets::css_url() }.render().unwrap_or_else(|_| "Not found".to_string())
}

fn now_millis() -> i64 {
    keel_app::now().0
}

/// A calendar date and time in UTC: "2025-03-14 09:30 UTC".
pub(crate) fn date_time(t: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        ),
        Err(_) => String::new(),
    }
}

/// A short date: "14 Mar 2025".
pub(crate) fn date(t: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000) {
        Ok(d) => {
            let m = d.month().to_string();
            format!("{} {} {}", d.day(), &m[..3.min(m.len())], d.year())
        }
        Err(_) => String::new(),
    }
}

/// How long ago, roughly: "just now", "5 min ago", "3 h ago", "2 days ago", or the date.
pub(crate) fn ago(t: Timestamp) -> String {
    let secs = (now_millis() - t.0) / 1000;
    match secs {
        s if s < 60 => "just now".to_string(),
        s if s < 3600 => format!("{} min ago", s / 60),
        s if s < 86_400 => format!("{} h ago", s / 3600),
        s if s < 86_400 * 2 => "yesterday".to_string(),
        s if s < 86_400 * 30 => format!("{} days ago", s / 86_400),
        _ => date(t),
    }
}

/// An estimate in points without a needless ".0".
/// A number rounded to a whole one, its thousands grouped: "1,234,567", "-4,500".
pub(crate) fn grouped(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if v.round() < 0.0 {
        out.push('-');
    }
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(d);
    }
    out
}

pub(crate) fn points(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The CSS class of a status pill.
pub(crate) fn category_class(c: Category) -> &'static str {
    match c {
        Category::Todo => "todo",
        Category::InProgress => "progress",
        Category::Done => "done",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(url_encode("a b&c/é"), "a%20b%26c%2F%C3%A9");
        assert_eq!(initials("Olivia Brandt"), "OB");
        assert_eq!(initials("Administrator"), "A");
        assert_eq!(field_label("criteria[2].text"), "Criteria");
        assert_eq!(field_label("as_a"), "As a");
        assert_eq!(points(3.0), "3");
        assert_eq!(points(0.5), "0.5");
        assert_eq!(date_time(Timestamp(0)), "1970-01-01 00:00 UTC");
        assert_eq!(date(Timestamp(0)), "1 January 1970".replace("January", "Jan"));
    }
}
