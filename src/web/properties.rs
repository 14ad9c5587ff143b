//! Properties: the list with its filters (and a card view with the main
//! facts), the create form, and the property page with the leads it fits.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::ListQuery;
use super::records::{Column, Edited, Filter, Head, Listed};
use super::related;
use super::session::Web;
use super::view::{self, Choice, FormErrors, Shell, filled, text};
use crate::app::App;
use crate::error::AppResult;
use crate::services::custom_fields::{CustomInput, CustomText};
use crate::services::leads::PROPERTY_TYPES;
use crate::services::orgs::OrgCtx;
use crate::services::pagination::Page;
use crate::services::properties::{
    self, Address, LISTING_TYPES, Property, PropertyInput, PropertyPatch, PropertyQuery, STATUSES,
};
use crate::services::records::fields::{self, Text};
use crate::services::records::{self};
use std::future::Future;
use uuid::Uuid;

/// A price as people read it: `350,000.00 EUR`.
fn price(p: &Property) -> String {
    format!("{} {}", crate::format::money(p.price_cents, &p.currency), p.currency)
}

fn city(p: &Property) -> String {
    p.place("city").unwrap_or_default().to_string()
}

impl Listed for Property {
    type Params = PropertyQuery;
    const PATH: &'static str = "/properties";
    const VIEWS: &'static str = "properties";
    const BULK: bool = true;
    const TITLE: &'static str = "Properties";
    const NOUN: &'static str = "property";
    const SEARCH_HINT: &'static str = "Title, locality, city";
    const ACTIONS: &'static [(&'static str, &'static str)] = &[("/properties/cards", "Cards")];
    const FILTERS: &'static [Filter] = &[
        Filter {
            name: "status",
            label: "Status",
            options: &STATUSES,
        },
        Filter {
            name: "property_type",
            label: "Type",
            options: &PROPERTY_TYPES,
        },
        Filter {
            name: "listing_type",
            label: "For",
            options: &LISTING_TYPES,
        },
        Filter {
            name: "city",
            label: "City",
            options: &[],
        },
        Filter {
            name: "price_min",
            label: "Price from",
            options: &[],
        },
        Filter {
            name: "price_max",
            label: "Price to",
            options: &[],
        },
        Filter {
            name: "bedrooms_min",
            label: "Bedrooms at least",
            options: &[],
        },
    ];

    fn list(state: &App, ctx: &OrgCtx, params: &PropertyQuery) -> impl Future<Output = AppResult<Page<Self>>> + Send {
        properties::list(state, ctx, params)
    }
    fn list_columns() -> Vec<Column<Self>> {
        vec![
            Column::id(),
            Self::column("Title", "title", |p, _| p.title.clone())
                .link()
                .folding(|p, _| city(p)),
            Self::column("Type", "property_type", |p, _| p.property_type.clone()).class("hide-narrow"),
            Self::column("For", "listing_type", |p, _| p.listing_type.clone()).class("hide-narrow"),
            Self::column("Status", "status", |p, _| p.status.clone()).badge(),
            Self::column("Price", "price", |p, _| crate::format::cents(p.price_cents))
                .shown_as(|p, _| price(p))
                .sorted_by("price")
                .class("num"),
            Self::export_column("currency", |p, _| p.currency.clone()),
            Self::column("Bedrooms", "bedrooms", |p, _| {
                p.bedrooms.map(|n| n.to_string()).unwrap_or_default()
            })
            .class("num hide-narrow"),
            Self::column("City", "city", |p, _| city(p)).class("hide-narrow"),
            Column::owner(),
            Column::tags(),
            Column::created(),
        ]
    }
}

/// A property's main facts, as a card.
pub struct Card {
    pub id: String,
    pub title: String,
    pub price: String,
    pub facts: String,
    pub place: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "properties_cards.html")]
struct CardsPage {
    shell: Shell,
    cards: Vec<Card>,
    next: Option<String>,
    previous: Option<String>,
}

