//! The stylesheet, the scripts and the icon, embedded in the binary, minified once on first use
//! and served under a URL that carries a hash of their content, so browsers may cache them for a
//! year and still get a new version the moment it changes. The stylesheet is served in bundles:
//! the base every page needs plus the areas of `app.css` its section uses (see
//! [`SECTION_AREAS`]). Each page loads the shared script, the keys script and at most one script
//! of its own; the live-updates script only on pages with live regions, the command palette only
//! when it is first opened.

use super::minify;
use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::sync::OnceLock;

/// (stem, extension, content): every script and the icon, as written. The stylesheet is
/// `app.css`, cut into bundles by [`SECTION_AREAS`].
const SOURCES: [(&str, &str, &str); 12] = [
    ("app", "js", include_str!("../../assets/app.js")),
    ("icon", "svg", include_str!("../../assets/icon.svg")),
    ("sprints", "js", include_str!("../../assets/sprints.js")),
    ("poker", "js", include_str!("../../assets/poker.js")),
    ("ceremonies", "js", include_str!("../../assets/ceremonies.js")),
    ("readiness", "js", include_str!("../../assets/readiness.js")),
    ("board", "js", include_str!("../../assets/board.js")),
    ("roadmap", "js", include_str!("../../assets/roadmap.js")),
    ("theme", "js", include_str!("../../assets/theme.js")),
    ("keys", "js", include_str!("../../assets/keys.js")),
    ("palette", "js", include_str!("../../assets/palette.js")),
    ("live", "js", include_str!("../../assets/live.js")),
];

const APP_CSS: &str = include_str!("../../assets/app.css");

/// The areas of `app.css` (its `/* @area NAME */` parts) a page needs beside the base, by the
/// page's navigation section; a section not listed gets the base alone.
const SECTION_AREAS: &[(&str, &[&str])] = &[
    ("product", &["vision", "portfolio", "outcomes"]),
    ("vision", &["vision", "outcomes"]),
    ("goals", &["vision", "outcomes"]),
    ("kpis", &["vision", "outcomes"]),
    ("alignment", &["vision", "outcomes"]),
    // The lanes, the timeline, an initiative's outcomes and a PRD.
    ("roadmap", &["roadmap", "vision", "launch", "outcomes", "portfolio"]),
    ("opportunities", &["discovery"]),
    ("feedback", &["discovery"]),
    ("competitors", &["market"]),
    ("stakeholders", &["market"]),
    ("stakeholder-updates", &["market", "vision", "portfolio"]),
    // The backlog, an item, its edit form and its poker room.
    ("backlog", &["launch", "outcomes"]),
    // The sprint list, a sprint, its plan, its review and retrospective, the team's settings.
    ("sprints", &["sprints", "ceremonies", "reports"]),
    ("board", &["board"]),
    ("standup", &["ceremonies"]),
    ("releases", &["launch"]),
    ("reports", &["sprints", "reports"]),
    // The workflow editor, webhooks, Definitions of Ready and Done.
    ("settings", &["board", "webhooks"]),
    ("portfolio", &["roadmap", "portfolio"]),
    ("tokens", &["webhooks"]),
];

/// One served asset: its hashed URL, content type and (minified) body.
struct Asset {
    url: String,
    content_type: &'static str,
    body: String,
}

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

fn asset(stem: &str, ext: &str, body: String) -> Asset {
    let content_type = match ext {
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        _ => "text/javascript; charset=utf-8",
    };
    // Eight hex digits are plenty to tell versions of one file apart.
    let url = format!("/assets/{stem}.{:08x}.{ext}", (fnv1a(body.as_bytes()) >> 32) as u32);
    Asset { url, content_type, body }
}

/// The stylesheet bundle with the base and `areas`, in the order of `app.css` (so the cascade is
/// the one of the whole file).
fn bundle(areas: &[&str]) -> String {
    let parts = minify::css_areas(APP_CSS);
    let kept: String =
        parts.iter().filter(|(a, _)| *a == "base" || areas.contains(a)).map(|(_, t)| *t).collect();
    minify::css(&kept)
}

/// The name of a bundle: `app`, or `app-` and its areas.
fn bundle_stem(areas: &[&str]) -> String {
    if areas.is_empty() {
        "app".to_string()
    } else {
        format!("app-{}", areas.join("-"))
    }
}

fn all() -> &'static [Asset] {
    static ALL: OnceLock<Vec<Asset>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out = vec![asset("app", "css", bundle(&[]))];
        for (_, areas) in SECTION_AREAS {
            let stem = bundle_stem(areas);
            if !out.iter().any(|a| a.url.starts_with(&format!("/assets/{stem}."))) {
                out.push(asset(&stem, "css", bundle(areas)));
            }
        }
        for (stem, ext, body) in SOURCES {
            let body = if ext == "js" { minify::js(body) } else { body.to_string() };
            out.push(asset(stem, ext, body));
        }
        out
    })
}

