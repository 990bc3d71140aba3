//! Page: Settings → Import. One uploads files (a `multipart/form-data` form, no JavaScript),
//! picks the format, sees the dry run's report, and confirms. The confirmation form carries the
//! files back (base64 in hidden fields), so nothing is kept on the server between the two steps.
//! The same rights as `keel import` (`App::may_import`).

use super::{finish, message, render, render_status, Layout, UiError, UiResult};
use crate::api::imports::{report_out, UPLOAD_BODY_MAX};
use crate::extract::UiSession;
use crate::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::Engine as _;
use keel_api::imports::ImportReportOut;
use keel_app::import::{ImportSource, Upload, UPLOAD_MAX};
use keel_app::AppError;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/products/{key}/settings/import", get(page).post(submit))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_MAX))
}

/// One uploaded file carried to the confirmation.
struct Carried {
    name: String,
    data: String,
}

#[derive(Template)]
#[template(path = "import.html")]
struct Page {
    l: Layout,
    key: String,
    format: String,
    mapping: String,
    columns: String,
    strict: bool,
    error: Option<String>,
    /// The report: of the dry run (with the confirmation form) or of the import.
    report: Option<ImportReportOut>,
    /// Files carried to the confirmation form.
    files: Vec<Carried>,
}

impl Page {
    fn problem_lines(&self) -> Vec<String> {
        let Some(r) = &self.report else { return vec![] };
        r.problems
            .iter()
            .take(500)
            .map(|p| {
                let mut s = format!("{}: {}", p.severity, p.file);
                if p.line > 0 {
                    s.push_str(&format!(" line {}", p.line));
                }
                if !p.field.is_empty() {
                    s.push_str(&format!(" field \"{}\"", p.field));
                }
                s.push_str(&format!(": {}", p.message));
                s
            })
            .collect()
    }
}

async fn layout(st: &AppState, s: &UiSession, a: &keel_app::ProductAccess) -> Layout {
    Layout::new(st, s, "Import", "settings", Some(&a.product))
        .await
        .crumb(format!("/products/{}/settings", a.product.key), "Settings")
}

/// GET /products/{key}/settings/import
async fn page(State(st): State<AppState>, s: UiSession, Path(key): Path<String>) -> Response {
    let r = async {
        let a = st.app.may_import(&s.user, &key).await?;
        let l = layout(&st, &s, &a).await;
        render(&Page {
            l,
            key: a.product.key.to_string(),
            format: "jira".into(),
            mapping: String::new(),
            columns: String::new(),
            strict: false,
            error: None,
            report: None,
            files: vec![],
        })
    }
    .await;
    finish(&st, &s, r).await
}

/// POST /products/{key}/settings/import: `step=check` (a dry run of the uploaded files) or
/// `step=import` (the files carried by the confirmation form).
async fn submit(
    State(st): State<AppState>,
    s: UiSession,
    Path(key): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let r: UiResult = async {
        let Ok(body) = axum::body::to_bytes(body, UPLOAD_BODY_MAX).await else {
            // Too large (or cut off): the page again, saying so.
            let a = st.app.may_import(&s.user, &key).await?;
            let page = Page {
                l: layout(&st, &s, &a).await,
                key: a.product.key.to_string(),
                format: "jira".into(),
                mapping: String::new(),
                columns: String::new(),
                strict: false,
                error: Some(format!(
                    "The upload is too large: at most {} MB in all are read here. Split the export, or use `keel import` on the server.",
                    UPLOAD_MAX >> 20
                )),
                report: None,
                files: vec![],
            };
            return render_status(StatusCode::PAYLOAD_TOO_LARGE, &page);
        };
        let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let parts = parse_multipart(ct, &body).map_err(|m| AppError::invalid("files", m))?;
        let text = |n: &str| {
            parts
                .iter()
                .find(|p| p.name == n && p.filename.is_none())
                .map(|p| String::from_utf8_lossy(&p.data).into_owned())
                .unwrap_or_default()
        };
        s.check_csrf(&text("csrf"))?;
        let a = st.app.may_import(&s.user, &key).await?;
        let format = text("format");
        let mapping = text("mapping");
        let columns = text("columns");
        let strict = text("strict") == "on";
        let confirm = text("step") == "import";
        let mut page = Page {
            l: layout(&st, &s, &a).await,
            key: a.product.key.to_string(),
            format: format.clone(),
            mapping: mapping.clone(),
            columns: columns.clone(),
            strict,
            error: None,
            report: None,
            files: vec![],
        };
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        if confirm {
            let names: Vec<String> = parts
                .iter()
                .filter(|p| p.name == "carried_name")
                .map(|p| String::from_utf8_lossy(&p.data).into_owned())
                .collect();
            let datas = parts.iter().filter(|p| p.name == "carried_data");
            for (name, d) in names.into_iter().zip(datas) {
                match base64::engine::general_purpose::STANDARD.decode(&d.data) {
                    Ok(bytes) => files.push((name, bytes)),
                    Err(_) => {
                        page.error = Some("The confirmation lost its files; upload them again.".into());
                        return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
                    }
                }
            }
        } else {
            for p in parts
                .iter()
                .filter(|p| p.name == "files" && p.filename.as_deref().is_some_and(|f| !f.is_empty()))
            {
                files.push((p.filename.clone().unwrap_or_default(), p.data.clone()));
            }
        }
        let fmt = match ImportSource::parse("format", &format) {
            Ok(f) => f,
            Err(e) => {
                page.error = Some(message(&e));
                return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
            }
        };
        let up = Upload { format: fmt, files, mapping, columns, dry_run: !confirm, strict };
        match st.app.import_upload(&s.user, &key, &up).await {
            Ok(rep) => {
                if !confirm {
                    page.files = up
                        .files
                        .iter()
                        .map(|(n, b)| Carried {
                            name: n.clone(),
                            data: base64::engine::general_purpose::STANDARD.encode(b),
                        })
                        .collect();
                }
                page.report = Some(report_out(rep));
                render(&page)
            }
            Err(e @ (AppError::Internal(_) | AppError::NotFound | AppError::Forbidden { .. })) => {
                Err(UiError::App(e))
            }
            Err(e) => {
                page.error = Some(message(&e));
                render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
            }
        }
    }
    .await;
    finish(&st, &s, r).await
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    /// The form field's name.
    pub name: String,
    /// The file's name, for file fields.
    pub filename: Option<String>,
    /// The content.
    pub data: Vec<u8>,
}

