//! JSON API: importing files into a product (the web's Settings → Import page and `keel import`
//! do the same).

use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::extract::{ApiUser, Json as JsonIn};
use crate::AppState;
use axum::extract::{DefaultBodyLimit, State};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use keel_api::imports::{ImportIn, ImportProblemOut, ImportReportOut};
use keel_api::Problem;
use keel_app::import::{ImportReport, ImportSource, Upload, UPLOAD_MAX};
use keel_domain::import::Severity;
use utoipa::OpenApi;

/// Largest request body of an upload: the files' limit in base64, and room for the rest.
pub const UPLOAD_BODY_MAX: usize = UPLOAD_MAX / 3 * 4 + 1024 * 1024;

/// The routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/products/{product}/import", post(import))
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_MAX))
}

/// The OpenAPI paths of this module, merged into the API's document.
#[derive(OpenApi)]
#[openapi(
    paths(import),
    components(schemas(ImportIn, keel_api::imports::ImportFileIn, ImportReportOut, ImportProblemOut)),
    tags((name = "import", description = "Moving in: Jira (CSV and REST JSON), Linear and any CSV"))
)]
pub struct Doc;

/// The wire form of a report.
pub fn report_out(r: ImportReport) -> ImportReportOut {
    ImportReportOut {
        written: r.written,
        items_read: r.items_read,
        items_created: r.items_created,
        items_skipped: r.items_skipped,
        items_left_out: r.items_left_out,
        events: r.events,
        sprints_created: r.sprints_created,
        releases_created: r.releases_created,
        comments_created: r.comments_created,
        comments_skipped: r.comments_skipped,
        links_created: r.links_created,
        links_skipped: r.links_skipped,
        unmapped_statuses: r.unmapped_statuses,
        unmapped_kinds: r.unmapped_kinds,
        unknown_users: r.unknown_users,
        problems: r
            .problems
            .into_iter()
            .map(|p| ImportProblemOut {
                severity: match p.severity {
                    Severity::Warning => "warning".into(),
                    Severity::Error => "error".into(),
                },
                file: p.file,
                line: p.line,
                field: p.field,
                message: p.message,
            })
            .collect(),
    }
}

/// Imports files into the product, or with `dry_run` reports what it would do. Those who may
/// create epics and items, edit items and manage sprints (the rights `keel import` uses) only.
/// A re-run skips the items, comments and links already imported. With `strict`, any problem and
/// nothing is written (`written` is false and the report lists the problems).
#[utoipa::path(post, path = "/api/v1/products/{product}/import", tag = "import",
    params(("product" = String, Path, description = "Product key")), request_body = ImportIn,
    responses((status = 200, body = ImportReportOut), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn import(
    State(s): State<AppState>,
    u: ApiUser,
    Path(key): Path<String>,
    JsonIn(b): JsonIn<ImportIn>,
) -> ApiResult<Json<ImportReportOut>> {
    s.app.may_import(&u.user, &key).await?;
    let format = ImportSource::parse("format", &b.format)?;
    let mut files = Vec::with_capacity(b.files.len());
    for (i, f) in b.files.into_iter().enumerate() {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(f.content_base64.trim()).map_err(|e| {
                ApiError::invalid(&format!("files[{i}].content_base64"), format!("is not base64: {e}"))
            })?;
        let name = f.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid(&format!("files[{i}].name"), "must have 1 to 200 characters"));
        }
        files.push((name.to_string(), bytes));
    }
    let up = Upload {
        format,
        files,
        mapping: b.mapping.unwrap_or_default(),
        columns: b.columns.unwrap_or_default(),
        dry_run: b.dry_run.unwrap_or(false),
        strict: b.strict.unwrap_or(false),
    };
    let rep = s.app.import_upload(&u.user, &key, &up).await?;
    Ok(Json(report_out(rep)))
}
