//! Page numbers for lists: `?page=N`, a fixed page size, and links that keep the filters.

use serde::Deserialize;

pub const PAGE_SIZE: i64 = 25;

#[derive(Clone, Copy, Debug)]
pub struct PageRequest {
    pub page: i64,
    pub size: i64,
}

impl PageRequest {
    pub fn new(page: Option<i64>) -> PageRequest {
        PageRequest {
            page: page.unwrap_or(1).clamp(1, 1_000_000),
            size: PAGE_SIZE,
        }
    }
    pub fn offset(self) -> i64 {
        (self.page - 1) * self.size
    }
}

/// What a list template needs to draw "Previous / Page x of y / Next".
#[derive(Clone, Debug)]
pub struct Pager {
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    /// The current filters as a query string (without `page`), starting with `&` when present.
    pub query: String,
    /// The list's path, e.g. `/tenants`.
    pub base: String,
}

impl Pager {
    pub fn new(base: impl Into<String>, req: PageRequest, total: i64, query: String) -> Pager {
        let pages = ((total + req.size - 1) / req.size).max(1);
        Pager {
            page: req.page,
            pages,
            total,
            query,
            base: base.into(),
        }
    }
    /// A list that is not counted: `more` says whether a next page exists.
    pub fn open_ended(
        base: impl Into<String>,
        req: PageRequest,
        more: bool,
        query: String,
    ) -> Pager {
        Pager {
            page: req.page,
            pages: req.page + i64::from(more),
            total: -1,
            query,
            base: base.into(),
        }
    }
    /// Whether the list was counted (`open_ended` lists are not).
    pub fn counted(&self) -> bool {
        self.total >= 0
    }
    pub fn has_prev(&self) -> bool {
        self.page > 1
    }
    pub fn has_next(&self) -> bool {
        self.page < self.pages
    }
    pub fn prev(&self) -> i64 {
        self.page - 1
    }
    pub fn next(&self) -> i64 {
        self.page + 1
    }
}

/// Builds `&k=v` pairs for non-empty filter values, URL-encoded.
pub fn filter_query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in pairs {
        if !v.is_empty() {
            out.push('&');
            out.push_str(k);
            out.push('=');
            out.push_str(&urlencode(v));
        }
    }
    out
}

fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Query-string page number that tolerates junk (`?page=abc` is page 1, not a 400).
#[derive(Debug, Default, Deserialize)]
pub struct PageParam {
    pub page: Option<String>,
}

pub fn parse_page(raw: Option<&str>) -> Option<i64> {
    raw.and_then(|p| p.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_and_offsets() {
        let r = PageRequest::new(Some(3));
        assert_eq!(r.offset(), 50);
        let p = Pager::new("/x", r, 51, String::new());
        assert_eq!(p.pages, 3);
        assert!(p.has_prev() && !p.has_next());
        assert_eq!(
            Pager::new("/x", PageRequest::new(None), 0, String::new()).pages,
            1
        );
        assert_eq!(PageRequest::new(Some(-5)).page, 1);
        assert_eq!(parse_page(Some("abc")), None);
    }

    #[test]
    fn filter_query_encodes() {
        assert_eq!(
            filter_query(&[("q", "a b&c"), ("role", ""), ("x", "é")]),
            "&q=a%20b%26c&x=%C3%A9"
        );
    }
}
