//! The web side of the record shape: a record type's list page (100 rows,
//! filters and sort in the URL, next-page link) and its CSV export of every
//! row of the current filter, written once. A type declares its page in one
//! [`Listed`] impl in its own module.

use std::future::Future;

use axum::extract::State;
use axum::response::Response;
use serde::de::DeserializeOwned;

use super::ListQuery;
use super::session::Web;
use super::view::{self, Choice, ListParts, ListUrls, Shell};
use crate::app::App;
use crate::error::AppResult;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::{MAX_LIMIT, Page};
use crate::services::records::Record;

/// Rows per list page.
pub const PAGE_SIZE: &str = "100";

/// The query of a list: its filters, and where a page starts.
pub trait ListParams: Clone + DeserializeOwned + Send + Sync + 'static {
    /// The same filters, for one page of `limit` rows from `cursor`.
    fn page(&self, limit: &str, cursor: Option<String>) -> Self;
}

/// What a record type's list page and export are made of.
pub trait Listed: Record {
    type Params: ListParams;
    /// A row as the page shows it.
    type Row;
    /// The list's path (`/contacts`); the export is at `<PATH>.csv`.
    const PATH: &'static str;
    /// The navigation tab and the page title.
    const TAB: &'static str;
    const TITLE: &'static str;
    const DEFAULT_SORT: &'static str;
    const CSV_HEADER: &'static [&'static str];

    /// The service's list (the API's list too).
    fn list(state: &App, ctx: &OrgCtx, params: &Self::Params) -> impl Future<Output = AppResult<Page<Self>>> + Send;
    fn row(&self, members: &[Choice]) -> Self::Row;
    fn csv(&self, members: &[Choice]) -> Vec<String>;
    /// The page itself (the type's template).
    fn render(shell: Shell, list: ListParts<Self::Row>) -> Response;
}

/// `GET <PATH>`: one page of the list.
pub async fn list<R: Listed>(
    State(state): State<App>,
    web: Web,
    ListQuery(params, pairs): ListQuery<R::Params>,
) -> Response {
    let params = params.page(PAGE_SIZE, params_cursor(&pairs));
    let urls = ListUrls::new(R::PATH, &pairs, R::DEFAULT_SORT);
    let fetch = R::list(&state, &web.ctx, &params);
    match view::list_parts(&state, web.ctx.org_id, urls, fetch, |r: &R, m| r.row(m)).await {
        Ok(list) => R::render(Shell::new(&web, R::TAB, R::TITLE), list),
        Err(page) => page,
    }
}

/// `GET <PATH>.csv`: every row of the current filter.
pub async fn export<R: Listed>(
    State(state): State<App>,
    web: Web,
    ListQuery(params, _): ListQuery<R::Params>,
) -> Response {
    let members = match view::members(&state, web.ctx.org_id).await {
        Ok(m) => m,
        Err(e) => return view::error_page(&e),
    };
    let filename = format!("{}.csv", R::PATH.trim_start_matches('/'));
    let (state, ctx, base) = (&state, &web.ctx, &params);
    let limit = MAX_LIMIT.to_string();
    view::export_csv(
        &filename,
        R::CSV_HEADER,
        |cursor| {
            let params = base.page(&limit, cursor);
            async move { R::list(state, ctx, &params).await }
        },
        |r: &R| r.csv(&members),
    )
    .await
}

/// The `cursor` of the address, if any (the page keeps it).
fn params_cursor(pairs: &[(String, String)]) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty())
}
