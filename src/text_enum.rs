//! `text_enum!`: enums stored as TEXT columns, with parsing and human labels.

/// Declares a string-backed enum with `ALL`, `as_str`, `parse` and a human `label`.
#[macro_export]
macro_rules! text_enum {
    ($name:ident { $($variant:ident => $text:literal / $label:literal),+ $(,)? }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <&str as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }
        /// Row fields of this type: an unknown stored value is a decode error (the query
        /// fails, naming the column and the value), never a silent default.
        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: sqlx::any::AnyValueRef<'r>,
            ) -> Result<$name, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok($name::from_stored(s)?)
            }
        }
        impl $name {
            /// A value read from the database: unknown text is an error naming the enum.
            pub fn from_stored(s: &str) -> Result<$name, $crate::text_enum::UnknownText> {
                $name::parse(s).ok_or_else(|| $crate::text_enum::UnknownText {
                    kind: stringify!($name),
                    value: s.to_string(),
                })
            }
        }
        /// Serialised as its stored text (e.g. in a session record).
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::from_stored(&s).map_err(serde::de::Error::custom)
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored text that is none of an enum's values (a bad row, not bad input).
#[derive(Debug, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownText {
    pub kind: &'static str,
    pub value: String,
}

#[cfg(test)]
mod tests {
    crate::text_enum!(Colour { Red => "RED" / "Red" });

    #[test]
    fn unknown_stored_text_is_an_error() {
        assert_eq!(Colour::from_stored("RED").unwrap().label(), "Red");
        let e = Colour::from_stored("BLUE").unwrap_err();
        assert_eq!(e.to_string(), "unknown Colour \"BLUE\"");
        assert_eq!(serde_json::to_string(&Colour::Red).unwrap(), "\"RED\"");
        assert_eq!(
            serde_json::from_str::<Colour>("\"RED\"").unwrap(),
            Colour::Red
        );
        assert!(serde_json::from_str::<Colour>("\"BLUE\"").is_err());
    }
}
