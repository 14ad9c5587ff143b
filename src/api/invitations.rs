//! HTTP handlers of `crate::services::orgs::invitations`.

use crate::app::App;
use crate::error::AppResult;
use crate::http::error::Problem;
use crate::http::extract::OrgHeader;
use crate::http::extract::{ApiJson, IdPath, TextPath};
use crate::services::auth::ClientIp;
use crate::services::auth::session::{self, TokenResponse};
use crate::services::orgs::OrgCtx;
use crate::services::orgs::invitations::*;
use crate::services::pagination::Page;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(read_invitation, revoke_invitation))
        .routes(routes!(accept_invitation))
}

/// Invite someone by email (admins invite managers and members, owners any role).
/// A new invitation to the same email replaces a pending one.
#[utoipa::path(
    post, path = "/invitations", tag = "invitations",
    params(OrgHeader),
    request_body = CreateInvitation,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedInvitation),
        (status = 403, body = Problem, description = "`forbidden`: below admin, or an admin inviting an admin or owner"),
        (status = 409, body = Problem, description = "`already_member`"),
        (status = 422, body = Problem, description = "`validation_failed`"),
    )
)]
async fn create_invitation(
    ctx: OrgCtx,
    State(state): State<App>,
    ApiJson { data: input, .. }: ApiJson<CreateInvitation>,
) -> AppResult<(StatusCode, Json<CreatedInvitation>)> {
    Ok((StatusCode::CREATED, Json(create(&state, &ctx, input).await?)))
}

/// Pending invitations (admin and owner).
#[utoipa::path(
    get, path = "/invitations", tag = "invitations",
    params(OrgHeader),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Invitation>), (status = 403, body = Problem, description = "`forbidden`"))
)]
async fn list_invitations(ctx: OrgCtx, State(state): State<App>) -> AppResult<Json<Page<Invitation>>> {
    Ok(Json(Page::all(pending(&state, &ctx).await?)))
}

/// Revoke a pending invitation.
#[utoipa::path(
    delete, path = "/invitations/{id}", tag = "invitations",
    params(OrgHeader, ("id" = Uuid, Path, description = "The invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, body = Problem, description = "`forbidden`"),
        (status = 404, body = Problem, description = "`not_found`: no pending invitation with this id"),
    )
)]
async fn revoke_invitation(ctx: OrgCtx, State(state): State<App>, IdPath(id): IdPath) -> AppResult<StatusCode> {
    revoke(&state, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Read an invitation by its token (public: the link is the credential).
#[utoipa::path(
    get, path = "/invitations/{id}", tag = "invitations",
    params(("id" = String, Path, description = "The token from `accept_url`")),
    responses(
        (status = 200, body = InvitationPreview),
        (status = 410, body = Problem, description = "`invitation_invalid`: unknown, used, revoked or expired"),
    )
)]
async fn read_invitation(State(state): State<App>, TextPath(token): TextPath) -> AppResult<Json<InvitationPreview>> {
    Ok(Json(preview(&state, &token).await?))
}

/// Accept an invitation: joins the organization (creating the account when the
/// email has none) and answers with a token pair. Counts as a sign-in.
#[utoipa::path(
    post, path = "/invitations/{id}/accept", tag = "invitations",
    params(("id" = String, Path, description = "The token from `accept_url`")),
    request_body = AcceptInvitation,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, description = "`invalid_credentials`: not the existing account's password"),
        (status = 409, body = Problem, description = "`already_member`"),
        (status = 410, body = Problem, description = "`invitation_invalid`"),
        (status = 422, body = Problem, description = "`validation_failed`"),
        (status = 429, body = Problem, description = "`rate_limited`"),
    )
)]
async fn accept_invitation(
    State(state): State<App>,
    ip: ClientIp,
    TextPath(token): TextPath,
    ApiJson { data: input, .. }: ApiJson<AcceptInvitation>,
) -> AppResult<Json<TokenResponse>> {
    let (mut tx, user, _) = accept(&state, ip, &token, input).await?;
    let response = session::start(tx.exec(), &state, &user).await?;
    tx.commit().await?;
    Ok(Json(response))
}