/// Splits a `multipart/form-data` body (RFC 7578) into its parts; a message when it is not one.
pub(crate) fn parse_multipart(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let mut ct = content_type.split(';');
    if !ct.next().unwrap_or("").trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err("send the form as multipart/form-data".into());
    }
    let boundary = ct
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or("the form has no multipart boundary")?;
    let delim = format!("--{boundary}").into_bytes();
    let find = |hay: &[u8], from: usize, needle: &[u8]| -> Option<usize> {
        hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
    };
    let mut parts = Vec::new();
    let mut pos = find(body, 0, &delim).ok_or("the form body has no parts")? + delim.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(parts);
        }
        // Past the boundary's line end.
        pos = find(body, pos, b"\r\n").ok_or("a form part is cut off")? + 2;
        let head_end = find(body, pos, b"\r\n\r\n").ok_or("a form part has no end of headers")?;
        let head = String::from_utf8_lossy(&body[pos..head_end]).into_owned();
        let data_start = head_end + 4;
        let mut end_delim = b"\r\n".to_vec();
        end_delim.extend_from_slice(&delim);
        let data_end =
            find(body, data_start, &end_delim).ok_or("the form body ends before its last boundary")?;
        let mut name = None;
        let mut filename = None;
        for line in head.split("\r\n") {
            let Some((h, v)) = line.split_once(':') else { continue };
            if !h.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            for param in v.split(';').skip(1) {
                let Some((k, val)) = param.trim().split_once('=') else { continue };
                let val = val.trim().trim_matches('"').to_string();
                match k.trim().to_ascii_lowercase().as_str() {
                    "name" => name = Some(val),
                    "filename" => {
                        // Browsers send the base name; anything before a slash is dropped.
                        filename = Some(val.rsplit(['/', '\\']).next().unwrap_or("").to_string())
                    }
                    _ => {}
                }
            }
        }
        parts.push(Part {
            name: name.ok_or("a form part has no name")?,
            filename,
            data: body[data_start..data_end].to_vec(),
        });
        pos = data_end + end_delim.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"files\"; filename=\"C:\\\\dl\\\\a.csv\"\r\nContent-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n\r\n--XyZ--\r\n";
        let p = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].data.as_slice()), ("csrf", &b"abc"[..]));
        assert_eq!(p[1].filename.as_deref(), Some("a.csv"));
        assert_eq!(p[1].data, b"x,y\r\n1,2\r\n");
        for (ct, b) in [
            ("application/x-www-form-urlencoded", &body[..]),
            ("multipart/form-data", &body[..]),
            ("multipart/form-data; boundary=XyZ", &body[..40]),
            ("multipart/form-data; boundary=XyZ", b"nothing"),
            (
                "multipart/form-data; boundary=XyZ",
                b"--XyZ\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XyZ--",
            ),
        ] {
            assert!(parse_multipart(ct, b).is_err(), "{ct}");
        }
        // Never a panic on any cut.
        for n in 0..body.len() {
            let _ = parse_multipart("multipart/form-data; boundary=XyZ", &body[..n]);
        }
    }
}
