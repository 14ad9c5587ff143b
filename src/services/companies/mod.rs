//! Companies `/api/v1/companies` (api.md §5).

pub mod queries;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::types::Json as SqlJson;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::audit::{self, Event};
use crate::services::idempotency::{Created, Idempotency};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::{self, Cursor, Page};
use crate::services::records::{self, After, Sort, opt, parse_uuid};
use crate::services::records::{IfMatch, double_option};
use crate::services::validate;
use queries::{Company, Filter};

const RECORD_TYPE: &str = "company";
const SORTS: &[&str] = &["created_at", "name"];

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyInput {
    pub name: String,
    /// A host name or a URL; the lower-cased host is kept.
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    pub owner_id: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// A partial change: fields left out stay; `null` clears.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyPatch {
    /// Required: `null` is refused like an empty name.
    #[serde(default, deserialize_with = "double_option")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub employee_count: Option<Option<i64>>,
    pub owner_id: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub tags: Option<Option<Vec<String>>>,
}

impl CompanyPatch {
    fn apply_to(self, current: &Company) -> CompanyInput {
        CompanyInput {
            name: self
                .name
                .map_or_else(|| current.name.clone(), Option::unwrap_or_default),
            domain: self.domain.unwrap_or_else(|| current.domain.clone()),
            industry: self.industry.unwrap_or_else(|| current.industry.clone()),
            employee_count: self.employee_count.unwrap_or(current.employee_count),
            owner_id: Some(self.owner_id.unwrap_or_else(|| current.owner_id.to_string())),
            tags: Some(
                self.tags
                    .map(Option::unwrap_or_default)
                    .unwrap_or_else(|| current.tags.0.clone()),
            ),
        }
    }
}

