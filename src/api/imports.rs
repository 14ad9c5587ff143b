//! `/imports` and `/import-conflicts`: HTTP handlers of
//! `crate::services::imports`. The upload is read here: a multipart form
//! whose `file` is spooled to disk as it arrives (constant memory, up to
//! 100 MB), then handed to the service.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncWriteExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::error::{AppError, AppResult};
use crate::http::error::Problem;
use crate::http::extract::{ApiJson, ApiQuery, IdPath, OrgHeader};
use crate::services::imports::conflicts::{self, BulkResolveInput, Conflict, ConflictQuery, ResolveInput, Resolved};
use crate::services::imports::file::Spooled;
use crate::services::imports::{self, DryRun, Import, ImportQuery, MAX_FILE_BYTES, Started, Upload};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;

/// An upload's own body limit: the file and the form around it.
pub const UPLOAD_LIMIT: usize = MAX_FILE_BYTES as usize + 1024 * 1024;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(create_import, list_imports))
        .layer(axum::extract::DefaultBodyLimit::max(UPLOAD_LIMIT))
        .routes(routes!(get_import))
        .routes(routes!(list_conflicts))
        .routes(routes!(resolve_conflict))
        .routes(routes!(resolve_conflicts))
}

/// The multipart form of an import, as the API documents it. Other fields
/// are refused (422 naming them).
#[derive(utoipa::ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ImportForm {
    /// The CSV file (UTF-8 with or without BOM, or Windows-1252; comma,
    /// semicolon or tab), up to 100 MB and 1,000,000 rows.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
    /// What the rows are.
    object: crate::services::imports::mapping::Object,
    /// JSON object from a header (as written in the file) to a field name,
    /// or to null to drop the column.
    mapping: Option<String>,
    /// What to do with a stored value a row would change (default `queue`).
    on_conflict: Option<crate::services::imports::OnConflict>,
    /// `true`: check every row and answer the mapping, a preview and the
    /// errors; nothing is written.
    dry_run: Option<bool>,
}

/// Uploads at once over the server: each holds a connection and a spooled
/// file for as long as its client sends.
static UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Import a CSV file (managers and above).
///
/// Answers 202 with the queued import (follow it with `GET
/// /imports/{id}`), or 200 with the dry run's findings when `dry_run` is
/// true.
#[utoipa::path(
    post, path = "/imports", tag = "imports",
    params(OrgHeader),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    security(("bearer" = [])),
    responses(
        (status = 200, body = DryRun, description = "The dry run's mapping, preview and row errors"),
        (status = 202, body = Import, description = "Queued"),
        (status = 400, body = Problem, description = "`malformed_multipart`"),
        (status = 403, body = Problem, description = "`forbidden`: below manager"),
        (status = 408, body = Problem, description = "`request_timeout`: the upload stalled"),
        (status = 413, body = Problem, description = "`payload_too_large`: over 100 MB"),
        (status = 422, body = Problem, description = "`validation_failed`: `file` (missing, empty, not text, no rows, over 1,000,000 rows), `object`, `mapping`, `on_conflict`, `dry_run`"),
        (status = 503, body = Problem, description = "`busy`: too many uploads at once"),
    )
)]
async fn create_import(ctx: OrgCtx, State(state): State<App>, request: Request) -> AppResult<Response> {
    let Ok(_slot) = UPLOADS.try_acquire() else {
        let mut busy = AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many uploads at once; try again in a moment",
        );
        busy.retry_after = Some(5);
        return Err(busy);
    };
    let upload = read_upload(&state, request, None).await?;
    match imports::start(&state, &ctx, upload).await? {
        Started::DryRun(dry) => Ok(Json(dry).into_response()),
        Started::Queued(import) => Ok((StatusCode::ACCEPTED, Json(import)).into_response()),
    }
}

/// Reads the form: `file` spooled to disk, the other fields as text (64
/// KiB each at most). A body that is not multipart has no fields (the
/// service then names `file` as missing). With `csrf` (the web app's form),
/// the first field must be `_csrf` holding it, or nothing more is read
/// (403).
pub async fn read_upload(state: &App, request: Request, csrf: Option<&str>) -> AppResult<Upload> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"));
    let mut upload = Upload::default();
    let expired = || AppError::forbidden("This form has expired. Go back, reload the page and try again.");
    if !multipart {
        return match csrf {
            Some(_) => Err(expired()),
            None => Ok(upload),
        };
    }
    let mut form = Multipart::from_request(request, state)
        .await
        .map_err(|_| AppError::bad_request("malformed_multipart", "the multipart form could not be read"))?;
    let stall = state.config.request_timeout;
    let mut first = true;
    while let Some(mut field) = next(stall, form.next_field()).await? {
        let name = field.name().unwrap_or_default().to_string();
        if let Some(expected) = csrf.filter(|_| std::mem::take(&mut first)) {
            let sent = if name == "_csrf" {
                next(stall, field.chunk()).await?.unwrap_or_default()
            } else {
                Default::default()
            };
            if !crate::web::constant_time_eq(&sent, expected.as_bytes()) {
                return Err(expired());
            }
            continue;
        }
        if name == "file" {
            let file_name = field.file_name().map(|n| n.chars().take(255).collect());
            let spooled = tempfile::tempfile().map_err(AppError::internal)?;
            let mut out = tokio::fs::File::from_std(spooled.try_clone().map_err(AppError::internal)?);
            let mut size: u64 = 0;
            while let Some(chunk) = next(stall, field.chunk()).await? {
                size += chunk.len() as u64;
                if size > MAX_FILE_BYTES {
                    return Err(AppError::payload_too_large());
                }
                out.write_all(&chunk).await.map_err(AppError::internal)?;
            }
            out.flush().await.map_err(AppError::internal)?;
            upload.file = Some(Spooled {
                file: spooled,
                size,
                name: file_name,
            });
            continue;
        }
        let mut text = Vec::new();
        while let Some(chunk) = next(stall, field.chunk()).await? {
            text.extend_from_slice(&chunk);
            if text.len() > 64 * 1024 {
                return Err(AppError::field(name, "is longer than 64 KiB"));
            }
        }
        let text = String::from_utf8(text).map_err(|_| AppError::field(name.clone(), "must be UTF-8 text"))?;
        match name.as_str() {
            "object" => upload.object = Some(text),
            "mapping" => upload.mapping = Some(text),
            "on_conflict" => upload.on_conflict = Some(text),
            "dry_run" => upload.dry_run = Some(text),
            _ => return Err(AppError::field(name, "is not a field of an import")),
        }
    }
    Ok(upload)
}

