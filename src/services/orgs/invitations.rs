//! `/api/v1/invitations` (api.md §4): invite by email, list, revoke, and the
//! public read and accept of a one-time link.
//!
//! The token is random and stored only as a hash. It also carries the
//! organization id (16 bytes before 32 random ones), so finding an invitation by
//! token is a lookup inside one organization.
//!
//! Creating an invitation does not honour `Idempotency-Key`: a replay would
//! have to keep the token (inside `accept_url`) in clear text.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::app::App;
use crate::db::{Exec, Tx};
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::audit::{self, Event};
use crate::services::auth::ClientIp;
use crate::services::auth::queries as users;
use crate::services::auth::tokens::hash_token;
use crate::services::auth::{accounts::authenticate, password};
use crate::services::orgs::Actor;
use crate::services::orgs::{OrgCtx, Role, queries};
use crate::services::rate_limit::AuthAction;
use crate::services::validate;

/// How long an invitation link stays valid.
const VALID_DAYS: i64 = 7;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateInvitation {
    pub email: String,
    pub role: Role,
}

/// A pending invitation.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    #[schema(value_type = Role)]
    pub role: String,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A new invitation, with its one-time link (shown only here).
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    #[serde(flatten)]
    pub invitation: Invitation,
    /// `<CRM_PUBLIC_URL>/invite/<token>`: the one-time link to send to the invitee.
    pub accept_url: String,
}

