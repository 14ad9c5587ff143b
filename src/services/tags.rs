//! `GET /api/v1/tags` (api.md §5): the tags of every record type with how
//! often each is used, most used first.

use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct TagCount {
    pub name: String,
    pub count: i64,
}