/// The next part of the form, within `stall` of the previous one.
async fn next<T>(
    stall: std::time::Duration,
    part: impl Future<Output = Result<Option<T>, axum::extract::multipart::MultipartError>>,
) -> AppResult<Option<T>> {
    match tokio::time::timeout(stall, part).await {
        Err(_) => Err(AppError::request_timeout(stall)),
        Ok(Ok(part)) => Ok(part),
        Ok(Err(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(AppError::payload_too_large()),
        Ok(Err(_)) => Err(AppError::bad_request(
            "malformed_multipart",
            "the multipart form could not be read",
        )),
    }
}

/// List the organization's imports, newest first (managers and above).
#[utoipa::path(
    get, path = "/imports", tag = "imports",
    params(OrgHeader, ImportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Import>),
        (status = 403, body = Problem, description = "`forbidden`: below manager"),
        (status = 422, body = Problem, description = "`validation_failed` (`limit`) or `invalid_cursor`"),
    )
)]
async fn list_imports(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<ImportQuery>,
) -> AppResult<Json<Page<Import>>> {
    Ok(Json(imports::list(&state, &ctx, &query).await?))
}

/// An import and its progress (managers and above).
#[utoipa::path(
    get, path = "/imports/{id}", tag = "imports",
    params(OrgHeader, ("id" = Uuid, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Import),
        (status = 403, body = Problem, description = "`forbidden`: below manager"),
        (status = 404, body = Problem, description = "No such import in this organization"),
    )
)]
async fn get_import(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<Json<Import>> {
    Ok(Json(imports::get(&state, &ctx, id).await?))
}

/// The review queue: fields an import would have changed on matched
/// records, in the order they were imported (managers and above).
#[utoipa::path(
    get, path = "/import-conflicts", tag = "imports",
    params(OrgHeader, ConflictQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Page<Conflict>),
        (status = 403, body = Problem, description = "`forbidden`: below manager"),
        (status = 422, body = Problem, description = "`validation_failed` (`import_id`, `status`, `limit`) or `invalid_cursor`"),
    )
)]
async fn list_conflicts(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiQuery(query): ApiQuery<ConflictQuery>,
) -> AppResult<Json<Page<Conflict>>> {
    Ok(Json(conflicts::list(&state, &ctx, &query).await?))
}

/// Resolve a conflict: keep the stored value, or take the incoming one
/// (the record's version bumps and a `system` activity says what changed).
#[utoipa::path(
    post, path = "/import-conflicts/{id}/resolve", tag = "imports",
    params(OrgHeader, ("id" = Uuid, Path)),
    request_body = ResolveInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Conflict),
        (status = 400, body = Problem, description = "`malformed_json`"),
        (status = 403, body = Problem, description = "`forbidden`: below manager"),
        (status = 404, body = Problem, description = "No such conflict in this organization"),
        (status = 409, body = Problem, description = "`conflict_already_resolved`, or `conflict_stale`: the record changed since the import"),
        (status = 413, body = Problem, description = "`payload_too_large`"),
        (status = 422, body = Problem, description = "`validation_failed` (`choice`), or the record's own rules refusing the incoming value"),
    )
)]
async fn resolve_conflict(
    ctx: OrgCtx,
    State(state): State<App>,
    IdPath(id): IdPath,
    input: ApiJson<ResolveInput>,
) -> AppResult<Json<Conflict>> {
    Ok(Json(conflicts::resolve_one(&state, &ctx, id, input.data.choice).await?))
}

/// Resolve several conflicts the same way, all or none.
#[utoipa::path(
    post, path = "/import-conflicts/resolve", tag = "imports",
    params(OrgHeader),
    request_body = BulkResolveInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Resolved),
        (status = 400, body = Problem, description = "`malformed_json`"),
        (status = 403, body = Problem, description = "`forbidden`: below manager"),
        (status = 404, body = Problem, description = "Some ids are no conflicts of this organization (`ids` names them)"),
        (status = 409, body = Problem, description = "`conflict_already_resolved` or `conflict_stale` (`ids` names them)"),
        (status = 413, body = Problem, description = "`payload_too_large`"),
        (status = 422, body = Problem, description = "`validation_failed` (`ids`, `choice`), or a record's own rules refusing an incoming value"),
    )
)]
async fn resolve_conflicts(
    ctx: OrgCtx,
    State(state): State<App>,
    input: ApiJson<BulkResolveInput>,
) -> AppResult<Json<Resolved>> {
    let resolved = conflicts::resolve(&state, &ctx, &input.data.ids, input.data.choice).await?;
    Ok(Json(Resolved {
        resolved: resolved.len(),
    }))
}
