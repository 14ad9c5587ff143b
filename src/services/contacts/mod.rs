//! Contacts `/api/v1/contacts` (api.md §5): people, with E.164 phones and an
//! email and phone unique in the organization.

pub mod queries;

use std::future::Future;

use serde_json::{Value, json};
use sqlx::types::Json as SqlJson;
use uuid::Uuid;

use crate::app::App;
use crate::db::Exec;
use crate::error::{AppError, AppResult, Validator};
use crate::run;
use crate::services::activities::{self, Timeline};
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::records::fields::record_fields;
use crate::services::records::query::list_query;
use crate::services::records::rows::Column;
use crate::services::records::shape::{Checked, OnTimeline, Record, Replace, checked_by, common_columns};
use crate::services::records::{self, After, Cell, Listing, opt, parse_time, parse_uuid};
use crate::services::validate;
pub use queries::Contact;

const SORTS: &[&str] = &["created_at", "updated_at", "name"];

record_fields! {
    /// A contact as sent on create and full replace (`PUT`). Empty strings are null.
    input ContactInput;
    /// A partial change (`PATCH`): fields left out stay; `null` clears.
    patch ContactPatch;
    text ContactText;
    of Contact as current;
    required name: String = current.name.clone(),
    optional email: String = current.email.clone(),
    /// Read with the organization's `default_country` when it has no country code.
    optional phone: String = current.phone.clone(),
    /// 1..10 digits. An extension written in `phone` (`… ext. 12`) is taken from there.
    optional phone_extension: String = current.phone_extension.clone(),
    optional title: String = current.title.clone(),
    optional company_id: String = current.company_id.map(|id| id.to_string()),
    optional lead_source: String = current.lead_source.clone(),
    /// `YYYY-MM-DD`.
    optional customer_since: String = current.customer_since.map(|d| d.to_string()),
    /// Defaults to the caller on create; left out of a `PUT` or `PATCH`, it stays.
    kept owner_id: String = current.owner_id.to_string(),
    tags tags = current.tags.0.clone(),
    /// Custom field values by key (`GET /custom-fields`): a change merges
    /// its keys into the current values, `null` clears one.
    custom custom = &current.custom.0,
}

/// Validates `input` into the contact it describes (`current` for changes):
/// every field error at once, then the rules that need the database.
async fn check(
    mut c: Exec<'_>,
    ctx: &OrgCtx,
    input: ContactInput,
    current: Option<&Contact>,
) -> AppResult<Checked<Contact>> {
    let mut v = Validator::new();
    let name = v.check("name", validate::required_text(&input.name, 200));
    let email = v.check("email", opt(&input.email).map(validate::email).transpose());
    let title = v.check("title", validate::optional_text(input.title.as_deref(), 200));
    let lead_source = v.check(
        "lead_source",
        validate::optional_text(input.lead_source.as_deref(), 100),
    );
    let company_id = v.check("company_id", opt(&input.company_id).map(parse_uuid).transpose());
    let owner_id = v.check("owner_id", opt(&input.owner_id).map(parse_uuid).transpose());
    let customer_since = v.check(
        "customer_since",
        opt(&input.customer_since).map(records::parse_date).transpose(),
    );
    let tags = v.check("tags", records::normalize_tags(&input.tags.unwrap_or_default()));
    let phone = match opt(&input.phone) {
        None => Some(None),
        Some(raw) => v.check("phone", validate::phone(raw, ctx.default_country.as_str()).map(Some)),
    };
    // The extension: the one written in the number, else the field's.
    let typed_extension = phone
        .as_ref()
        .and_then(|p| p.as_ref())
        .and_then(|p| p.extension.clone());
    let phone_extension = match (typed_extension, opt(&input.phone_extension)) {
        (Some(ext), _) => Some(Some(ext)),
        (None, None) => Some(None),
        (None, Some(_)) if matches!(phone, Some(None)) => {
            v.add("phone_extension", "needs a phone number");
            None
        }
        (None, Some(ext)) => v.check("phone_extension", validate::phone_extension(ext).map(Some)),
    };
    let custom = crate::services::custom_fields::check(c.re(), ctx.org_id, "contacts", &mut v, input.custom).await?;
    v.finish()?;
    let (
        Some(name),
        Some(email),
        Some(title),
        Some(lead_source),
        Some(company_id),
        Some(owner_id),
        Some(customer_since),
        Some(tags),
        Some(phone),
        Some(phone_extension),
    ) = (
        name,
        email,
        title,
        lead_source,
        company_id,
        owner_id,
        customer_since,
        tags,
        phone,
        phone_extension,
    )
    else {
        return Err(AppError::internal(anyhow::anyhow!("validated values missing")));
    };

    let owner_id = records::owner_for(c.re(), ctx, owner_id, current.map(|c| c.owner_id)).await?;
    let company_name = match company_id {
        None => None,
        Some(company) => Some(
            queries::company_name(c.re(), ctx.org_id, company)
                .await?
                .ok_or_else(|| {
                    AppError::rule("company_not_found", "company_id is not a company of this organization")
                })?,
        ),
    };
    let phone = phone.map(|p| p.e164);
    let search_text = search_text(&name, email.as_deref(), phone.as_deref(), company_name.as_deref());
    let (id, created_at, updated_at, version) = records::stamps(current);
    let contact = Contact {
        id,
        owner_id,
        name,
        email,
        phone,
        phone_extension,
        title,
        company_id,
        lead_source,
        customer_since,
        tags: SqlJson(tags),
        custom: SqlJson(custom),
        created_at,
        updated_at,
        version,
    };
    Ok(Checked {
        record: contact,
        search_text,
    })
}