/// The URL of the asset `stem.ext`.
fn url(stem: &str, ext: &str) -> &'static str {
    let prefix = format!("/assets/{stem}.");
    all()
        .iter()
        .find(|a| {
            a.url.starts_with(&prefix) && a.url.ends_with(ext) && a.url[prefix.len()..].len() == 9 + ext.len()
        })
        .map(|a| a.url.as_str())
        .unwrap_or("/assets/missing")
}

/// The stylesheet of the pages of navigation section `section`: the base and the section's areas.
pub(crate) fn css_url_for(section: &str) -> &'static str {
    let areas = SECTION_AREAS.iter().find(|(s, _)| *s == section).map(|(_, a)| *a).unwrap_or(&[]);
    url(&bundle_stem(areas), "css")
}

/// The stylesheet's URL.
pub(crate) fn css_url() -> &'static str {
    url("app", "css")
}

/// The shared script's URL.
pub(crate) fn js_url() -> &'static str {
    url("app", "js")
}

/// The icon's URL.
pub(crate) fn icon_url() -> &'static str {
    url("icon", "svg")
}

/// The live-updates script (every page; it acts only where a page marks live regions).
pub(crate) fn live_js_url() -> &'static str {
    url("live", "js")
}

/// The sprint pages' script (drag and drop of sprint planning).
pub(crate) fn sprints_js_url() -> &'static str {
    url("sprints", "js")
}

/// The poker room's script (live updates).
pub(crate) fn poker_js_url() -> &'static str {
    url("poker", "js")
}

/// The ceremonies' script (in-place retrospective votes).
pub(crate) fn ceremonies_js_url() -> &'static str {
    url("ceremonies", "js")
}

/// The backlog's bulk-selection script.
pub(crate) fn readiness_js_url() -> &'static str {
    url("readiness", "js")
}

/// The team board's script (drag and drop, keyboard moves, the WIP reason dialog).
pub(crate) fn board_js_url() -> &'static str {
    url("board", "js")
}

/// The roadmap's script (drag and drop between lanes and in time).
pub(crate) fn roadmap_js_url() -> &'static str {
    url("roadmap", "js")
}

/// The theme script, loaded blocking in `<head>` so the chosen theme applies before the first paint.
pub(crate) fn theme_js_url() -> &'static str {
    url("theme", "js")
}

/// The keyboard shortcuts, the theme switch and the palette's loader, on every page.
pub(crate) fn keys_js_url() -> &'static str {
    url("keys", "js")
}

/// The command palette, loaded by the keys script on its first use.
pub(crate) fn palette_js_url() -> &'static str {
    url("palette", "js")
}

/// Serves an asset by its hashed name; an old hash is a 404, so a stale page never gets a
/// mismatched script.
pub(crate) async fn serve(Path(file): Path<String>) -> Response {
    let path = format!("/assets/{file}");
    let Some(a) = all().iter().find(|a| a.url == path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut res = a.body.as_str().into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
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
        assert!(js_url().ends_with(".js") && js_url().starts_with("/assets/app."));
        let mut urls: Vec<&str> = all().iter().map(|a| a.url.as_str()).collect();
        urls.sort();
        urls.dedup();
        assert_eq!(urls.len(), all().len(), "every asset has its own URL");
        assert!(!urls.contains(&"/assets/missing"));
    }

    #[test]
    fn every_section_gets_a_bundle_with_the_base_and_its_areas() {
        let base = &all()[0].body;
        for (section, areas) in SECTION_AREAS {
            let u = css_url_for(section);
            let b = &all().iter().find(|a| a.url == u).expect("a bundle").body;
            assert!(b.len() > base.len(), "{section}: more than the base");
            for area in *areas {
                assert!(
                    minify::css_areas(APP_CSS).iter().any(|(a, _)| a == area),
                    "{section}: no area {area}"
                );
            }
        }
        assert_eq!(css_url_for("members"), css_url(), "a section without areas gets the base");
        // The base holds the shell's rules and none of an area's.
        assert!(
            base.contains(".sidebar{") && !base.contains(".bd-controls{") && !base.contains(".rm-lanes{")
        );
        let board = &all().iter().find(|a| a.url == css_url_for("board")).expect("board").body;
        assert!(board.contains(".bd-controls{") && !board.contains(".rm-lanes{"));
    }

    #[test]
    fn served_assets_are_minified_and_immutable() {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let res = rt.block_on(serve(Path(css_url().trim_start_matches("/assets/").to_string())));
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
        assert!(all()[0].body.len() < APP_CSS.len() / 2);
        let js = all().iter().find(|a| a.url == js_url()).expect("app.js");
        assert!(!js.body.contains("\n  ") && js.body.len() < include_str!("../../assets/app.js").len());
        let res = rt.block_on(serve(Path("app.00000000.css".to_string())));
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
}
