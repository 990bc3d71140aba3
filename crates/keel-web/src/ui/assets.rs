//! The stylesheet, the script and the icon, embedded in the binary and served under a URL that
//! carries a hash of their content, so browsers may cache them for a year and still get a new
//! version the moment it changes.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

const CSS: &str = include_str!("../../assets/app.css");
const JS: &str = include_str!("../../assets/app.js");
const ICON: &str = include_str!("../../assets/icon.svg");
const CEREMONIES_JS: &str = include_str!("../../assets/ceremonies.js");

/// FNV-1a over the bytes, at compile time: a short, stable fingerprint of an asset.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

const CSS_HASH: u64 = fnv1a(CSS.as_bytes());
const JS_HASH: u64 = fnv1a(JS.as_bytes());
const ICON_HASH: u64 = fnv1a(ICON.as_bytes());
const CEREMONIES_JS_HASH: u64 = fnv1a(CEREMONIES_JS.as_bytes());

fn name(stem: &str, hash: u64, ext: &str) -> String {
    // Eight hex digits are plenty to tell versions of one file apart.
    format!("{stem}.{:08x}.{ext}", (hash >> 32) as u32)
}

fn urls() -> &'static [String; 3] {
    static URLS: OnceLock<[String; 3]> = OnceLock::new();
    URLS.get_or_init(|| {
        [
            format!("/assets/{}", name("app", CSS_HASH, "css")),
            format!("/assets/{}", name("app", JS_HASH, "js")),
            format!("/assets/{}", name("icon", ICON_HASH, "svg")),
        ]
    })
}

/// The stylesheet's URL.
pub(crate) fn css_url() -> &'static str {
    &urls()[0]
}

/// The script's URL.
pub(crate) fn js_url() -> &'static str {
    &urls()[1]
}

/// The icon's URL.
pub(crate) fn icon_url() -> &'static str {
    &urls()[2]
}

/// The stand-up, review and retrospective pages' script.
pub(crate) fn ceremonies_js_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| format!("/assets/{}", name("ceremonies", CEREMONIES_JS_HASH, "js")))
}

/// Serves an asset by its hashed name; an old hash is a 404, so a stale page never gets a
/// mismatched script.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    let (body, ct) = if path == css_url() {
        (CSS, "text/css; charset=utf-8")
    } else if path == js_url() {
        (JS, "text/javascript; charset=utf-8")
    } else if path == icon_url() {
        (ICON, "image/svg+xml")
    } else if path == ceremonies_js_url() {
        (CEREMONIES_JS, "text/javascript; charset=utf-8")
    } else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_a_hash() {
        assert!(css_url().starts_with("/assets/app.") && css_url().ends_with(".css"));
        assert_ne!(css_url(), "/assets/app.css");
        assert!(js_url().ends_with(".js"));
    }
}
