//! Page weight and server time of the web UI: signs in, fetches every main page of a product
//! (the same list as the accessibility test walks) and reports, per page, the HTML bytes, the CSS
//! and JS it references (each asset counted once per page, uncompressed), and the time to the
//! full body over loopback: the 50th and 99th percentiles and the maximum of N fetches after one
//! warm-up.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::time::Instant;

pub struct PagesOptions {
    pub url: String,
    pub email: String,
    pub password: String,
    pub product: String,
    pub runs: usize,
    pub json: bool,
}

/// Pages with a fixed path; `{p}` is the product's key.
const FIXED: &[(&str, &str)] = &[
    ("products", "/"),
    ("portfolio", "/portfolio"),
    ("inbox", "/inbox"),
    ("home", "/products/{p}"),
    ("vision", "/products/{p}/vision"),
    ("vision card", "/products/{p}/vision/card"),
    ("goals", "/products/{p}/goals"),
    ("kpis", "/products/{p}/kpis"),
    ("roadmap", "/products/{p}/roadmap"),
    ("timeline", "/products/{p}/roadmap/timeline"),
    ("alignment", "/products/{p}/alignment"),
    ("opportunities", "/products/{p}/opportunities"),
    ("feedback", "/products/{p}/feedback"),
    ("competitors", "/products/{p}/competitors"),
    ("stakeholders", "/products/{p}/stakeholders"),
    ("stakeholder updates", "/products/{p}/stakeholder-updates"),
    ("backlog", "/products/{p}/backlog"),
    ("refinement", "/products/{p}/refinement"),
    ("sprints", "/products/{p}/sprints"),
    ("board", "/products/{p}/board"),
    ("stand-up", "/products/{p}/standup"),
    ("releases", "/products/{p}/releases"),
    ("reports", "/products/{p}/reports"),
    ("forecast", "/products/{p}/forecast"),
    ("decisions", "/products/{p}/decisions"),
    ("proposals", "/products/{p}/proposals"),
    ("members", "/products/{p}/members"),
    ("settings", "/products/{p}/settings"),
];

/// Pages of one object: (name, list page, path prefix, what follows the number).
const LINKED: &[(&str, &str, &str, &str)] = &[
    ("item", "/products/{p}/backlog", "/items/", ""),
    ("sprint", "/products/{p}/sprints", "/sprints/", ""),
    ("sprint plan", "/products/{p}/sprints", "/sprints/", "/plan"),
    ("goal", "/products/{p}/goals", "/goals/", ""),
    ("kpi", "/products/{p}/kpis", "/kpis/", ""),
    ("release", "/products/{p}/releases", "/releases/", ""),
];

/// Every `attr="…"` value in `html`.
fn attrs<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!("{attr}=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&pat) {
        rest = &rest[i + pat.len()..];
        if let Some(j) = rest.find('"') {
            out.push(&rest[..j]);
            rest = &rest[j..];
        }
    }
    out
}

/// The first link to `prefix` + an id (a number, or a key like SHOP-12) + `suffix`.
fn first_link(html: &str, prefix: &str, suffix: &str) -> Option<String> {
    attrs(html, "href").into_iter().find_map(|h| {
        let id = h.strip_prefix(prefix)?.strip_suffix(suffix)?;
        let ok = !id.is_empty()
            && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && id.chars().last().is_some_and(|c| c.is_ascii_digit());
        ok.then(|| h.to_string())
    })
}

/// The stylesheets and scripts a page references.
fn assets(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tag in html.split('<').skip(1) {
        let t = tag.split('>').next().unwrap_or("");
        if t.starts_with("link") && t.contains("stylesheet") {
            out.extend(attrs(t, "href").into_iter().map(String::from));
        } else if t.starts_with("script") {
            out.extend(attrs(t, "src").into_iter().map(String::from));
        }
    }
    out
}

