//! Companies `/api/v1/companies` (api.md §5).

pub mod queries;

use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::fields::record_fields;
use crate::services::records::query::list_query;
use crate::services::records::rows::Column;
use crate::services::records::shape::{Checked, Record, checked_by, common_columns};
use crate::services::records::{self, After, Cell, Listing, opt, parse_uuid};
use crate::services::validate;
pub use queries::Company;

const SORTS: &[&str] = &["created_at", "name"];

record_fields! {
    /// A company as sent on create.
    input CompanyInput;
    /// A partial change: fields left out stay; `null` clears.
    patch CompanyPatch;
    text CompanyText;
    of Company as current;
    required name: String = current.name.clone(),
    /// A host name or a URL; the lower-cased host is kept.
    optional domain: String = current.domain.clone(),
    optional industry: String = current.industry.clone(),
    whole employee_count = current.employee_count,
    kept owner_id: String = current.owner_id.to_string(),
    tags tags = current.tags.0.clone(),
    /// Custom field values by key (`GET /custom-fields`): a change merges
    /// its keys into the current values, `null` clears one.
    custom custom = &current.custom.0,
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

/// Validates `input` into the company it describes (`current` for changes).
async fn check(
    mut c: Exec<'_>,
    ctx: &OrgCtx,
    input: CompanyInput,
    current: Option<&Company>,
) -> AppResult<Checked<Company>> {
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
    let custom = crate::services::custom_fields::check(c.re(), ctx.org_id, "companies", &mut v, input.custom).await?;
    v.finish()?;
    let (Some(name), Some(domain), Some(industry), Some(employee_count), Some(owner_id), Some(tags)) =
        (name, domain, industry, employee_count, owner_id, tags)
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };
    let owner_id = records::owner_for(c, ctx, owner_id, current.map(|c| c.owner_id)).await?;
    let search_text = search_text(&name, domain.as_deref());
    let (id, created_at, updated_at, version) = records::stamps(current);
    let company = Company {
        id,
        owner_id,
        name,
        domain,
        industry,
        employee_count,
        tags: SqlJson(tags),
        custom: SqlJson(custom),
        created_at,
        updated_at,
        version,
    };
    Ok(Checked {
        record: company,
        search_text,
    })
}

/// The words `q` finds a company by: its name's and its domain's.
pub fn search_text(name: &str, domain: Option<&str>) -> String {
    records::search_text([Some(name), domain])
}

list_query! {
    pub struct CompanyQuery {
        q: "Every word must be a prefix of a word of the name or domain.",
        sort: "`created_at` (default `-created_at`) or `name`; `-` for descending.",
    }
}

/// One page of the companies the caller may read (the API's list and the
/// web app's list page).
pub async fn list(state: &App, ctx: &OrgCtx, query: &CompanyQuery) -> AppResult<Page<Company>> {
    let (limit, sort) = records::paging(&query.limit, &query.sort, SORTS, "-created_at")?;
    let mut v = Validator::new();
    let owner_id = v.parsed("owner_id", &query.owner_id, parse_uuid);
    v.finish()?;
    let listing = Listing::new(limit, sort, &query.q, &query.tag)?
        .custom(&query.custom)
        .filter([("owner_id =", Cell::Id(owner_id))]);
    records::list_page(state, ctx, listing, &query.cursor).await
}

impl Record for Company {
    const KIND: &'static str = "company";
    const TABLE: &'static str = "companies";
    const COLUMNS: &'static str = queries::COLUMNS;
    type Input = CompanyInput;
    type Patch = CompanyPatch;

    common_columns!();
    crate::services::custom_fields::custom_record!("companies");
    fn own_sort_value(&self, field: &str) -> Option<After> {
        (field == "name").then(|| After::Text(self.name.clone(), self.id))
    }
    fn audit_details(&self) -> Value {
        json!({ "name": self.name })
    }

    fn columns(&self) -> Vec<Column<'_>> {
        vec![
            ("custom", Cell::Map(&self.custom.0)),
            ("name", Cell::Text(Some(&self.name))),
            ("domain", Cell::Text(self.domain.as_deref())),
            ("industry", Cell::Text(self.industry.as_deref())),
            ("employee_count", Cell::Int(self.employee_count)),
        ]
    }
    checked_by!(check);

    /// 409 `duplicate_company` when another company has this domain.
    async fn ensure_unique(c: Exec<'_>, ctx: &OrgCtx, company: &Self) -> AppResult<()> {
        let Some(domain) = &company.domain else {
            return Ok(());
        };
        records::unique::<Self>(queries::find_by_domain(c, ctx.org_id, domain, Some(company.id)).await?)
    }
    fn duplicate() -> AppError {
        AppError::conflict("duplicate_company", "a company with this domain already exists")
    }

    async fn after_change(c: Exec<'_>, ctx: &OrgCtx, before: &Self, after: &Self) -> AppResult<()> {
        if after.name != before.name {
            // Contacts are found by their company's name.
            crate::services::contacts::reindex_company(c, ctx.org_id, after.id, Some(&after.name)).await?;
        }
        Ok(())
    }

    /// Its contacts and deals stay, without a company (a change of each).
    async fn before_delete(mut c: Exec<'_>, ctx: &OrgCtx, company: &Self) -> AppResult<()> {
        crate::services::contacts::reindex_company(c.re(), ctx.org_id, company.id, None).await?;
        run!(c, conn => sqlx::query(
            "UPDATE deals SET company_id = NULL, updated_at = $3, version = version + 1 WHERE organization_id = $1 AND company_id = $2",
        )
        .bind(ctx.org_id)
        .bind(company.id)
        .bind(crate::db::now())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Merging companies (`records::merge`): their contacts and deals move.
impl crate::services::records::merge::Mergeable for Company {
    const FIELDS: &'static [&'static str] = &["name", "domain", "industry", "employee_count", "owner_id"];
    const POINTED_AT_BY: &'static [(&'static str, &'static str)] =
        &[("contacts", "company_id"), ("deals", "company_id")];
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