/// Invites someone (the API's create and the web app's settings page).
pub async fn create(state: &App, ctx: &OrgCtx, input: CreateInvitation) -> AppResult<CreatedInvitation> {
    ctx.require(Role::Admin)?;
    ensure_may_manage(ctx, input.role.as_str())?;
    let email = validate::email(&input.email).map_err(|m| AppError::field("email", m))?;

    let mut tx = state.db.begin().await?;
    // Invitation writes of one organization run one at a time, so concurrent
    // invitations to one address cannot leave several pending.
    queries::lock_organization(tx.exec(), ctx.org_id).await?;
    if queries::find_member_by_email(tx.exec(), ctx.org_id, &email)
        .await?
        .is_some()
    {
        return Err(AppError::conflict(
            "already_member",
            "this person is already a member of the organization",
        ));
    }
    // A new invitation replaces a pending one to the same address; replacing
    // an owner's or admin's invitation is for owners, like granting those roles.
    let pending: Vec<(Uuid, String)> = run!(tx.exec(), c => sqlx::query_as(
        "SELECT id, role FROM invitations \
         WHERE organization_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(ctx.org_id)
    .bind(&email)
    .fetch_all(c)
    .await)?;
    for (_, role) in &pending {
        ensure_may_manage(ctx, role)?;
    }
    let now = crate::db::now();
    run!(tx.exec(), c => sqlx::query(
        "UPDATE invitations SET revoked_at = $3 \
         WHERE organization_id = $1 AND email = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(ctx.org_id)
    .bind(&email)
    .bind(now)
    .execute(c)
    .await.map(|r| r.rows_affected()))?;

    let token = new_token(ctx.org_id);
    let invitation = Invitation {
        id: crate::db::new_id(),
        email,
        role: input.role.as_str().to_string(),
        invited_by: Some(ctx.user_id),
        created_at: now,
        expires_at: now + chrono::Duration::days(VALID_DAYS),
    };
    run!(tx.exec(), c => sqlx::query(
        "INSERT INTO invitations (organization_id, id, email, role, token_hash, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(ctx.org_id)
    .bind(invitation.id)
    .bind(&invitation.email)
    .bind(&invitation.role)
    .bind(hash_token(&token))
    .bind(invitation.invited_by)
    .bind(invitation.created_at)
    .bind(invitation.expires_at)
    .execute(c)
    .await.map(|r| r.rows_affected()))?;
    let event = Event::new("member.invited")
        .by(ctx)
        .target("invitation", invitation.id)
        .details(json!({ "email": invitation.email, "role": invitation.role }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    let accept_url = format!("{}/invite/{token}", state.config.public_url);
    Ok(CreatedInvitation { invitation, accept_url })
}

/// The organization's pending invitations, newest first (admin and owner).
pub async fn pending(state: &App, ctx: &OrgCtx) -> AppResult<Vec<Invitation>> {
    ctx.require(Role::Admin)?;
    let mut conn = state.db.read().await?;
    let rows = run!(conn.exec(), c => sqlx::query_as(
        "SELECT id, email, role, invited_by, created_at, expires_at FROM invitations \
         WHERE organization_id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY created_at DESC, id DESC",
    )
    .bind(ctx.org_id)
    .bind(crate::db::now())
    .fetch_all(c)
    .await)?;
    Ok(rows)
}

/// Revokes a pending invitation (the API's DELETE and the settings page).
pub async fn revoke(state: &App, ctx: &OrgCtx, id: Uuid) -> AppResult<()> {
    ctx.require(Role::Admin)?;
    let mut tx = state.db.begin().await?;
    queries::lock_organization(tx.exec(), ctx.org_id).await?;
    let role: Option<(String,)> = run!(tx.exec(), c => sqlx::query_as(
        "SELECT role FROM invitations \
         WHERE organization_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(ctx.org_id)
    .bind(id)
    .fetch_optional(c)
    .await)?;
    let (role,) = role.ok_or_else(AppError::not_found)?;
    ensure_may_manage(ctx, &role)?;
    let done = run!(tx.exec(), c => sqlx::query(
        "UPDATE invitations SET revoked_at = $3 \
         WHERE organization_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(crate::db::now())
    .execute(c)
    .await.map(|r| r.rows_affected()))?;
    if done == 0 {
        return Err(AppError::not_found());
    }
    let event = Event::new("invitation.revoked").by(ctx).target("invitation", id);
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// What an invitation link offers (public).
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPreview {
    pub organization_name: String,
    pub email: String,
    pub role: Role,
}

/// What an invitation link offers, or 410 `invitation_invalid`.
pub async fn preview(state: &App, token: &str) -> AppResult<InvitationPreview> {
    let mut conn = state.db.read().await?;
    let pending = find_pending(conn.exec(), token).await?;
    Ok(InvitationPreview {
        organization_name: pending.organization_name,
        email: pending.email,
        role: pending.role,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitation {
    /// Required when the email has no account yet.
    pub name: Option<String>,
    /// A new account's password (register rules), or the existing account's.
    pub password: String,
}

/// Accepts an invitation (the API's and the web app's): checks the password
/// or creates the account, joins the organization, and hands back the open
/// transaction so the caller adds its kind of session before committing.
/// Answers the user and the organization joined.
pub async fn accept(
    state: &App,
    ip: ClientIp,
    token: &str,
    input: AcceptInvitation,
) -> AppResult<(Tx, users::UserRow, Uuid)> {
    let pending = {
        let mut conn = state.db.read().await?;
        find_pending(conn.exec(), token).await?
    };
    state.limits.check_auth(AuthAction::Login, ip.0, &pending.email)?;

    let existing = {
        let mut conn = state.db.read().await?;
        users::find_user_by_email(conn.exec(), &pending.email).await?
    };
    let joiner = match existing {
        Some(_) => Joiner::Existing(authenticate(state, &pending.email, input.password, ip).await?),
        None => {
            let mut v = Validator::new();
            let name = match input.name.as_deref() {
                Some(name) => v.check("name", validate::required_text(name, 200)),
                None => {
                    v.add("name", "is required");
                    None
                }
            };
            v.check("password", validate::password(&input.password, &pending.email));
            v.finish()?;
            let hash = password::hash(&state.hasher, input.password).await?;
            Joiner::New {
                name: name.unwrap_or_default(),
                hash,
            }
        }
    };

    let mut tx = state.db.begin().await?;
    let used = run!(tx.exec(), c => sqlx::query(
        "UPDATE invitations SET accepted_at = $3 \
         WHERE organization_id = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(pending.organization_id)
    .bind(pending.id)
    .bind(crate::db::now())
    .execute(c)
    .await.map(|r| r.rows_affected()))?;
    if used == 0 {
        return Err(invitation_invalid());
    }
    let user = match joiner {
        Joiner::Existing(user) => {
            // Accepting with an existing account is a sign-in of that account.
            crate::services::auth::accounts::record_login(tx.exec(), user.id, ip).await?;
            user
        }
        Joiner::New { name, hash } => users::insert_user(tx.exec(), &pending.email, &name, &hash)
            .await
            .map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    AppError::conflict(
                        "email_taken",
                        "an account with this email was just created; accept again with its password",
                    )
                } else {
                    e.into()
                }
            })?,
    };
    queries::add_member(tx.exec(), pending.organization_id, user.id, pending.role)
        .await
        .map_err(|e| {
            if crate::db::is_unique_violation(&e) {
                AppError::conflict("already_member", "you are already a member of this organization")
            } else {
                e.into()
            }
        })?;
    let event = Event::new("member.joined")
        .actor(Actor::User(user.id))
        .target("user", user.id)
        .ip(ip.text())
        .details(json!({ "invitation_id": pending.id, "role": pending.role }));
    audit::record(tx.exec(), pending.organization_id, &event).await?;
    Ok((tx, user, pending.organization_id))
}

/// Who accepts: an existing account (password checked) or a new one.
enum Joiner {
    Existing(users::UserRow),
    New { name: String, hash: String },
}

struct Pending {
    organization_id: Uuid,
    organization_name: String,
    id: Uuid,
    email: String,
    role: Role,
}

/// Invitations to the owner and admin roles are managed by owners only.
fn ensure_may_manage(ctx: &OrgCtx, role: &str) -> AppResult<()> {
    let privileged = role.parse::<Role>().map(Role::is_privileged).unwrap_or(true);
    if privileged && ctx.role != Role::Owner {
        return Err(AppError::forbidden(
            "only an owner may invite owners and admins, or replace or revoke their invitations",
        ));
    }
    Ok(())
}

fn invitation_invalid() -> AppError {
    AppError::gone(
        "invitation_invalid",
        "this invitation link is unknown, used, revoked or expired",
    )
}

/// A new token for an invitation of `org`.
fn new_token(org: Uuid) -> String {
    let mut bytes = [0u8; 48];
    bytes[..16].copy_from_slice(org.as_bytes());
    rand::rng().fill_bytes(&mut bytes[16..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The pending invitation a token stands for; anything else → 410.
async fn find_pending(c: Exec<'_>, token: &str) -> AppResult<Pending> {
    let org = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .filter(|b| b.len() == 48)
        .and_then(|b| Uuid::from_slice(&b[..16]).ok())
        .ok_or_else(invitation_invalid)?;
    let row: Option<(Uuid, String, String, String)> = run!(c, conn => sqlx::query_as(
        "SELECT i.id, i.email, i.role, o.name FROM invitations i JOIN organizations o ON o.id = i.organization_id \
         WHERE i.organization_id = $1 AND i.token_hash = $2 \
           AND i.accepted_at IS NULL AND i.revoked_at IS NULL AND i.expires_at > $3",
    )
    .bind(org)
    .bind(hash_token(token))
    .bind(crate::db::now())
    .fetch_optional(conn)
    .await)?;
    let (id, email, role, organization_name) = row.ok_or_else(invitation_invalid)?;
    let role = role.parse().map_err(|_| invitation_invalid())?;
    Ok(Pending {
        organization_id: org,
        organization_name,
        id,
        email,
        role,
    })
}
