//! SQL of users and refresh tokens, written once for both backends.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::Exec;
use crate::run;
use crate::services::auth::User;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    pub time_zone: Option<String>,
}

impl UserRow {
    pub fn public(&self) -> User {
        User {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            time_zone: self.time_zone.clone(),
            created_at: self.created_at,
        }
    }
}

const USER_COLUMNS: &str = "id, email, name, password_hash, created_at, time_zone";

/// Inserts a user; a taken email fails with a unique violation.
pub async fn insert_user(c: Exec<'_>, email: &str, name: &str, password_hash: &str) -> Result<UserRow, sqlx::Error> {
    let user = UserRow {
        id: crate::db::new_id(),
        email: email.to_string(),
        name: name.to_string(),
        password_hash: password_hash.to_string(),
        created_at: crate::db::now(),
        time_zone: None,
    };
    insert_user_row(c, &user).await?;
    Ok(user)
}

/// Inserts `user` as it is (a new account, or a restored one).
pub async fn insert_user_row(c: Exec<'_>, user: &UserRow) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO users (id, email, name, password_hash, created_at, updated_at, time_zone) VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(user.id)
    .bind(&user.email)
    .bind(&user.name)
    .bind(&user.password_hash)
    .bind(user.created_at)
    .bind(&user.time_zone)
    .execute(conn)
    .await.map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn find_user_by_email(c: Exec<'_>, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    run!(c, conn => sqlx::query_as(&sql).bind(email).fetch_optional(conn).await)
}

/// Stores a user's name and time zone.
pub async fn update_profile(c: Exec<'_>, user: &UserRow) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("UPDATE users SET name = $2, time_zone = $3, updated_at = $4 WHERE id = $1")
        .bind(user.id)
        .bind(&user.name)
        .bind(&user.time_zone)
        .bind(crate::db::now())
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Stores a new password hash and ends the user's other logins: every
/// refresh token, and every web session but `keep` (the one that changed it).
pub async fn set_password(
    c: Exec<'_>,
    user: Uuid,
    password_hash: &str,
    keep: Option<&[u8]>,
) -> Result<(), sqlx::Error> {
    let now = crate::db::now();
    let keep = keep.unwrap_or_default().to_vec();
    run!(c, conn => {
        sqlx::query("UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1")
            .bind(user)
            .bind(password_hash)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind(user)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query("DELETE FROM web_sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user)
            .bind(&keep)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(())
}

pub async fn find_user(c: Exec<'_>, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    run!(c, conn => sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

pub async fn insert_refresh_token(
    c: Exec<'_>,
    family_id: Uuid,
    user_id: Uuid,
    token_hash: &[u8],
    expires_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query(
        "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(crate::db::new_id())
    .bind(family_id)
    .bind(user_id)
    .bind(token_hash)
    .bind(crate::db::now())
    .bind(expires_at)
    .execute(conn)
    .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Marks a live token as rotated and returns its (user, family). Done in one
/// statement so two concurrent refreshes with the same token cannot both win.
pub async fn rotate_refresh_token(c: Exec<'_>, token_hash: &[u8]) -> Result<Option<(Uuid, Uuid)>, sqlx::Error> {
    let now = crate::db::now();
    run!(c, conn => sqlx::query_as(
        "UPDATE refresh_tokens SET rotated_at = $2 \
         WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > $2 \
         RETURNING user_id, family_id",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await)
}

#[derive(Debug, sqlx::FromRow)]
pub struct RefreshTokenState {
    pub user_id: Uuid,
    pub family_id: Uuid,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub async fn find_refresh_token(c: Exec<'_>, token_hash: &[u8]) -> Result<Option<RefreshTokenState>, sqlx::Error> {
    run!(c, conn => sqlx::query_as(
        "SELECT user_id, family_id, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await)
}

/// Ends a login: every token of the family stops working.
pub async fn revoke_family(c: Exec<'_>, family_id: Uuid) -> Result<(), sqlx::Error> {
    run!(c, conn => sqlx::query("UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL")
        .bind(family_id)
        .bind(crate::db::now())
        .execute(conn)
        .await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Drops tokens that expired more than a day ago (housekeeping).
pub async fn purge_expired_tokens(c: Exec<'_>) -> Result<u64, sqlx::Error> {
    let cutoff = crate::db::now() - chrono::Duration::days(1);
    let done = run!(c, conn => sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < $1")
        .bind(cutoff)
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(done)
}

/// Deletes web sessions past their expiry (the retention job).
pub async fn purge_expired_web_sessions(c: Exec<'_>) -> Result<u64, sqlx::Error> {
    run!(c, conn => sqlx::query("DELETE FROM web_sessions WHERE expires_at < $1")
        .bind(crate::db::now())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))
}
