//! The embeddable feedback widget: its per-product settings, the checks on what a customer's
//! page posts through it, the origins allowed to embed it, its rate limits, and merging
//! duplicate feedback. Pure.

use crate::discovery::{Feedback, Source, FEEDBACK_TEXT_MAX};
use crate::error::text;
use crate::{Invalid, RecordId, ValidationError};
use serde::{Deserialize, Serialize};

/// A product's widget settings. The key is public (it is in the customer's page source) but
/// unguessable, so only pages the product shares it with can post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Widget {
    /// The public key.
    pub key: String,
    /// Whether posts are taken.
    #[serde(default)]
    pub enabled: bool,
    /// The origins (`https://shop.example.com`) whose pages may post; empty: any.
    #[serde(default)]
    pub origins: Vec<String>,
}

/// Most origins one widget allows.
pub const ORIGINS_MAX: usize = 50;
/// Longest text posted through the widget.
pub const WIDGET_TEXT_MAX: usize = 4_000;
/// Shortest public key accepted (shorter ones are not ours: answer 404 without a lookup).
pub const KEY_MIN: usize = 22;
/// Posts per client address and product: (window in seconds, most posts in it).
pub const RATE_LIMITS: [(i64, i64); 2] = [(60, 10), (24 * 60 * 60, 200)];

/// Checks an origin (`scheme://host[:port]`, http or https, nothing after) and gives its
/// canonical form: lower case, no trailing slash, no default port.
pub fn parse_origin(field: &str, s: &str) -> Invalid<String> {
    let bad = || ValidationError::new(field, "must be an origin like https://www.example.com");
    let s = s.trim().trim_end_matches('/').to_ascii_lowercase();
    let (scheme, rest) = s.split_once("://").ok_or_else(bad)?;
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || p.is_empty() => (h, Some(p)),
        _ => (rest, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    if !host_ok {
        return Err(bad());
    }
    match port {
        None => Ok(format!("{scheme}://{host}")),
        Some(p) => {
            let n: u16 = p.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(bad());
            }
            if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
                Ok(format!("{scheme}://{host}"))
            } else {
                Ok(format!("{scheme}://{host}:{n}"))
            }
        }
    }
}

impl Widget {
    /// Checks and normalises the origins (fields `origins[i]`), dropping duplicates.
    pub fn with_origins(mut self, origins: &[String]) -> Invalid<Self> {
        if origins.len() > ORIGINS_MAX {
            return Err(ValidationError::new("origins", format!("must list at most {ORIGINS_MAX} origins")));
        }
        let mut out: Vec<String> = Vec::new();
        for (i, o) in origins.iter().enumerate() {
            let o = parse_origin(&format!("origins[{i}]"), o)?;
            if !out.contains(&o) {
                out.push(o);
            }
        }
        self.origins = out;
        Ok(self)
    }

    /// Whether a page from `origin` (the request's `Origin` header) may post: any may when no
    /// origins are listed; otherwise only a listed one.
    pub fn allows(&self, origin: Option<&str>) -> bool {
        if self.origins.is_empty() {
            return true;
        }
        match origin.and_then(|o| parse_origin("origin", o).ok()) {
            Some(o) => self.origins.contains(&o),
            None => false,
        }
    }
}

/// What a customer's page posts through the widget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WidgetPost {
    /// What they say (required).
    pub text: String,
    /// Their name.
    pub name: Option<String>,
    /// Their e-mail address.
    pub email: Option<String>,
    /// Their company.
    pub company: Option<String>,
    /// The page they are on.
    pub page_url: Option<String>,
}

impl WidgetPost {
    /// Checks every field (named as posted) and makes it a piece of feedback from the widget.
    pub fn into_feedback(self) -> Invalid<Feedback> {
        let t = text("text", self.text.trim(), 1, WIDGET_TEXT_MAX, true)?;
        let person = text("name", self.name.as_deref().unwrap_or(""), 0, 200, false)?;
        let company = text("company", self.company.as_deref().unwrap_or(""), 0, 200, false)?;
        let email = text("email", self.email.as_deref().unwrap_or(""), 0, 254, false)?;
        if !email.is_empty() {
            let ok = match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                        && !email.contains(char::is_whitespace)
                        && !domain.contains('@')
                }
                None => false,
            };
            if !ok {
                return Err(ValidationError::new("email", "must be an e-mail address like ann@example.com"));
            }
        }
        let page_url = text("page_url", self.page_url.as_deref().unwrap_or(""), 0, 2_000, false)?;
        if !page_url.is_empty() {
            let lower = page_url.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://")) || page_url.contains(' ') {
                return Err(ValidationError::new("page_url", "must be an http or https address"));
            }
        }
        Ok(Feedback {
            person,
            company,
            email,
            page_url,
            source: Source::Widget,
            text: t,
            ..Default::default()
        })
    }
}

