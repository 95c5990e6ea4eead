//! The 10,000 most common passwords, bundled so the check works offline.
//!
//! `common_passwords.txt` is `lib/10k most common.txt` from the npm package `common-password`
//! 0.1.2 (https://github.com/meehow/common-password), ISC licence, copyright (c) Michał Adamski;
//! the list is Mark Burnett's "10,000 Top Passwords". Only the line endings were changed
//! (CRLF to LF). ISC licence: "Permission to use, copy, modify, and/or distribute this software
//! for any purpose with or without fee is hereby granted, provided that the above copyright
//! notice and this permission notice appear in all copies."

use std::collections::HashSet;
use std::sync::LazyLock;

const LIST: &str = include_str!("common_passwords.txt");

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// True when the password (compared case-insensitively: the list is lower-case) is on the list.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

pub fn count() -> usize {
    COMMON.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_list_is_complete_and_matches_case_insensitively() {
        assert_eq!(count(), 10_000);
        assert!(is_common("password") && is_common("PassWord"));
        assert!(is_common("qwerty") && is_common("trustno1"));
        assert!(!is_common("correct horse battery staple"));
    }
}
