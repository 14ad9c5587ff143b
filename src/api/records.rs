//! The API's side of the shared record shape
//! (`crate::services::records::shape`): each record type's annotated
//! handlers (its paths and documentation) call these, so reading the request
//! and shaping the response is written once.

use axum::Json;
use axum::http::StatusCode;
use axum::response::Response;
use uuid::Uuid;

use crate::app::App;
use crate::error::AppResult;
use crate::http::extract::ApiJson;
use crate::http::response::{created_response, record_response};
use crate::services::activities::{Activity, CommentInput, TimelineQuery};
use crate::services::idempotency::{Idempotency, IdempotencyKey};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::{self, IfMatch, OnTimeline, Record, Replace};

/// `POST /<records>`: 201 with the record, or the replay of its
/// `Idempotency-Key` (`operation` names the endpoint in the key's hash).
pub async fn create<R: Record>(
    state: &App,
    ctx: &OrgCtx,
    operation: &str,
    key: IdempotencyKey,
    body: ApiJson<R::Input>,
) -> AppResult<Response> {
    let idempotency = Idempotency::new(key, ctx.org_id, ctx.user_id, operation, &body.raw);
    created_response(records::create::<R>(state, ctx, &idempotency, body.data).await?)
}

/// `GET /<records>/{id}`, with its `ETag`.
pub async fn read<R: Record>(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<Response> {
    record_response(StatusCode::OK, &records::read::<R>(state, ctx, id).await?)
}

/// `PATCH /<records>/{id}`.
pub async fn update<R: Record>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    if_match: IfMatch,
    patch: R::Patch,
) -> AppResult<Response> {
    record_response(
        StatusCode::OK,
        &records::update::<R>(state, ctx, id, if_match, patch).await?,
    )
}

/// `POST /{type}/{id}/merge`: the survivor after the merge, with its ETag.
pub async fn merge<R>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    input: crate::services::records::merge::MergeInput,
) -> AppResult<Response>
where
    R: crate::services::records::merge::Mergeable,
    R::Patch: serde::de::DeserializeOwned,
{
    record_response(
        StatusCode::OK,
        &crate::services::records::merge::merge::<R>(state, ctx, id, input).await?,
    )
}

/// `PUT /<records>/{id}`.
pub async fn replace<R: Replace>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    if_match: IfMatch,
    input: R::Input,
) -> AppResult<Response> {
    record_response(
        StatusCode::OK,
        &records::replace::<R>(state, ctx, id, if_match, input).await?,
    )
}