/// Merges duplicate feedback `dup` (record `dup_id`) into `into`: the duplicate's opportunity
/// links join the target's (each once), its words are appended to the target's text as a quoted
/// note naming who said them, and customer details the target lacks are taken from it; the
/// higher revenue weight stays. The combined text must fit the longest feedback (field `into`).
pub fn merge_feedback(into: &Feedback, dup: &Feedback, dup_id: RecordId) -> Invalid<Feedback> {
    let mut out = into.clone();
    for o in &dup.opportunities {
        if !out.opportunities.contains(o) {
            out.opportunities.push(*o);
        }
    }
    let who: Vec<&str> = [dup.person.as_str(), dup.email.as_str(), dup.company.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    let mut note = format!("\n\n— Merged from feedback #{} ({}", dup_id.0, dup.source.as_str());
    if !who.is_empty() {
        note.push_str(", ");
        note.push_str(&who.join(", "));
    }
    note.push_str("):\n");
    for line in dup.text.lines() {
        note.push_str("> ");
        note.push_str(line);
        note.push('\n');
    }
    out.text = format!("{}{}", out.text, note.trim_end());
    if out.text.chars().count() > FEEDBACK_TEXT_MAX {
        return Err(ValidationError::new(
            "into",
            format!("the merged text would be longer than {FEEDBACK_TEXT_MAX} characters"),
        ));
    }
    for (mine, theirs) in [
        (&mut out.person, &dup.person),
        (&mut out.company, &dup.company),
        (&mut out.segment, &dup.segment),
        (&mut out.email, &dup.email),
        (&mut out.page_url, &dup.page_url),
    ] {
        if mine.is_empty() {
            mine.clone_from(theirs);
        }
    }
    out.revenue = out.revenue.max(dup.revenue);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_canonical() {
        assert_eq!(parse_origin("o", "HTTPS://Shop.Example.com/").unwrap(), "https://shop.example.com");
        assert_eq!(parse_origin("o", "https://shop.example.com:443").unwrap(), "https://shop.example.com");
        assert_eq!(parse_origin("o", "http://127.0.0.1:8080").unwrap(), "http://127.0.0.1:8080");
        for bad in [
            "shop.example.com",
            "ftp://x.com",
            "https://",
            "https://a b.com",
            "https://x.com:0",
            "https://x.com:99999",
            "https://x.com/path",
        ] {
            assert_eq!(parse_origin("origins[0]", bad).unwrap_err().field, "origins[0]", "{bad}");
        }
    }

    #[test]
    fn allowed_origins() {
        let open = Widget::default();
        assert!(open.allows(None) && open.allows(Some("https://any.example")));
        let w = Widget::default()
            .with_origins(&["https://shop.example.com/".into(), "https://shop.example.com".into()])
            .unwrap();
        assert_eq!(w.origins, vec!["https://shop.example.com".to_string()]);
        assert!(w.allows(Some("https://shop.example.com")));
        assert!(!w.allows(Some("https://evil.example.com")));
        assert!(!w.allows(Some("null")));
        assert!(!w.allows(None));
        let e = Widget::default().with_origins(&["https://ok.com".into(), "nope".into()]).unwrap_err();
        assert_eq!(e.field, "origins[1]");
    }

    #[test]
    fn posts_are_checked() {
        let ok = WidgetPost { text: "  Export is slow ".into(), ..Default::default() };
        let f = ok.clone().into_feedback().unwrap();
        assert_eq!((f.text.as_str(), f.source), ("Export is slow", Source::Widget));
        let field = |p: WidgetPost| p.into_feedback().unwrap_err().field;
        assert_eq!(field(WidgetPost { text: " ".into(), ..Default::default() }), "text");
        assert_eq!(field(WidgetPost { text: "x".repeat(4_001), ..Default::default() }), "text");
        assert!(WidgetPost { text: "x".repeat(4_000), ..Default::default() }.into_feedback().is_ok());
        assert_eq!(field(WidgetPost { email: Some("ann".into()), ..ok.clone() }), "email");
        assert_eq!(field(WidgetPost { email: Some("ann@x".into()), ..ok.clone() }), "email");
        assert_eq!(field(WidgetPost { name: Some("a\u{7}".into()), ..ok.clone() }), "name");
        assert_eq!(field(WidgetPost { company: Some("c".repeat(201)), ..ok.clone() }), "company");
        assert_eq!(
            field(WidgetPost { page_url: Some("javascript:alert(1)".into()), ..ok.clone() }),
            "page_url"
        );
        let f = WidgetPost {
            name: Some("Ann".into()),
            email: Some("ann@example.com".into()),
            page_url: Some("https://shop.example.com/cart".into()),
            ..ok
        }
        .into_feedback()
        .unwrap();
        assert_eq!((f.person.as_str(), f.email.as_str()), ("Ann", "ann@example.com"));
    }

    #[test]
    fn merging_keeps_links_and_words() {
        let a = Feedback {
            text: "Export is slow".into(),
            company: "Acme".into(),
            revenue: 10.0,
            opportunities: vec![RecordId(1), RecordId(2)],
            ..Default::default()
        };
        let b = Feedback {
            text: "Exports take ages\nplease fix".into(),
            person: "Bo".into(),
            revenue: 50.0,
            segment: "SMB".into(),
            opportunities: vec![RecordId(2), RecordId(3)],
            ..Default::default()
        };
        let m = merge_feedback(&a, &b, RecordId(9)).unwrap();
        assert_eq!(m.opportunities, vec![RecordId(1), RecordId(2), RecordId(3)]);
        assert_eq!(
            m.text,
            "Export is slow\n\n— Merged from feedback #9 (api, Bo):\n> Exports take ages\n> please fix"
        );
        assert_eq!((m.company.as_str(), m.person.as_str(), m.segment.as_str()), ("Acme", "Bo", "SMB"));
        assert_eq!(m.revenue, 50.0);
        let long = Feedback { text: "x".repeat(FEEDBACK_TEXT_MAX - 5), ..Default::default() };
        assert_eq!(merge_feedback(&long, &b, RecordId(9)).unwrap_err().field, "into");
    }
}
