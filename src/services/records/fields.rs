//! A record type's writable fields, declared once: [`record_fields!`] makes
//! of one list
//! - the create body (`Input`, also `PUT`'s),
//! - the `PATCH` body (`Patch`: fields left out stay, `null` clears), the
//!   whole input a patch makes of the current record (`Patch::apply_to`) and
//!   the patch that replaces every field (`From<Input> for Patch`),
//! - the fields as text (`Text`: what a web form or a CSV row sends, every
//!   value a string, blank for absent), the text of a record (`Text::of`) and
//!   the input a text describes (`Text::input`).
//!
//! Each field is one line: its kind, its name (and type as sent), and its
//! current value as the input would send it (read from the record named
//! after `of`).
//! - `required name: String`: an empty one is refused by the type's check;
//!   in `Patch`, `null` is refused like an empty value.
//! - `optional name: String`: `Option<String>` in `Input`; `null` clears it.
//! - `kept name: String`: `Option<String>` in both bodies: left out keeps
//!   the current value, or takes the default on create (the owner: the
//!   caller).
//! - `whole name`: an optional whole number (a JSON integer or a float with
//!   no fraction, `records::whole_number`).
//! - `tags name`: a list of tags (`"a, b"` as text).
//! - `decimal name`: an optional number (a coordinate); as text, a decimal.
//! - `object name: Type`: an optional JSON object of a declared shape (its
//!   unknown keys refused); JSON as text.
//!
//! Attributes written before a field (doc comments, `#[schema(…)]`) go on the
//! field of both bodies.