/// The words `q` finds a contact by: its name, email, phone (also as national
/// digits) and its company's name.
pub fn search_text(name: &str, email: Option<&str>, phone: Option<&str>, company: Option<&str>) -> String {
    let national = phone.and_then(|p| validate::phone(p, "US").ok()).map(|p| p.national);
    records::search_text([Some(name), email, phone, national.as_deref(), company])
}

/// Keeps a company's contacts findable by its name: after a rename
/// (`Some(name)`), or before the company is deleted (`None`: their `company_id`
/// is cleared, which is a change of each contact).
pub async fn reindex_company(mut c: Exec<'_>, org: Uuid, company: Uuid, name: Option<&str>) -> Result<(), sqlx::Error> {
    let rows: Vec<(Uuid, String, Option<String>, Option<String>)> = run!(c.re(), conn => sqlx::query_as(
        "SELECT id, name, email, phone FROM contacts WHERE organization_id = $1 AND company_id = $2",
    )
    .bind(org)
    .bind(company)
    .fetch_all(conn)
    .await)?;
    if name.is_none() {
        run!(c.re(), conn => sqlx::query(
            "UPDATE contacts SET company_id = NULL, updated_at = $3, version = version + 1 \
             WHERE organization_id = $1 AND company_id = $2",
        )
        .bind(org)
        .bind(company)
        .bind(crate::db::now())
        .execute(conn)
        .await
        .map(|r| r.rows_affected()))?;
    }
    for (id, contact_name, email, phone) in rows {
        let text = search_text(&contact_name, email.as_deref(), phone.as_deref(), name);
        run!(c.re(), conn => sqlx::query("UPDATE contacts SET search_text = $3 WHERE organization_id = $1 AND id = $2")
            .bind(org)
            .bind(id)
            .bind(text)
            .execute(conn)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

list_query! {
    pub struct ContactQuery {
        q: "Every word must be a prefix of a word of the name, email, phone or company name.",
        sort: "`created_at` (default `-created_at`), `updated_at`, `name`; `-` for descending.",
        #[param(value_type = Option<Uuid>)]
        pub company_id: Option<String>,
        pub lead_source: Option<String>,
        /// RFC 3339, inclusive.
        #[param(value_type = Option<DateTime<Utc>>)]
        pub created_after: Option<String>,
        /// RFC 3339, exclusive.
        #[param(value_type = Option<DateTime<Utc>>)]
        pub created_before: Option<String>,
    }
}

/// One page of the contacts the caller may read, filtered and sorted as
/// `query` says (the API's list and the web app's list page).
pub async fn list(state: &App, ctx: &OrgCtx, query: &ContactQuery) -> AppResult<Page<Contact>> {
    let (limit, sort) = records::paging(&query.limit, &query.sort, SORTS, "-created_at")?;
    let mut v = Validator::new();
    let owner_id = v.parsed("owner_id", &query.owner_id, parse_uuid);
    let company_id = v.parsed("company_id", &query.company_id, parse_uuid);
    let created_after = v.parsed("created_after", &query.created_after, parse_time);
    let created_before = v.parsed("created_before", &query.created_before, parse_time);
    v.finish()?;
    let listing = Listing::new(limit, sort, &query.q, &query.tag)?
        .custom(&query.custom)
        .filter([
            ("owner_id =", Cell::Id(owner_id)),
            ("company_id =", Cell::Id(company_id)),
            ("lead_source =", Cell::Text(opt(&query.lead_source))),
            ("created_at >=", Cell::Time(created_after)),
            ("created_at <", Cell::Time(created_before)),
        ]);
    records::list_page(state, ctx, listing, &query.cursor).await
}

fn duplicate() -> AppError {
    AppError::conflict("duplicate_contact", "a contact with this email or phone already exists")
}

impl Record for Contact {
    const KIND: &'static str = "contact";
    const TABLE: &'static str = "contacts";
    const COLUMNS: &'static str = queries::COLUMNS;
    type Input = ContactInput;
    type Patch = ContactPatch;

    common_columns!();
    crate::services::custom_fields::custom_record!("contacts");
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
            ("email", Cell::Text(self.email.as_deref())),
            ("phone", Cell::Text(self.phone.as_deref())),
            ("phone_extension", Cell::Text(self.phone_extension.as_deref())),
            ("title", Cell::Text(self.title.as_deref())),
            ("company_id", Cell::Id(self.company_id)),
            ("lead_source", Cell::Text(self.lead_source.as_deref())),
            ("customer_since", Cell::Date(self.customer_since)),
        ]
    }
    checked_by!(check);
    /// The term search of `queries::list` first.
    fn select<'a>(
        c: Exec<'a>,
        org: Uuid,
        listing: &'a Listing<'_>,
    ) -> impl Future<Output = Result<Vec<Self>, sqlx::Error>> + Send + 'a {
        queries::list(c, org, listing)
    }

    /// 409 `duplicate_contact` when another contact has this email or phone.
    async fn ensure_unique(c: Exec<'_>, ctx: &OrgCtx, contact: &Self) -> AppResult<()> {
        let email = contact.email.as_deref();
        let phone = contact.phone.as_deref();
        match queries::find_duplicate(c, ctx.org_id, email, phone, Some(contact.id)).await? {
            None => Ok(()),
            Some((id, name, field)) => Err(AppError::conflict(
                "duplicate_contact",
                format!("a contact with this {field} already exists: {name}"),
            )
            .with("existing_id", id.to_string())
            .with("field", field)),
        }
    }
    fn duplicate() -> AppError {
        duplicate()
    }

    /// A contact with deals stays (409 `contact_has_deals`); its timeline
    /// goes with it and its tasks stay without it.
    async fn before_delete(mut c: Exec<'_>, ctx: &OrgCtx, contact: &Self) -> AppResult<()> {
        let id = contact.id;
        let deals: i64 = run!(c.re(), conn => sqlx::query_scalar("SELECT COUNT(*) FROM deals WHERE organization_id = $1 AND contact_id = $2")
            .bind(ctx.org_id)
            .bind(id)
            .fetch_one(conn)
            .await)?;
        if deals > 0 {
            return Err(AppError::conflict(
                "contact_has_deals",
                "this contact has deals; delete or move them first",
            ));
        }
        activities::delete_all(c.re(), ctx.org_id, Timeline::Contact(id)).await?;
        crate::services::tasks::detach(c, ctx.org_id, "contact_id", id).await?;
        Ok(())
    }
}

