//! Per-field validation messages, shown beside the field they belong to.

use std::collections::BTreeMap;

use super::AppError;
use crate::db::is_unique_violation;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, String>);

impl FieldErrors {
    pub fn new() -> FieldErrors {
        FieldErrors::default()
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> FieldErrors {
        let mut e = FieldErrors::new();
        e.add(field, message);
        e
    }

    /// Keeps the first message for a field: it is usually the most basic problem.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_insert_with(|| message.into());
    }

    /// (field, message) pairs, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(f, m)| (*f, m.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, or "" (templates test `!= ""`).
    pub fn get(&self, field: &str) -> &str {
        self.0.get(field).map(String::as_str).unwrap_or("")
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// `Err(self)` when any field has a message.
    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

/// A unique-constraint violation as the answer a person understands; any other database
/// error stays internal. One place for "duplicate code / region / key → message".
pub trait OnUnique<T> {
    /// The violation becomes a field error beside `field` (the form is shown again).
    fn unique_field(self, field: &'static str, message: &str) -> Result<T, AppError>;
    /// The violation refuses the action with `message` (no form field to attach it to).
    fn unique_refused(self, message: &str) -> Result<T, AppError>;
}

impl<T> OnUnique<T> for Result<T, sqlx::Error> {
    fn unique_field(self, field: &'static str, message: &str) -> Result<T, AppError> {
        self.map_err(|e| unique_to_field(e, field, message))
    }
    fn unique_refused(self, message: &str) -> Result<T, AppError> {
        self.map_err(|e| {
            if is_unique_violation(&e) {
                AppError::refused(message)
            } else {
                e.into()
            }
        })
    }
}

/// `err` as a field error when it is a unique violation, else an internal error.
pub fn unique_to_field(err: sqlx::Error, field: &'static str, message: &str) -> AppError {
    if is_unique_violation(&err) {
        AppError::Invalid(FieldErrors::one(field, message))
    } else {
        err.into()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    #[derive(Debug)]
    struct Fake(ErrorKind);
    impl std::fmt::Display for Fake {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("fake")
        }
    }
    impl StdError for Fake {}
    impl DatabaseError for Fake {
        fn message(&self) -> &str {
            "fake"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            None
        }
        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            match self.0 {
                ErrorKind::UniqueViolation => ErrorKind::UniqueViolation,
                _ => ErrorKind::Other,
            }
        }
    }

    fn db_err(kind: ErrorKind) -> Result<(), sqlx::Error> {
        Err(sqlx::Error::Database(Box::new(Fake(kind))))
    }

    #[test]
    fn unique_violations_become_the_given_answer() {
        match db_err(ErrorKind::UniqueViolation).unique_field("code", "Taken.") {
            Err(AppError::Invalid(e)) => assert_eq!(e.get("code"), "Taken."),
            other => panic!("{other:?}"),
        }
        match db_err(ErrorKind::UniqueViolation).unique_refused("Busy.") {
            Err(AppError::Refused(m)) => assert_eq!(m, "Busy."),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            db_err(ErrorKind::Other).unique_field("code", "Taken."),
            Err(AppError::Internal(_))
        ));
        assert!(matches!(
            Err::<(), _>(sqlx::Error::RowNotFound).unique_refused("Busy."),
            Err(AppError::Internal(_))
        ));
    }
}
