//! Keyset pagination (api.md §1): `limit` (1..200, default 50) and an opaque
//! `cursor` holding the sort key of the last row seen, so walking every page
//! returns each matching record exactly once even while rows are inserted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;

use crate::error::{AppError, AppResult};

/// The key of a newest-first list (the audit log, jobs): the last row's
/// creation time and id.
pub type NewestKey = (chrono::DateTime<chrono::Utc>, uuid::Uuid);

/// Ends the query of a newest-first page: rows before the cursor's key,
/// newest first (ties by id in the same direction), `limit + 1` of them (the
/// extra one tells another page exists). The table needs an index on
/// `(organization_id, …, created_at, id)` to serve it.
pub fn push_newest_first<'q, DB>(q: &mut sqlx::QueryBuilder<'q, DB>, after: Option<NewestKey>, limit: i64)
where
    DB: sqlx::Database,
    chrono::DateTime<chrono::Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    if let Some((at, id)) = after {
        q.push(" AND (created_at, id) < (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    q.push(" ORDER BY created_at DESC, id DESC LIMIT ").push_bind(limit + 1);
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// The `limit` query parameter: 1..200, default 50, anything else → 422.
pub fn limit(raw: Option<&str>) -> AppResult<i64> {
    match raw.map(str::trim) {
        None | Some("") => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<i64>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(AppError::field(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}"),
            )),
        },
    }
}

/// An opaque cursor: base64url of the JSON sort key.
pub struct Cursor;

impl Cursor {
    pub fn encode<T: Serialize>(key: &T) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
    }

    /// Reads a cursor made by [`Cursor::encode`]; anything else → 422 `invalid_cursor`.
    pub fn decode<T: DeserializeOwned>(raw: Option<&str>) -> AppResult<Option<T>> {
        let Some(raw) = raw.filter(|r| !r.is_empty()) else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .map(Some)
            .ok_or_else(|| AppError::rule("invalid_cursor", "the cursor is not one this list produced"))
    }
}

/// The list envelope: `{"data": [...], "next_cursor": "…" | null}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// Pass as `cursor` to read the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only tells that
    /// another page exists.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit.max(0) as usize);
        let next_cursor = if more { rows.last().map(cursor_of) } else { None };
        Page {
            data: rows,
            next_cursor,
        }
    }

    /// A list that is not paginated, in the same envelope.
    pub fn all(rows: Vec<T>) -> Self {
        Page {
            data: rows,
            next_cursor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some("200")).unwrap(), 200);
        for bad in ["0", "201", "-1", "abc", "1.5"] {
            assert_eq!(limit(Some(bad)).unwrap_err().code, "validation_failed");
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = uuid::Uuid::now_v7();
        let c = Cursor::encode(&("2026-11-22T10:15:30.123Z", id));
        let back: Option<(String, uuid::Uuid)> = Cursor::decode(Some(&c)).unwrap();
        assert_eq!(back.unwrap().1, id);
        let err = Cursor::decode::<(String, uuid::Uuid)>(Some("not-a-cursor")).unwrap_err();
        assert_eq!(err.code, "invalid_cursor");
    }
}