impl Replace for Contact {
    fn check_replace(
        c: Exec<'_>,
        ctx: &OrgCtx,
        current: &Self,
        input: ContactInput,
    ) -> impl Future<Output = AppResult<Checked<Self>>> + Send {
        check(c, ctx, input, Some(current))
    }
}

/// Merging contacts (`records::merge`): deals, tasks and the timeline move;
/// one `system` activity says what merged.
impl crate::services::records::merge::Mergeable for Contact {
    const FIELDS: &'static [&'static str] = &[
        "name",
        "email",
        "phone",
        "phone_extension",
        "title",
        "company_id",
        "lead_source",
        "customer_since",
        "owner_id",
    ];
    const POINTED_AT_BY: &'static [(&'static str, &'static str)] = &[
        ("deals", "contact_id"),
        ("tasks", "contact_id"),
        ("activities", "contact_id"),
    ];
    async fn after_merge(c: Exec<'_>, ctx: &OrgCtx, survivor: Uuid, merged: &[String]) -> AppResult<()> {
        activities::append(
            c,
            ctx.org_id,
            "system",
            None,
            Some(survivor),
            ctx.user_id,
            json!({"event": "merged", "merged_ids": merged}),
        )
        .await?;
        Ok(())
    }
}

/// A contact's timeline holds its own activities and its deals'.
impl OnTimeline for Contact {
    fn timeline(id: Uuid) -> Timeline {
        Timeline::Contact(id)
    }
    fn filed_under(&self) -> activities::Filed {
        activities::Filed {
            contact: Some(self.id),
            ..Default::default()
        }
    }
}