/// The lower-cased host of a domain given as a host or a URL.
pub fn domain(value: &str) -> Result<String, String> {
    let v = value.trim().to_lowercase();
    let rest = v.split_once("://").map_or(v.as_str(), |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or_default().trim_end_matches('.');
    let labels: Vec<&str> = host.split('.').collect();
    let ok = labels.len() >= 2
        && host.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if ok {
        Ok(host.to_string())
    } else {
        Err("must be a domain name or a URL".into())
    }
}

struct Checked {
    company: Company,
    search_text: String,
}

async fn check(c: Exec<'_>, ctx: &OrgCtx, input: CompanyInput, current: Option<&Company>) -> AppResult<Checked> {
    let mut v = Validator::new();
    let name = v.check("name", validate::required_text(&input.name, 200));
    let domain = v.check("domain", opt(&input.domain).map(domain).transpose());
    let industry = v.check("industry", validate::optional_text(input.industry.as_deref(), 100));
    let employee_count = v.check(
        "employee_count",
        match input.employee_count {
            Some(n) if n < 0 => Err("must not be negative".to_string()),
            other => Ok(other),
        },
    );
    let owner_id = v.check("owner_id", opt(&input.owner_id).map(parse_uuid).transpose());
    let tags = v.check("tags", records::normalize_tags(&input.tags.unwrap_or_default()));
    v.finish()?;
    let (Some(name), Some(domain), Some(industry), Some(employee_count), Some(owner_id), Some(tags)) =
        (name, domain, industry, employee_count, owner_id, tags)
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    let owner_id = match (owner_id, current) {
        (Some(requested), Some(current)) if requested == current.owner_id => requested,
        (None, Some(current)) => current.owner_id,
        (requested, _) => records::resolve_owner(c, ctx, requested).await?,
    };
    let search_text = records::search_text([Some(name.as_str()), domain.as_deref()]);
    let now = crate::db::now();
    let company = Company {
        id: current.map_or_else(crate::db::new_id, |c| c.id),
        owner_id,
        name,
        domain,
        industry,
        employee_count,
        tags: SqlJson(tags),
        created_at: current.map_or(now, |c| c.created_at),
        updated_at: current.map_or(now, |c| c.updated_at),
        version: current.map_or(1, |c| c.version),
    };
    Ok(Checked { company, search_text })
}

/// 409 `duplicate_company` when another company has this domain.
async fn ensure_unique(c: Exec<'_>, ctx: &OrgCtx, company: &Company, except: Option<Uuid>) -> AppResult<()> {
    let Some(domain) = &company.domain else {
        return Ok(());
    };
    match queries::find_by_domain(c, ctx.org_id, domain, except).await? {
        Some(existing) => Err(duplicate().with("existing_id", existing.to_string())),
        None => Ok(()),
    }
}

fn duplicate() -> AppError {
    AppError::conflict("duplicate_company", "a company with this domain already exists")
}

fn unique_to_conflict(err: sqlx::Error) -> AppError {
    if crate::db::is_unique_violation(&err) {
        duplicate()
    } else {
        err.into()
    }
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyQuery {
    /// Every word must be a prefix of a word of the name or domain.
    pub q: Option<String>,
    #[param(value_type = Option<Uuid>)]
    pub owner_id: Option<String>,
    /// Repeatable; all must match.
    #[serde(default)]
    pub tag: Vec<String>,
    /// `created_at` (default `-created_at`) or `name`; `-` for descending.
    pub sort: Option<String>,
    #[param(value_type = Option<u32>)]
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

/// One page of the companies the caller may read (the API's list and the
/// web app's list page).
pub async fn list(state: &App, ctx: &OrgCtx, query: &CompanyQuery) -> AppResult<Page<Company>> {
    let limit = pagination::limit(query.limit.as_deref())?;
    let sort = Sort::parse(query.sort.as_deref(), SORTS, "-created_at")?;
    let owner_id = opt(&query.owner_id)
        .map(parse_uuid)
        .transpose()
        .map_err(|m| AppError::field("owner_id", m))?;
    let filter = Filter {
        words: query.q.as_deref().map(records::words).unwrap_or_default(),
        owner_id,
        tags: query
            .tag
            .iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect(),
        only_owner: ctx.sees_only_own().then_some(ctx.user_id),
    };
    let after = match sort.field {
        "name" => Cursor::decode::<(String, Uuid)>(query.cursor.as_deref())?.map(|(t, id)| After::Text(t, id)),
        _ => Cursor::decode::<(DateTime<Utc>, Uuid)>(query.cursor.as_deref())?.map(|(t, id)| After::Time(t, id)),
    };
    let mut conn = state.db.read().await?;
    let rows = queries::list(conn.exec(), ctx.org_id, &filter, sort, after, limit).await?;
    Ok(Page::from_rows(rows, limit, |c| match sort.field {
        "name" => Cursor::encode(&(&c.name, c.id)),
        _ => Cursor::encode(&(c.created_at, c.id)),
    }))
}

/// Creates a company (the API's create and the web app's form).
pub async fn create(
    state: &App,
    ctx: &OrgCtx,
    idempotency: &Idempotency,
    input: CompanyInput,
) -> AppResult<Created<Company>> {
    let mut tx = state.db.begin().await?;
    if let Some(replay) = idempotency.replay(tx.exec()).await? {
        return Ok(Created::Replayed(replay));
    }
    let Checked { company, search_text } = check(tx.exec(), ctx, input, None).await?;
    ensure_unique(tx.exec(), ctx, &company, None).await?;
    queries::insert(tx.exec(), ctx.org_id, &company, &search_text)
        .await
        .map_err(unique_to_conflict)?;
    records::index_tags(
        tx.exec(),
        ctx.org_id,
        RECORD_TYPE,
        company.id,
        company.owner_id,
        &company.tags,
    )
    .await?;
    idempotency.save_created(tx.exec(), &company).await?;
    tx.commit().await?;
    Ok(Created::New(company))
}

/// A company the caller may read, or 404.
pub async fn readable(c: Exec<'_>, ctx: &OrgCtx, id: Uuid) -> AppResult<Company> {
    match queries::find(c, ctx.org_id, id).await? {
        Some(company) if ctx.may_read(company.owner_id) => Ok(company),
        _ => Err(AppError::not_found()),
    }
}

/// Changes some fields of a company (the API's PATCH and the web app's form).
pub async fn update(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch, patch: CompanyPatch) -> AppResult<Company> {
    let mut tx = state.db.begin().await?;
    let current = readable(tx.exec(), ctx, id).await?;
    ctx.ensure_may_change(current.owner_id)?;
    if_match.check(current.version)?;
    let Checked {
        mut company,
        search_text,
    } = check(tx.exec(), ctx, patch.apply_to(&current), Some(&current)).await?;
    // `check` carried over id, timestamps and version: equal means nothing changes.
    if company == current {
        return Ok(current);
    }
    ensure_unique(tx.exec(), ctx, &company, Some(id)).await?;
    company.version = current.version + 1;
    company.updated_at = crate::db::now();
    queries::update(tx.exec(), ctx.org_id, &company, &search_text)
        .await
        .map_err(unique_to_conflict)?;
    if company.tags.0 != current.tags.0 || company.owner_id != current.owner_id {
        records::index_tags(tx.exec(), ctx.org_id, RECORD_TYPE, id, company.owner_id, &company.tags).await?;
    }
    if company.name != current.name {
        // Contacts are found by their company's name.
        crate::services::contacts::reindex_company(tx.exec(), ctx.org_id, id, Some(&company.name)).await?;
    }
    tx.commit().await?;
    Ok(company)
}

/// Deletes a company (the API's DELETE and the web app's delete button).
pub async fn delete(state: &App, ctx: &OrgCtx, id: Uuid, if_match: IfMatch) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    let current = readable(tx.exec(), ctx, id).await?;
    ctx.ensure_may_change(current.owner_id)?;
    if_match.check(current.version)?;
    crate::services::contacts::reindex_company(tx.exec(), ctx.org_id, id, None).await?;
    // Its deals stay too, without a company (a change of each deal).
    run!(tx.exec(), c => sqlx::query(
        "UPDATE deals SET company_id = NULL, updated_at = $3, version = version + 1 WHERE organization_id = $1 AND company_id = $2",
    )
    .bind(ctx.org_id)
    .bind(id)
    .bind(crate::db::now())
    .execute(c)
    .await
    .map(|r| r.rows_affected()))?;
    records::index_tags(tx.exec(), ctx.org_id, RECORD_TYPE, id, current.owner_id, &[]).await?;
    queries::delete(tx.exec(), ctx.org_id, id).await?;
    let event = Event::new("company.deleted")
        .by(ctx)
        .target("company", id)
        .details(json!({ "name": current.name }));
    audit::record(tx.exec(), ctx.org_id, &event).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn domains_from_hosts_and_urls() {
        assert_eq!(super::domain("Acme.COM").unwrap(), "acme.com");
        assert_eq!(
            super::domain("https://user@www.Acme.com:8443/path?q=1").unwrap(),
            "www.acme.com"
        );
        assert!(super::domain("localhost").is_err());
        assert!(super::domain("not a domain").is_err());
    }
}