/// See the [module documentation](self).
macro_rules! record_fields {
    (
        $(#[$input_meta:meta])*
        input $input:ident;
        $(#[$patch_meta:meta])*
        patch $patch:ident;
        text $text:ident;
        of $record:ty as $current:ident;
        $($fields:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch
            {
                [$(#[$input_meta])*] $input
                [$(#[$patch_meta])*] $patch
                $text $record, $current, patch_value, input_value
            }
            [] [] [] [] []
            $($fields)*
        );
    };

    // One field of each kind: its `Input` field, its `Patch` field, its line
    // of `apply_to` and of `from`.
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* required $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: $ty,]
            [$($p)* $(#[$m])* #[doc = "Required: `null` is refused like an empty value."]
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<$ty>>,]
            [$($a)* $name: (required, $name, $now),]
            [$($f)* $name: (required, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* optional $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<$ty>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<$ty>>,]
            [$($a)* $name: (optional, $name, $now),]
            [$($f)* $name: (optional, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* whole $name:ident = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::whole_number")]
                pub $name: Option<i64>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option_whole_number")]
                pub $name: Option<Option<i64>>,]
            [$($a)* $name: (whole, $name, $now),]
            [$($f)* $name: (optional, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* tags $name:ident = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<Vec<String>>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<Vec<String>>>,]
            [$($a)* $name: (tags, $name, $now),]
            [$($f)* $name: (optional, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* decimal $name:ident = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<f64>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<f64>>,]
            [$($a)* $name: (decimal, $name, $now),]
            [$($f)* $name: (optional, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* object $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<$ty>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<$ty>>,]
            [$($a)* $name: (object, $name, $now),]
            [$($f)* $name: (optional, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* custom $name:ident = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])*
                #[schema(value_type = Option<Object>)]
                pub $name: Option<$crate::services::custom_fields::CustomInput>,]
            [$($p)* $(#[$m])*
                #[schema(value_type = Option<Object>)]
                #[serde(default)]
                pub $name: Option<$crate::services::custom_fields::CustomInput>,]
            [$($a)* $name: (custom, $name, $now),]
            [$($f)* $name: (custom, $name),]
            [$($t)* #[serde(flatten)] pub $name: $crate::services::custom_fields::CustomText,]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*] [$($t:tt)*]
        $(#[$m:meta])* kept $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<$ty>,]
            [$($p)* $(#[$m])* pub $name: Option<$ty>,]
            [$($a)* $name: (kept, $name, $now),]
            [$($f)* $name: (kept, $name),]
            [$($t)* pub $name: String,]
            $($rest)*
        );
    };

    // Every field read: the two structs and their conversions.
    (@munch
        {
            [$($input_meta:tt)*] $input:ident
            [$($patch_meta:tt)*] $patch:ident
            $text:ident $record:ty, $current:ident, $pv:ident, $iv:ident
        }
        [$($i:tt)*] [$($p:tt)*]
        [$($name:ident: ($kind:ident, $field:ident, $now:expr),)*]
        [$($fname:ident: ($fkind:ident, $ffield:ident),)*]
        [$($t:tt)*]
    ) => {
        $($input_meta)*
        #[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $input {
            $($i)*
        }

        $($patch_meta)*
        #[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $patch {
            $($p)*
        }

        impl $patch {
            /// The whole input this patch makes of `current`: what it
            /// leaves out keeps its current value.
            pub fn apply_to(self, $current: &$record) -> $input {
                let $pv = self;
                $input {
                    $($name: $crate::services::records::fields::record_fields!(@apply $kind, $pv.$field, $now),)*
                }
            }
        }

        /// The fields as text, as a web form or a CSV row sends them: blank
        /// is absent.
        #[derive(Debug, Default, Clone, serde::Deserialize)]
        #[serde(default)]
        pub struct $text {
            $($t)*
        }

        impl $text {
            /// The record's fields as its edit form shows them.
            pub fn of($current: &$record) -> Self {
                $text {
                    $($name: $crate::services::records::fields::record_fields!(@text $kind, $now),)*
                }
            }
        }

        impl $crate::services::records::fields::Text for $text {
            type Input = $input;
            type Patch = $patch;
            fn input(&self) -> $crate::error::AppResult<$input> {
                let $pv = self;
                Ok($input {
                    $($name: $crate::services::records::fields::record_fields!(@read $kind, $pv.$field, $field),)*
                })
            }
            fn patch(&self) -> $crate::error::AppResult<$patch> {
                self.input().map(Into::into)
            }
        }

        impl From<$input> for $patch {
            /// Every field replaces the record's.
            fn from($iv: $input) -> Self {
                $patch {
                    $($fname: $crate::services::records::fields::record_fields!(@from $fkind, $iv.$ffield),)*
                }
            }
        }
    };

    (@apply required, $value:expr, $now:expr) => { $value.map_or_else(|| $now, Option::unwrap_or_default) };
    (@apply optional, $value:expr, $now:expr) => { $value.unwrap_or_else(|| $now) };
    (@apply whole, $value:expr, $now:expr) => { $value.unwrap_or_else(|| $now) };
    (@apply tags, $value:expr, $now:expr) => { $value.unwrap_or_else(|| Some($now)) };
    (@apply kept, $value:expr, $now:expr) => { Some($value.unwrap_or_else(|| $now)) };
    (@apply object, $value:expr, $now:expr) => { $value.unwrap_or_else(|| $now) };
    (@apply decimal, $value:expr, $now:expr) => { $value.unwrap_or_else(|| $now) };
    (@apply custom, $value:expr, $now:expr) => {
        Some($crate::services::custom_fields::CustomInput::merged($now, $value))
    };
    (@text custom, $now:expr) => { $crate::services::custom_fields::CustomText::of($now) };
    (@read custom, $value:expr, $field:ident) => {
        Some($crate::services::custom_fields::CustomInput::from_text(&$value))
    };
    (@from custom, $value:expr) => { $value };
    (@text required, $now:expr) => { $now };
    (@text optional, $now:expr) => { $now.unwrap_or_default() };
    (@text whole, $now:expr) => { $now.map(|n| n.to_string()).unwrap_or_default() };
    (@text tags, $now:expr) => { $now.join(", ") };
    (@text kept, $now:expr) => { $now };
    (@text decimal, $now:expr) => { $now.map(|n: f64| n.to_string()).unwrap_or_default() };
    (@text object, $now:expr) => { $now.map(|v| serde_json::to_string(&v).unwrap_or_default()).unwrap_or_default() };
    (@read required, $value:expr, $field:ident) => { $value.clone() };
    (@read optional, $value:expr, $field:ident) => { $crate::services::records::fields::filled(&$value) };
    (@read kept, $value:expr, $field:ident) => { $crate::services::records::fields::filled(&$value) };
    (@read decimal, $value:expr, $field:ident) => {
        $crate::services::records::fields::decimal(stringify!($field), &$value)?
    };
    (@read object, $value:expr, $field:ident) => {
        $crate::services::records::fields::object(stringify!($field), &$value)?
    };
    (@read tags, $value:expr, $field:ident) => { Some($crate::services::records::fields::tag_list(&$value)) };
    (@read whole, $value:expr, $field:ident) => {
        $crate::services::records::fields::whole(stringify!($field), &$value)?
    };
    (@from required, $value:expr) => { Some(Some($value)) };
    (@from optional, $value:expr) => { Some($value) };
    (@from kept, $value:expr) => { $value };
}
pub(crate) use record_fields;

/// A record's fields as text (a web form, a CSV row).
pub trait Text {
    type Input;
    type Patch;
    /// The input the text describes, or the error of a value that cannot be
    /// read (the type's check refuses the rest).
    fn input(&self) -> crate::error::AppResult<Self::Input>;
    /// The change the text describes when it holds the whole record (an
    /// edit form): every field it holds replaces the record's.
    fn patch(&self) -> crate::error::AppResult<Self::Patch>;
}

/// A text field's value: trimmed, `None` when blank.
pub fn filled(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// `"a, b"` → `["a", "b"]`.
pub fn tag_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// A decimal number written as text, or the field error the API would give.
pub fn decimal(field: &str, value: &str) -> crate::error::AppResult<Option<f64>> {
    match filled(value) {
        None => Ok(None),
        Some(n) => n
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| crate::error::AppError::field(field, "must be a number")),
    }
}

/// A JSON object written as text, or the field error the API would give.
pub fn object<T: serde::de::DeserializeOwned>(field: &str, value: &str) -> crate::error::AppResult<Option<T>> {
    match filled(value) {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            crate::error::AppError::field(field, format!("must be a JSON object of the documented keys: {e}"))
        }),
    }
}

/// A whole number written as text, or the field error the API would give.
pub fn whole(field: &str, value: &str) -> crate::error::AppResult<Option<i64>> {
    match filled(value) {
        None => Ok(None),
        Some(n) => n
            .parse()
            .map(Some)
            .map_err(|_| crate::error::AppError::field(field, "must be a whole number")),
    }
}
