//! Saved views in the web app: tabs above a list (its own views and the
//! shared ones), "Save view" keeping the current filters and sort, and a
//! delete button for a view the reader may change
//! (`crate::services::views`).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;

use super::session::Web;
use super::view;
use super::{Form, see_other};
use crate::app::App;
use crate::error::AppResult;
use crate::http::extract::IdPath;
use crate::services::orgs::Role;
use crate::services::records::bulk::list_query;
use crate::services::views::{self, ViewInput, ViewQuery};

/// One tab.
pub struct Tab {
    pub id: String,
    pub name: String,
    pub query: String,
    pub shared: bool,
    pub active: bool,
    /// The reader may delete it (their own, or shared for managers and above).
    pub deletable: bool,
}

/// The tabs above a list.
pub struct Tabs {
    pub object: &'static str,
    pub path: &'static str,
    pub tabs: Vec<Tab>,
    /// The list's current filters and sort, as "Save view" keeps them.
    pub current: String,
    /// No filter is set ("All" is the active tab).
    pub all: bool,
}

impl Tabs {
    pub fn active(&self) -> Option<&Tab> {
        self.tabs.iter().find(|t| t.active)
    }
}

/// A query's parameters as compared: without paging and empty values, in order.
fn normalized(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = pairs
        .iter()
        .filter(|(k, v)| !v.is_empty() && !matches!(k.as_str(), "cursor" | "trail" | "limit" | "_csrf" | "done"))
        .cloned()
        .collect();
    kept.sort();
    kept
}

/// The tabs of `object`'s list at `path`, with the address's `pairs`.
pub async fn tabs(
    state: &App,
    web: &Web,
    object: &'static str,
    path: &'static str,
    pairs: &[(String, String)],
) -> AppResult<Tabs> {
    let query = ViewQuery {
        object: Some(object.to_string()),
    };
    let current = normalized(pairs);
    let saved = views::list(state, &web.ctx, &query).await?;
    let tabs = saved
        .into_iter()
        .map(|v| {
            let query = list_query(&v.query).to_string();
            let theirs: Vec<(String, String)> = serde_html_form::from_str(&query).unwrap_or_default();
            Tab {
                active: !current.is_empty() && normalized(&theirs) == current,
                deletable: v.owner_id == web.ctx.user_id || (v.shared && web.ctx.role >= Role::Manager),
                id: v.id.to_string(),
                name: v.name,
                query,
                shared: v.shared,
            }
        })
        .collect();
    Ok(Tabs {
        object,
        path,
        tabs,
        all: current.iter().all(|(k, _)| k == "sort"),
        current: serde_html_form::to_string(&current).unwrap_or_default(),
    })
}

/// "Save view": the list's current query under a name.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SaveForm {
    object: String,
    name: String,
    query: String,
    shared: String,
}

/// Where the list of records of `kind` (`Record::KIND`) is.
pub fn list_of(kind: &str) -> &'static str {
    match kind {
        "contact" => "/contacts",
        "company" => "/companies",
        "deal" => "/deals",
        "lead" => "/leads",
        "property" => "/properties",
        _ => "/tasks",
    }
}

/// `POST /views`: saves the view and shows it.
pub async fn save(State(state): State<App>, web: Web, Form(form): Form<SaveForm>) -> Response {
    let input = ViewInput {
        object: form.object.clone(),
        name: form.name.clone(),
        query: Some(form.query.clone()),
        columns: None,
        shared: !form.shared.is_empty(),
    };
    match views::create(&state, &web.ctx, input).await {
        // A view's object is its list's path (`views::OBJECTS`).
        Ok(v) => see_other(&format!("/{}?{}", v.object, list_query(&v.query))),
        Err(e) => view::error_page(&e),
    }
}

/// `POST /views/{id}/delete`: back to the whole list.
pub async fn delete(State(state): State<App>, web: Web, IdPath(id): IdPath) -> Response {
    let object = match views::read(&state, &web.ctx, id).await {
        Ok(v) => v.object,
        Err(e) => return view::error_page(&e),
    };
    match views::delete(&state, &web.ctx, id).await {
        Ok(()) => see_other(&format!("/{object}")),
        Err(e) => view::error_page(&e),
    }
}
