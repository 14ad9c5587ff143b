//! Where seeded rows go: COPY on PostgreSQL, batched multi-row prepared
//! INSERTs on SQLite, both inside the one transaction of the whole seed.

use std::fmt::Write as _;

use anyhow::Context as _;

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
    Float(f64),
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
    /// Emptied by [`prepare_bulk_load`] at the start of the seed, so PostgreSQL
    /// can load it frozen.
    pub bulk: bool,
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
            // FREEZE writes the rows already visible to all, with the visibility
            // map set: index-only scans work at once, without a VACUUM pass.
            let freeze = if table.bulk { " WITH (FREEZE)" } else { "" };
            let statement = format!("COPY {} ({}) FROM STDIN{freeze}", table.name, table.columns.join(", "));
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
                        // Bound by reference: the rows outlive the statement.
                        match value {
                            V::Id(v) => b.push_bind(*v),
                            V::Text(v) | V::Json(v) => b.push_bind(v.as_str()),
                            V::Str(v) => b.push_bind(*v),
                            V::Int(v) => b.push_bind(*v),
                            V::Float(v) => b.push_bind(*v),
                            V::Bool(v) => b.push_bind(*v),
                            V::Time(v) => b.push_bind(*v),
                            V::Date(v) => b.push_bind(*v),
                            V::Null => b.push_bind(None::<&str>),
                        };
                    }
                });
                q.build().execute(&mut **t).await?;
            }
        }
    }
    Ok(())
}

/// Readies the (empty) record tables for a bulk load inside the seed's
/// transaction. On PostgreSQL: truncates them (what COPY FREEZE requires) and,
/// since building an index over loaded rows is far faster than maintaining it
/// row by row (a GIN index most of all), drops their secondary indexes and
/// returns the statements that recreate them exactly as the migrations made
/// them. Primary keys stay, so foreign keys are checked while loading. SQLite
/// keeps its indexes.
pub async fn prepare_bulk_load(tx: &mut Tx, tables: &[&Table]) -> anyhow::Result<Vec<String>> {
    let tables: Vec<String> = tables.iter().map(|t| t.name.to_string()).collect();
    for table in &tables {
        let probe = format!("SELECT CAST(1 AS BIGINT) FROM {table} LIMIT 1");
        let rows: Option<(i64,)> = match tx {
            Tx::Postgres(t) => sqlx::query_as(&probe).fetch_optional(&mut **t).await?,
            Tx::Sqlite(t) => sqlx::query_as(&probe).fetch_optional(&mut **t).await?,
        };
        anyhow::ensure!(rows.is_none(), "{table} already holds rows; seed a fresh database");
    }
    let Tx::Postgres(t) = tx else {
        return Ok(Vec::new());
    };
    sqlx::query(&format!("TRUNCATE {}", tables.join(", ")))
        .execute(&mut **t)
        .await?;
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT i.relname::text, pg_get_indexdef(i.oid) FROM pg_index x \
         JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class r ON r.oid = x.indrelid \
         WHERE r.relname = ANY($1) AND r.relnamespace = current_schema()::regnamespace AND NOT x.indisprimary \
         ORDER BY i.relname",
    )
    .bind(&tables)
    .fetch_all(&mut **t)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("DROP INDEX {name}")).execute(&mut **t).await?;
    }
    Ok(indexes.into_iter().map(|(_, definition)| definition).collect())
}

/// The contact search terms (`contact_terms`, migration 12) are kept by
/// triggers on `contacts`. Row by row, a million contacts would add 15 million
/// index entries one at a time; on PostgreSQL the seed switches the triggers
/// off and drops the table's primary key, and [`build_indexes`] derives
/// every row in one statement and builds the key by sorting. SQLite keeps its
/// triggers on (its inserts run in one in-process transaction).
pub async fn suspend_contact_terms(tx: &mut Tx) -> anyhow::Result<Option<String>> {
    let Tx::Postgres(t) = tx else {
        return Ok(None);
    };
    let (name, definition): (String, String) = sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'contact_terms'::regclass AND contype = 'p'",
    )
    .fetch_one(&mut **t)
    .await?;
    for statement in [
        "TRUNCATE contact_terms".to_string(),
        "ALTER TABLE contacts DISABLE TRIGGER USER".to_string(),
        format!("ALTER TABLE contact_terms DROP CONSTRAINT {name}"),
    ] {
        sqlx::query(&statement).execute(&mut **t).await?;
    }
    Ok(Some(format!(
        "ALTER TABLE contact_terms ADD CONSTRAINT {name} {definition}"
    )))
}

/// Builds what the load left out, once its rows are committed: the secondary
/// indexes ([`prepare_bulk_load`]) and `contact_terms` (its rows, derived
/// with the function the triggers use, and its primary key), then switches
/// the contact triggers back on.
///
/// Index builds are half of the seed and most of them run on one core
/// (a GIN index, the term table's rows), so two connections build side by
/// side, the longest jobs first, each with half the sort memory. (A
/// seed that fails here leaves a database to throw away, as any failed
/// seed does: the load is committed.)
pub async fn build_indexes(
    pool: &sqlx::PgPool,
    mut statements: Vec<String>,
    terms_key: Option<String>,
) -> anyhow::Result<()> {
    // Longest first: the term table, then GIN indexes, then the b-trees.
    statements.sort_by_key(|s| !s.contains("USING gin"));
    let mut jobs: std::collections::VecDeque<Vec<String>> = statements.into_iter().map(|s| vec![s]).collect();
    if let Some(primary_key) = terms_key {
        jobs.push_front(vec![
            "INSERT INTO contact_terms (organization_id, term, created_at, contact_id) \
             SELECT c.organization_id, t, c.created_at, c.id FROM contacts AS c, contact_search_terms(c.search_text) AS t"
                .to_string(),
            primary_key,
        ]);
    }
    let jobs = std::sync::Mutex::new(jobs);
    let worker = || async {
        let mut conn = pool.acquire().await?;
        sqlx::query("SET maintenance_work_mem = '512MB'")
            .execute(&mut *conn)
            .await?;
        loop {
            let job = match jobs.lock() {
                Ok(mut jobs) => jobs.pop_front(),
                Err(_) => anyhow::bail!("an index builder panicked"),
            };
            let Some(job) = job else {
                return Ok::<(), anyhow::Error>(());
            };
            for statement in job {
                sqlx::query(&statement)
                    .execute(&mut *conn)
                    .await
                    .with_context(|| format!("building failed: {statement}"))?;
            }
        }
    };
    tokio::try_join!(worker(), worker())?;
    sqlx::query("ALTER TABLE contacts ENABLE TRIGGER USER")
        .execute(pool)
        .await?;
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
            V::Float(v) => {
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
