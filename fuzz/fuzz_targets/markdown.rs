//! The Markdown renderer of every user text. Beyond not panicking, what comes out must carry no
//! markup of its own from the input: every `<` of the output opens a tag the renderer wrote (the
//! input's own are escaped), no tag is a script or embedding element, and no attribute is an
//! event handler, a style other than a table column's alignment, or a javascript:, vbscript: or
//! data: address.
#![no_main]
use libfuzzer_sys::fuzz_target;

const ALLOWED: &[&str] = &[
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "del", "a", "img", "code", "pre", "ul", "ol",
    "li", "blockquote", "hr", "br", "table", "thead", "tbody", "tr", "th", "td", "input", "sup", "div",
    "span", "dl", "dt", "dd",
];

/// The attributes of a tag's inside (`a href="x" title="y"`), values unquoted.
fn attributes(tag: &str, html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let rest = tag.trim_start_matches('/');
    let mut rest = rest.trim_start_matches(|c: char| c.is_ascii_alphanumeric());
    loop {
        rest = rest.trim_start_matches([' ', '\n', '/']);
        if rest.is_empty() {
            return out;
        }
        let end = rest.find(['=', ' ', '\n', '/']).unwrap_or(rest.len());
        let name = rest[..end].to_ascii_lowercase();
        rest = &rest[end..];
        let mut value = String::new();
        if let Some(r) = rest.strip_prefix('=') {
            let r = r.strip_prefix('"').unwrap_or_else(|| panic!("unquoted value of {name}: {html}"));
            let close = r.find('"').unwrap_or_else(|| panic!("unclosed value of {name}: {html}"));
            value = r[..close].to_string();
            rest = &r[close + 1..];
        }
        out.push((name, value));
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let html = keel_web::markdown::render(src);
    let mut rest = html.as_str();
    while let Some(open) = rest.find('<') {
        let close = rest[open..].find('>').map(|i| open + i).unwrap_or_else(|| panic!("unclosed tag: {html}"));
        let tag = &rest[open + 1..close];
        let name: String =
            tag.trim_start_matches('/').chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
        assert!(ALLOWED.contains(&name.to_ascii_lowercase().as_str()), "tag <{name}> in: {html}");
        for (attr, value) in attributes(tag, &html) {
            assert!(!attr.starts_with("on") && attr != "srcdoc" && attr != "formaction", "{attr} in: {html}");
            if attr == "style" {
                assert!(value.starts_with("text-align: "), "style {value:?} in: {html}");
            }
            if attr == "href" || attr == "src" {
                let v: String =
                    value.chars().filter(|c| !c.is_ascii_whitespace() && !c.is_control()).collect::<String>();
                let v = v.to_ascii_lowercase();
                for scheme in ["javascript:", "vbscript:", "data:"] {
                    assert!(!v.starts_with(scheme), "{attr}={value:?} in: {html}");
                }
            }
        }
        rest = &rest[close + 1..];
    }
});