/// `DELETE /<records>/{id}`: 204.
pub async fn delete<R: Record>(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch) -> AppResult<StatusCode> {
    records::delete::<R>(state, ctx, id, if_match).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /<records>/{id}/activities`.
pub async fn timeline<R: OnTimeline>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    query: &TimelineQuery,
) -> AppResult<Json<Page<Activity>>> {
    Ok(Json(records::timeline::<R>(state, ctx, id, query).await?))
}

/// `POST /<records>/{id}/activities`: 201 with the comment.
pub async fn comment<R: OnTimeline>(
    state: &App,
    ctx: &OrgCtx,
    id: Uuid,
    input: CommentInput,
) -> AppResult<(StatusCode, Json<Activity>)> {
    Ok((
        StatusCode::CREATED,
        Json(records::comment::<R>(state, ctx, id, input).await?),
    ))
}

/// The standard endpoints of a record type, declared once per type:
/// `GET` and `POST` on the collection, `GET`, `PATCH` and `DELETE` on an
/// item, with their OpenAPI documentation. A type passes its handler names,
/// their summaries, and the error responses that are its own (its 403, 409
/// and 422 codes); what every record type answers is written here.
///
/// The invoking module imports what the documentation names: `OrgHeader`,
/// `Problem`, `Page`, `Uuid` and the record's types.
macro_rules! record_endpoints {
    (
        record: $record:ident, input: $input:ident, patch: $patch:ident, query: $query:ident,
        list_with: $list_fn:path,
        tag: $tag:tt, collection: $collection:tt, item: $item:tt,
        list: $list:ident [$($list_doc:tt)*],
        create: $create:ident [$($create_doc:tt)*] ($($create_resp:tt),* $(,)?),
        read: $read:ident [$($read_doc:tt)*],
        update: $update:ident [$($update_doc:tt)*] ($($update_resp:tt),* $(,)?),
        delete: $delete:ident [$($delete_doc:tt)*] ($($delete_resp:tt),* $(,)?) $(,)?
    ) => {
        $(#[doc = $list_doc])*
        #[utoipa::path(
            get, path = $collection, tag = $tag,
            params(OrgHeader, $query),
            security(("bearer" = [])),
            responses(
                (status = 200, body = Page<$record>),
                (status = 422, body = Problem, description = "`validation_failed` or `invalid_cursor`"),
            )
        )]
        async fn $list(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::ApiQuery(mut query): $crate::http::extract::ApiQuery<$query>,
            axum::extract::RawQuery(raw): axum::extract::RawQuery,
        ) -> $crate::error::AppResult<axum::Json<Page<$record>>> {
            query.custom = $crate::services::custom_fields::values::params_of(raw.as_deref());
            Ok(axum::Json($list_fn(&state, &ctx, &query).await?))
        }

        $(#[doc = $create_doc])*
        #[utoipa::path(
            post, path = $collection, tag = $tag,
            params(OrgHeader, ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response of a repeated request")),
            request_body = $input,
            security(("bearer" = [])),
            responses((status = 201, body = $record), $($create_resp),*)
        )]
        async fn $create(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            key: $crate::services::idempotency::IdempotencyKey,
            body: $crate::http::extract::ApiJson<$input>,
        ) -> $crate::error::AppResult<axum::response::Response> {
            $crate::api::records::create::<$record>(&state, &ctx, concat!("POST ", $collection), key, body).await
        }

        $(#[doc = $read_doc])*
        #[utoipa::path(
            get, path = $item, tag = $tag,
            params(OrgHeader, ("id" = Uuid, Path)),
            security(("bearer" = [])),
            responses((status = 200, body = $record), (status = 404, body = Problem))
        )]
        async fn $read(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::IdPath(id): $crate::http::extract::IdPath,
        ) -> $crate::error::AppResult<axum::response::Response> {
            $crate::api::records::read::<$record>(&state, &ctx, id).await
        }

        $(#[doc = $update_doc])*
        #[utoipa::path(
            patch, path = $item, tag = $tag,
            params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
            request_body = $patch,
            security(("bearer" = [])),
            responses(
                (status = 200, body = $record),
                (status = 404, body = Problem),
                (status = 412, body = Problem, description = "`version_mismatch`"),
                $($update_resp),*
            )
        )]
        async fn $update(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::IdPath(id): $crate::http::extract::IdPath,
            if_match: $crate::services::records::IfMatch,
            $crate::http::extract::ApiJson { data: patch, .. }: $crate::http::extract::ApiJson<$patch>,
        ) -> $crate::error::AppResult<axum::response::Response> {
            $crate::api::records::update::<$record>(&state, &ctx, id, if_match, patch).await
        }

        $(#[doc = $delete_doc])*
        #[utoipa::path(
            delete, path = $item, tag = $tag,
            params(OrgHeader, ("id" = Uuid, Path), ("If-Match" = Option<String>, Header, description = "\"<version>\" last read")),
            security(("bearer" = [])),
            responses(
                (status = 204, description = "Deleted"),
                (status = 403, body = Problem, description = "`forbidden`"),
                (status = 404, body = Problem),
                (status = 412, body = Problem, description = "`version_mismatch`"),
                $($delete_resp),*
            )
        )]
        async fn $delete(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::IdPath(id): $crate::http::extract::IdPath,
            if_match: $crate::services::records::IfMatch,
        ) -> $crate::error::AppResult<axum::http::StatusCode> {
            $crate::api::records::delete::<$record>(&state, &ctx, id, if_match).await
        }
    };
}
pub(crate) use record_endpoints;

/// A record type's timeline endpoints: `GET` (newest first) and `POST` (a
/// comment, by anyone who may read the record) on `<item>/activities`.
macro_rules! timeline_endpoints {
    (
        record: $record:ident, tag: $tag:tt, path: $path:tt,
        timeline: $timeline:ident [$($timeline_doc:tt)*],
        comment: $comment:ident [$($comment_doc:tt)*] $(,)?
    ) => {
        $(#[doc = $timeline_doc])*
        #[utoipa::path(
            get, path = $path, tag = $tag,
            params(OrgHeader, ("id" = Uuid, Path), TimelineQuery),
            security(("bearer" = [])),
            responses((status = 200, body = Page<Activity>), (status = 404, body = Problem))
        )]
        async fn $timeline(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::IdPath(id): $crate::http::extract::IdPath,
            $crate::http::extract::ApiQuery(query): $crate::http::extract::ApiQuery<TimelineQuery>,
        ) -> $crate::error::AppResult<axum::Json<Page<Activity>>> {
            $crate::api::records::timeline::<$record>(&state, &ctx, id, &query).await
        }

        $(#[doc = $comment_doc])*
        #[utoipa::path(
            post, path = $path, tag = $tag,
            params(OrgHeader, ("id" = Uuid, Path)),
            request_body = CommentInput,
            security(("bearer" = [])),
            responses((status = 201, body = Activity), (status = 404, body = Problem), (status = 422, body = Problem))
        )]
        async fn $comment(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::IdPath(id): $crate::http::extract::IdPath,
            $crate::http::extract::ApiJson { data: input, .. }: $crate::http::extract::ApiJson<CommentInput>,
        ) -> $crate::error::AppResult<(axum::http::StatusCode, axum::Json<Activity>)> {
            $crate::api::records::comment::<$record>(&state, &ctx, id, input).await
        }
    };
}
pub(crate) use timeline_endpoints;

/// `POST <collection>/bulk`: a bulk action on the type's records
/// (`crate::services::records::bulk`).
macro_rules! bulk_endpoint {
    ($name:ident: $record:ty, tag: $tag:literal, path: $path:literal) => {
        /// A bulk action on up to 10,000 records named by `ids` or by a list
        /// `query`: `add_tags` / `remove_tags` (`tags`), `assign_owner`
        /// (`owner_id`) or `delete`, in one transaction. Each record is
        /// checked as its single change would be: one the caller may not
        /// change, or whose change a rule refuses, is counted in `forbidden`
        /// (the first 100 listed with their reason) and the others proceed.
        /// One audit entry `<type>.bulk_<action>`.
        #[utoipa::path(
            post, path = $path, tag = $tag,
            params(OrgHeader),
            request_body = $crate::services::records::bulk::BulkInput,
            security(("bearer" = [])),
            responses(
                (status = 200, body = $crate::services::records::bulk::BulkResult),
                (status = 422, body = Problem, description = "`validation_failed`, `too_many_records`, `owner_not_member`"),
            )
        )]
        async fn $name(
            ctx: $crate::services::orgs::OrgCtx,
            axum::extract::State(state): axum::extract::State<$crate::app::App>,
            $crate::http::extract::ApiJson { data: input, .. }: $crate::http::extract::ApiJson<
                $crate::services::records::bulk::BulkInput,
            >,
        ) -> $crate::error::AppResult<axum::Json<$crate::services::records::bulk::BulkResult>> {
            Ok(axum::Json(
                $crate::services::records::bulk::run::<$record>(&state, &ctx, input).await?,
            ))
        }
    };
}
pub(crate) use bulk_endpoint;
