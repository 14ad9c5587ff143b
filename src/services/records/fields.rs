//! A record type's writable fields, declared once: [`record_fields!`] makes
//! of one list the create body (`Input`, also `PUT`'s), the `PATCH` body
//! (`Patch`: fields left out stay, `null` clears), the whole input a patch
//! makes of the current record (`Patch::apply_to`) and the patch that
//! replaces every field (`From<Input> for Patch`, the web app's edit form).
//!
//! Each field is one line: its kind, its name and type as sent, and its
//! current value as the input would send it (read from the record named
//! after `of`).
//! - `required`: in `Input` a `T` (an empty one is refused by the check); in
//!   `Patch` `null` is refused like an empty value.
//! - `optional`: `Option<T>` in `Input`; `null` clears it.
//! - `whole`: an optional whole number (a JSON integer or a float with no
//!   fraction, `records::whole_number`).
//! - `kept`: `Option<T>` in both: left out (or, in `Input`, absent) keeps the
//!   current value or takes the default (the owner: the caller).
//!
//! Attributes written before a field (doc comments, `#[schema(…)]`) go on the
//! field of both structs.

/// See the [module documentation](self).
macro_rules! record_fields {
    (
        $(#[$input_meta:meta])*
        input $input:ident;
        $(#[$patch_meta:meta])*
        patch $patch:ident;
        of $record:ty as $current:ident;
        $($fields:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch
            {
                [$(#[$input_meta])*] $input
                [$(#[$patch_meta])*] $patch
                $record, $current, patch_value, input_value
            }
            [] [] [] []
            $($fields)*
        );
    };

    // One field of each kind: its `Input` field, its `Patch` field, its line
    // of `apply_to` and of `from`.
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*]
        $(#[$m:meta])* required $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: $ty,]
            [$($p)* $(#[$m])* #[doc = "Required: `null` is refused like an empty value."]
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<$ty>>,]
            [$($a)* $name: (required, $name, $now),]
            [$($f)* $name: (required, $name),]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*]
        $(#[$m:meta])* optional $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<$ty>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option")]
                pub $name: Option<Option<$ty>>,]
            [$($a)* $name: (optional, $name, $now),]
            [$($f)* $name: (optional, $name),]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*]
        $(#[$m:meta])* whole $name:ident = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::whole_number")]
                pub $name: Option<i64>,]
            [$($p)* $(#[$m])*
                #[serde(default, deserialize_with = "crate::services::records::double_option_whole_number")]
                pub $name: Option<Option<i64>>,]
            [$($a)* $name: (optional, $name, $now),]
            [$($f)* $name: (optional, $name),]
            $($rest)*
        );
    };
    (@munch $header:tt [$($i:tt)*] [$($p:tt)*] [$($a:tt)*] [$($f:tt)*]
        $(#[$m:meta])* kept $name:ident : $ty:ty = $now:expr, $($rest:tt)*
    ) => {
        $crate::services::records::fields::record_fields!(@munch $header
            [$($i)* $(#[$m])* pub $name: Option<$ty>,]
            [$($p)* $(#[$m])* pub $name: Option<$ty>,]
            [$($a)* $name: (kept, $name, $now),]
            [$($f)* $name: (kept, $name),]
            $($rest)*
        );
    };

    // Every field read: the two structs and their conversions.
    (@munch
        {
            [$($input_meta:tt)*] $input:ident
            [$($patch_meta:tt)*] $patch:ident
            $record:ty, $current:ident, $pv:ident, $iv:ident
        }
        [$($i:tt)*] [$($p:tt)*]
        [$($name:ident: ($kind:ident, $field:ident, $now:expr),)*]
        [$($fname:ident: ($fkind:ident, $ffield:ident),)*]
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
    (@apply kept, $value:expr, $now:expr) => { Some($value.unwrap_or_else(|| $now)) };
    (@from required, $value:expr) => { Some(Some($value)) };
    (@from optional, $value:expr) => { Some($value) };
    (@from kept, $value:expr) => { $value };
}
pub(crate) use record_fields;
