//! The stylesheet, the scripts and the icon, embedded in the binary and served under a URL that
//! carries a hash of their content, so browsers may cache them for a year and still get a new
//! version the moment it changes. Each page loads the shared script and at most one script of
//! its own.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

/// (stem, extension, content type, content): every asset, in the order of [`urls`].
const ASSETS: [(&str, &str, &str, &str); 12] = [
    ("app", "css", "text/css; charset=utf-8", include_str!("../../assets/app.css")),
    ("app", "js", "text/javascript; charset=utf-8", include_str!("../../assets/app.js")),
    ("icon", "svg", "image/svg+xml", include_str!("../../assets/icon.svg")),
    ("sprints", "js", "text/javascript; charset=utf-8", include_str!("../../assets/sprints.js")),
    ("poker", "js", "text/javascript; charset=utf-8", include_str!("../../assets/poker.js")),
    ("ceremonies", "js", "text/javascript; charset=utf-8", include_str!("../../assets/ceremonies.js")),
    ("readiness", "js", "text/javascript; charset=utf-8", include_str!("../../assets/readiness.js")),
    ("board", "js", "text/javascript; charset=utf-8", include_str!("../../assets/board.js")),
    ("roadmap", "js", "text/javascript; charset=utf-8", include_str!("../../assets/roadmap.js")),
    ("theme", "js", "text/javascript; charset=utf-8", include_str!("../../assets/theme.js")),
    ("palette", "js", "text/javascript; charset=utf-8", include_str!("../../assets/palette.js")),
    ("live", "js", "text/javascript; charset=utf-8", include_str!("../../assets/live.js")),
];

/// FNV-1a over the bytes: a short, stable fingerprint of an asset.
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

fn urls() -> &'static [String; ASSETS.len()] {
    static URLS: OnceLock<[String; ASSETS.len()]> = OnceLock::new();
    URLS.get_or_init(|| {
        ASSETS.map(|(stem, ext, _, body)| {
            // Eight hex digits are plenty to tell versions of one file apart.
            format!("/assets/{stem}.{:08x}.{ext}", (fnv1a(body.as_bytes()) >> 32) as u32)
        })
    })
}

/// The stylesheet's URL.
pub(crate) fn css_url() -> &'static str {
    &urls()[0]
}

/// The shared script's URL.
pub(crate) fn js_url() -> &'static str {
    &urls()[1]
}

/// The icon's URL.
pub(crate) fn icon_url() -> &'static str {
    &urls()[2]
}

/// The live-updates script (every page; it acts only where a page marks live regions).
pub(crate) fn live_js_url() -> &'static str {
    &urls()[11]
}

/// The sprint pages' script (drag and drop of sprint planning).
pub(crate) fn sprints_js_url() -> &'static str {
    &urls()[3]
}

/// The poker room's script (live updates).
pub(crate) fn poker_js_url() -> &'static str {
    &urls()[4]
}

/// The ceremonies' script (in-place retrospective votes).
pub(crate) fn ceremonies_js_url() -> &'static str {
    &urls()[5]
}

/// The backlog's bulk-selection script.
pub(crate) fn readiness_js_url() -> &'static str {
    &urls()[6]
}

/// The team board's script (drag and drop, keyboard moves, the WIP reason dialog).
pub(crate) fn board_js_url() -> &'static str {
    &urls()[7]
}

/// The roadmap's script (drag and drop between lanes and in time).
pub(crate) fn roadmap_js_url() -> &'static str {
    &urls()[8]
}

/// The theme script, loaded blocking in `<head>` so the chosen theme applies before the first paint.
pub(crate) fn theme_js_url() -> &'static str {
    &urls()[9]
}

/// The command palette, keyboard shortcuts and theme switch of every page.
pub(crate) fn palette_js_url() -> &'static str {
    &urls()[10]
}

/// Serves an asset by its hashed name; an old hash is a 404, so a stale page never gets a
/// mismatched script.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    let Some(i) = urls().iter().position(|u| *u == path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let (_, _, ct, body) = ASSETS[i];
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
        let mut all: Vec<&String> = urls().iter().collect();
        all.dedup();
        assert_eq!(all.len(), ASSETS.len(), "every asset has its own URL");
    }
}