struct Row {
    name: String,
    path: String,
    html: usize,
    css: usize,
    js: usize,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// The `p`-th percentile (0–100) of sorted `v`, by nearest rank.
fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub async fn pages(o: PagesOptions) -> Result<()> {
    let base = o.url.trim_end_matches('/').to_string();
    let http = reqwest::Client::builder().cookie_store(true).build()?;
    let r = http
        .post(format!("{base}/signin"))
        .form(&[("email", o.email.as_str()), ("password", o.password.as_str()), ("next", "/")])
        .send()
        .await
        .context("while signing in")?;
    if r.url().path().starts_with("/signin") {
        bail!("sign-in refused for {}", o.email);
    }
    let get = |path: String| {
        let http = http.clone();
        let url = format!("{base}{path}");
        async move {
            let r = http.get(&url).send().await.with_context(|| format!("GET {url}"))?;
            if !r.status().is_success() {
                bail!("GET {url}: {}", r.status());
            }
            Ok::<String, anyhow::Error>(r.text().await?)
        }
    };
    let mut pages: Vec<(String, String)> =
        FIXED.iter().map(|(n, p)| (n.to_string(), p.replace("{p}", &o.product))).collect();
    for (name, list, prefix, suffix) in LINKED {
        let html = get(list.replace("{p}", &o.product)).await?;
        if let Some(path) = first_link(&html, prefix, suffix) {
            pages.push((name.to_string(), path));
        }
    }
    if let Some((_, sprint)) = pages.iter().find(|(n, _)| n == "sprint").cloned() {
        pages.push(("sprint review".into(), format!("{sprint}/review")));
    }

    let mut sizes: HashMap<String, usize> = HashMap::new();
    let mut rows = Vec::new();
    for (name, path) in pages {
        let html = get(path.clone()).await?;
        let (mut css, mut js) = (0, 0);
        for a in assets(&html) {
            if !sizes.contains_key(&a) {
                let n = get(a.clone()).await?.len();
                sizes.insert(a.clone(), n);
            }
            let n = sizes[&a];
            if a.ends_with(".css") || a.contains(".css?") {
                css += n;
            } else {
                js += n;
            }
        }
        let mut times = Vec::with_capacity(o.runs);
        for _ in 0..o.runs {
            let t = Instant::now();
            get(path.clone()).await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let (p50_ms, p99_ms) = (percentile(&times, 50.0), percentile(&times, 99.0));
        let max_ms = times.last().copied().unwrap_or(0.0);
        rows.push(Row { name, path, html: html.len(), css, js, p50_ms, p99_ms, max_ms });
    }

    if o.json {
        let v: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({"page": r.name, "path": r.path, "html_bytes": r.html, "css_bytes": r.css,
                    "js_bytes": r.js, "total_bytes": r.html + r.css + r.js, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms, "max_ms": r.max_ms})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    println!("| Page | HTML KB | CSS KB | JS KB | Total KB | p50 ms | p99 ms | Max ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let kb = |n: usize| n as f64 / 1024.0;
    for r in &rows {
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            r.name,
            kb(r.html),
            kb(r.css),
            kb(r.js),
            kb(r.html + r.css + r.js),
            r.p50_ms,
            r.p99_ms,
            r.max_ms
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_links_and_assets() {
        let html = r#"<link rel="stylesheet" href="/assets/app.css?v=1"><script src="/assets/app.js" defer></script>
            <a href="/items/SHOP-1/edit">e</a><a href="/items/SHOP-12">x</a><a href="/sprints/4/plan">p</a>"#;
        assert_eq!(assets(html), vec!["/assets/app.css?v=1", "/assets/app.js"]);
        assert_eq!(first_link(html, "/items/", "").as_deref(), Some("/items/SHOP-12"));
        assert_eq!(first_link(html, "/sprints/", "/plan").as_deref(), Some("/sprints/4/plan"));
        assert_eq!(first_link(html, "/sprints/", ""), None);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v[..10], 99.0), 10.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}
