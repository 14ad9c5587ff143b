//! A record type's list query, declared with [`list_query!`]: the filters
//! every list has (`q`, `owner_id`, `tag`) and its paging (`sort`, `limit`,
//! `cursor`) are written here once; a type names what `q` searches, what it
//! sorts by and its own filters. The `custom.<key>` filters of the types
//! with custom fields are not fields: the query string's are put in
//! `custom` by the handler.

/// See the [module documentation](self).
macro_rules! list_query {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            q: $q_doc:literal,
            sort: $sort_doc:literal,
            $($fields:tt)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            #[doc = $q_doc]
            pub q: Option<String>,
            #[param(value_type = Option<Uuid>)]
            pub owner_id: Option<String>,
            /// Repeatable; all must match.
            #[serde(default)]
            pub tag: Vec<String>,
            $($fields)*
            #[doc = $sort_doc]
            pub sort: Option<String>,
            #[param(value_type = Option<u32>)]
            pub limit: Option<String>,
            pub cursor: Option<String>,
            /// The `custom.<key>` filters, read from the query string
            /// apart (`custom_fields::values::raw_filters`).
            #[serde(skip)]
            #[param(ignore)]
            pub custom: Vec<(String, String)>,
        }

        impl $name {
            /// The query with these `custom.<key>` parameters.
            pub fn with_custom_params(self, custom: Vec<(String, String)>) -> Self {
                Self { custom, ..self }
            }
        }
    };
}
pub(crate) use list_query;