/// `GET /properties/cards`: the list's filters, as cards.
pub async fn cards(
    State(state): State<App>,
    web: Web,
    ListQuery(mut params, pairs): ListQuery<PropertyQuery>,
) -> Response {
    params.limit = Some("60".into());
    params.custom = crate::services::custom_fields::values::raw_filters(&pairs);
    let page = match properties::list(&state, &web.ctx, &params).await {
        Ok(page) => page,
        Err(e) => return view::error_page(&e),
    };
    let urls = view::ListUrls::new("/properties/cards", &pairs, "-created_at");
    let cards = page
        .data
        .iter()
        .map(|p| {
            let mut facts = vec![p.property_type.clone(), format!("for {}", p.listing_type)];
            if let Some(n) = p.bedrooms {
                facts.push(format!("{n} bedrooms"));
            }
            if let Some(n) = p.bathrooms {
                facts.push(format!("{n} bathrooms"));
            }
            if let Some(n) = p.area_sqft {
                facts.push(format!("{n} sq ft"));
            }
            let place = ["locality", "city"]
                .iter()
                .filter_map(|part| p.place(part))
                .collect::<Vec<_>>()
                .join(", ");
            Card {
                id: p.id.to_string(),
                title: p.title.clone(),
                price: price(p),
                facts: facts.join(" · "),
                place,
                status: p.status.clone(),
            }
        })
        .collect();
    view::render(
        StatusCode::OK,
        &CardsPage {
            shell: Shell::new(&web, "properties", "Properties"),
            cards,
            next: urls.next(&page.next_cursor),
            previous: urls.previous(),
        },
    )
}

/// The property form as typed: the address as fields of its own.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct PropertyForm {
    pub title: String,
    pub property_type: String,
    pub listing_type: String,
    pub status: String,
    pub price: String,
    pub currency: String,
    pub bedrooms: String,
    pub bathrooms: String,
    pub area_sqft: String,
    pub line1: String,
    pub locality: String,
    pub city: String,
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub latitude: String,
    pub longitude: String,
    pub description: String,
    pub seller_contact_id: String,
    pub owner_id: String,
    pub tags: String,
    /// The `custom.<key>` fields.
    #[serde(flatten)]
    pub custom: CustomText,
}

impl PropertyForm {
    pub fn of(p: &Property) -> Self {
        let at = |part: &str| p.place(part).unwrap_or_default().to_string();
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        PropertyForm {
            title: p.title.clone(),
            property_type: p.property_type.clone(),
            listing_type: p.listing_type.clone(),
            status: p.status.clone(),
            price: crate::format::cents(p.price_cents),
            currency: p.currency.clone(),
            bedrooms: number(p.bedrooms),
            bathrooms: number(p.bathrooms),
            area_sqft: number(p.area_sqft),
            line1: at("line1"),
            locality: at("locality"),
            city: at("city"),
            region: at("region"),
            postal_code: at("postal_code"),
            country: at("country"),
            latitude: p.latitude.map(|n| n.to_string()).unwrap_or_default(),
            longitude: p.longitude.map(|n| n.to_string()).unwrap_or_default(),
            description: text(&p.description),
            seller_contact_id: p.seller_contact_id.map(|i| i.to_string()).unwrap_or_default(),
            owner_id: p.owner_id.to_string(),
            tags: p.tags.join(", "),
            custom: CustomText::of(&p.custom.0),
        }
    }
}

