//! Markdown rendered safely: raw HTML in the source is shown as text, and links or images with
//! a scheme other than http, https or mailto lose their target. What comes out can be placed in a
//! page as is.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    match lower.split_once(':') {
        // No scheme (relative link) is fine unless the colon hides in the path after a slash.
        None => true,
        Some((scheme, _)) if scheme.contains('/') || scheme.contains('?') || scheme.contains('#') => true,
        Some((scheme, _)) => matches!(scheme, "http" | "https" | "mailto"),
    }
}

/// Renders Markdown to sanitised HTML.
pub fn render(src: &str) -> String {
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(src, opts).map(|ev| match ev {
        Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Event::Start(Tag::Link { link_type, dest_url, title, id })
        }
        Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
            let dest_url = if safe_url(&dest_url) { dest_url } else { CowStr::Borrowed("#") };
            Event::Start(Tag::Image { link_type, dest_url, title, id })
        }
        // A task list's box is read-only here; its name says whether the task is done.
        Event::TaskListMarker(done) => Event::InlineHtml(CowStr::Borrowed(if done {
            "<input disabled=\"\" type=\"checkbox\" checked=\"\" aria-label=\"done\"/>\n"
        } else {
            "<input disabled=\"\" type=\"checkbox\" aria-label=\"not done\"/>\n"
        })),
        e => e,
    });
    let mut out = String::with_capacity(src.len() + src.len() / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn renders_markdown() {
        assert_eq!(render("**a**"), "<p><strong>a</strong></p>\n");
    }

    #[test]
    fn neutralises_known_xss_payloads() {
        let payloads = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg onload=alert(1)>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "![x](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "[x](&#106;avascript:alert(1))",
            "<details open ontoggle=alert(1)>",
        ];
        for p in payloads {
            let h = render(p).to_ascii_lowercase();
            // No live element beyond Markdown's own, and no link or image to a script scheme.
            for tag in ["<script", "<svg", "<iframe", "<details", "<img src=\"x\""] {
                assert!(!h.contains(tag), "{p} -> {h}");
            }
            for attr in ["<a href=\"", "<img src=\""] {
                for (i, _) in h.match_indices(attr) {
                    let url = &h[i + attr.len()..];
                    for scheme in ["javascript:", "vbscript:", "data:", "&#"] {
                        assert!(!url.starts_with(scheme), "{p} -> {h}");
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_good_links() {
        assert!(render("[k](https://example.com)").contains("href=\"https://example.com\""));
        assert!(render("[k](/products/SHOP)").contains("href=\"/products/SHOP\""));
        assert!(render("[k](mailto:a@b.c)").contains("href=\"mailto:a@b.c\""));
    }
}
