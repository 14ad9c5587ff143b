//! `GET /api/v1/tags` (api.md §5): the tags of every record type with how
//! often each is used, most used first.

use serde::Serialize;
use utoipa::ToSchema;

use crate::app::App;
use crate::error::AppResult;
use crate::run;
use crate::services::orgs::OrgCtx;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TagCount {
    pub name: String,
    pub count: i64,
}

/// Tags used at least once by records the caller can see, most used first;
/// ties by name. Under `member_visibility: own` a member sees the records
/// they own and the tasks assigned to them, so those tasks' tags count too.
pub async fn list(state: &App, ctx: &OrgCtx) -> AppResult<Vec<TagCount>> {
    let mut conn = state.db.read().await?;
    let only_owner = ctx.sees_only_own().then_some(ctx.user_id);
    let rows = run!(conn.exec(), c => sqlx::query_as(
        "SELECT tag AS name, COUNT(*) AS count FROM record_tags \
         WHERE organization_id = $1 AND ($2 IS NULL OR owner_id = $2 \
           OR (record_type = 'task' AND record_id IN \
               (SELECT id FROM tasks WHERE organization_id = $1 AND assignee_id = $2))) \
         GROUP BY tag ORDER BY COUNT(*) DESC, tag ASC",
    )
    .bind(ctx.org_id)
    .bind(only_owner)
    .fetch_all(c)
    .await)?;
    Ok(rows)
}