impl Text for PropertyForm {
    type Input = PropertyInput;
    type Patch = PropertyPatch;
    fn input(&self) -> AppResult<PropertyInput> {
        let address = Address {
            line1: filled(&self.line1),
            locality: filled(&self.locality),
            city: filled(&self.city),
            region: filled(&self.region),
            postal_code: filled(&self.postal_code),
            country: filled(&self.country),
        };
        Ok(PropertyInput {
            title: self.title.clone(),
            property_type: filled(&self.property_type),
            listing_type: filled(&self.listing_type),
            status: filled(&self.status),
            price: filled(&self.price),
            currency: filled(&self.currency),
            bedrooms: fields::whole("bedrooms", &self.bedrooms)?,
            bathrooms: fields::whole("bathrooms", &self.bathrooms)?,
            area_sqft: fields::whole("area_sqft", &self.area_sqft)?,
            address: (address != Address::default()).then_some(address),
            latitude: fields::decimal("latitude", &self.latitude)?,
            longitude: fields::decimal("longitude", &self.longitude)?,
            description: filled(&self.description),
            seller_contact_id: filled(&self.seller_contact_id),
            owner_id: filled(&self.owner_id),
            tags: Some(fields::tag_list(&self.tags)),
            custom: Some(CustomInput::from_text(&self.custom)),
        })
    }
    fn patch(&self) -> AppResult<PropertyPatch> {
        self.input().map(Into::into)
    }
}

#[derive(Template)]
#[template(path = "property_new.html")]
pub struct NewPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    noun: &'static str,
    path: &'static str,
    form: PropertyForm,
    members: Vec<Choice>,
    contacts: Vec<Choice>,
    errors: FormErrors,
    types: &'static [&'static str],
    listings: &'static [&'static str],
    statuses: &'static [&'static str],
}

/// A lead the property fits, on its page.
pub struct LeadFit {
    pub id: String,
    pub name: String,
    pub score: String,
    pub reasons: String,
}

impl Edited for Property {
    type Form = PropertyForm;
    type NewPage = NewPage;
    type RecordPage = RecordPage;

    async fn new_page(state: &App, web: &Web, form: PropertyForm, errors: FormErrors) -> AppResult<NewPage> {
        Ok(NewPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "properties", &form.custom).await?,
            noun: Self::NOUN,
            path: Self::PATH,
            shell: Shell::new(web, "properties", "New property"),
            members: view::members(state, web.ctx.org_id).await?,
            contacts: related::contact_choices(state, web, &form.seller_contact_id).await?,
            form,
            errors,
            types: &PROPERTY_TYPES,
            listings: &LISTING_TYPES,
            statuses: &STATUSES,
        })
    }
    async fn record_page(
        state: &App,
        web: &Web,
        id: Uuid,
        form: Option<PropertyForm>,
        errors: FormErrors,
    ) -> AppResult<RecordPage> {
        let property = records::read::<Property>(state, &web.ctx, id).await?;
        let members = view::members(state, web.ctx.org_id).await?;
        let form = form.unwrap_or_else(|| PropertyForm::of(&property));
        let fits = properties::matching_leads(state, &web.ctx, &property)
            .await?
            .into_iter()
            .map(|(lead, score, reasons)| LeadFit {
                id: lead.id.to_string(),
                name: lead.name,
                score: format!("{:.0} %", score * 100.0),
                reasons: reasons.join(" · "),
            })
            .collect();
        Ok(RecordPage {
            custom: view::custom_inputs(state, web.ctx.org_id, "properties", &form.custom).await?,
            shell: Shell::new(web, "properties", property.title.clone()),
            contacts: related::contact_choices(state, web, &form.seller_contact_id).await?,
            form,
            head: Head::of(&property, &property.title, &members, &web.ctx),
            price: price(&property),
            status: property.status.clone(),
            members,
            errors,
            fits,
            types: &PROPERTY_TYPES,
            listings: &LISTING_TYPES,
            statuses: &STATUSES,
        })
    }
}

#[derive(Template)]
#[template(path = "property.html")]
pub struct RecordPage {
    /// The organization's custom fields of the type, as form inputs.
    custom: Vec<view::CustomInputView>,
    shell: Shell,
    head: Head,
    form: PropertyForm,
    price: String,
    status: String,
    members: Vec<Choice>,
    contacts: Vec<Choice>,
    errors: FormErrors,
    fits: Vec<LeadFit>,
    types: &'static [&'static str],
    listings: &'static [&'static str],
    statuses: &'static [&'static str],
}
