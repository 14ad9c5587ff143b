//! Where seeded rows go: COPY on PostgreSQL, batched multi-row prepared
//! INSERTs on SQLite, both inside the one transaction of the whole seed.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sqlx::{QueryBuilder, Sqlite};
use uuid::Uuid;

use crate::db::Tx;

/// One column value of a generated row.
#[derive(Debug, Clone)]
pub enum V {
    Id(Uuid),
    Text(String),
    Str(&'static str),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
    Date(NaiveDate),
    /// JSON, already serialized.
    Json(String),
    Null,
}

impl V {
    pub fn opt_id(id: Option<Uuid>) -> V {
        id.map_or(V::Null, V::Id)
    }
    pub fn opt_text(text: Option<String>) -> V {
        text.map_or(V::Null, V::Text)
    }
    pub fn opt_time(t: Option<DateTime<Utc>>) -> V {
        t.map_or(V::Null, V::Time)
    }
}

/// A table and the columns every generated row of it fills, in order.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

/// SQLite accepts at most 32,766 bound parameters in one statement.
const SQLITE_MAX_BINDS: usize = 32_000;

/// Writes `rows` of `table` through the seed's transaction.
pub async fn write(tx: &mut Tx, table: &Table, rows: &[Vec<V>]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match tx {
        Tx::Postgres(t) => {
            let mut buf = String::with_capacity(rows.len() * 160);
            for row in rows {
                copy_line(&mut buf, row);
            }
            let statement = format!("COPY {} ({}) FROM STDIN", table.name, table.columns.join(", "));
            let mut copy = t.copy_in_raw(&statement).await?;
            copy.send(buf.into_bytes()).await?;
            copy.finish().await?;
        }
        Tx::Sqlite(t) => {
            let per_statement = (SQLITE_MAX_BINDS / table.columns.len()).max(1);
            for chunk in rows.chunks(per_statement) {
                let mut q: QueryBuilder<'_, Sqlite> =
                    QueryBuilder::new(format!("INSERT INTO {} ({}) ", table.name, table.columns.join(", ")));
                q.push_values(chunk, |mut b, row| {
                    for value in row {
                        match value.clone() {
                            V::Id(v) => b.push_bind(v),
                            V::Text(v) => b.push_bind(v),
                            V::Str(v) => b.push_bind(v),
                            V::Int(v) => b.push_bind(v),
                            V::Bool(v) => b.push_bind(v),
                            V::Time(v) => b.push_bind(v),
                            V::Date(v) => b.push_bind(v),
                            V::Json(v) => b.push_bind(v),
                            V::Null => b.push_bind(None::<String>),
                        };
                    }
                });
                q.build().execute(&mut **t).await?;
            }
        }
    }
    Ok(())
}

/// One row in PostgreSQL's COPY text format: tab-separated, `\N` for NULL,
/// backslash escapes for the characters the format reserves.
fn copy_line(buf: &mut String, row: &[V]) {
    for (i, value) in row.iter().enumerate() {
        if i > 0 {
            buf.push('\t');
        }
        match value {
            V::Id(v) => {
                let _ = write!(buf, "{v}");
            }
            V::Text(v) | V::Json(v) => escape(buf, v),
            V::Str(v) => escape(buf, v),
            V::Int(v) => {
                let _ = write!(buf, "{v}");
            }
            V::Bool(v) => buf.push(if *v { 't' } else { 'f' }),
            V::Time(v) => buf.push_str(&v.to_rfc3339_opts(SecondsFormat::Micros, true)),
            V::Date(v) => {
                let _ = write!(buf, "{}", v.format("%Y-%m-%d"));
            }
            V::Null => buf.push_str("\\N"),
        }
    }
    buf.push('\n');
}

fn escape(buf: &mut String, text: &str) {
    for ch in text.chars() {
        match ch {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_lines_escape_reserved_characters() {
        let mut buf = String::new();
        copy_line(
            &mut buf,
            &[
                V::Str("a\tb\\c\nd"),
                V::Null,
                V::Bool(true),
                V::Int(-3),
                V::Json(r#"{"x":"y"}"#.into()),
            ],
        );
        assert_eq!(buf, "a\\tb\\\\c\\nd\t\\N\tt\t-3\t{\"x\":\"y\"}\n");
    }
}
