//! Cursor paging for lists: `?limit=&cursor=`, newest first, and `next_cursor` in the body
//! (absent on the last page). The cursor is opaque to clients: the `(created_at, id)` of the
//! last row they got, so rows inserted while a client pages never shift what it sees
//! (`db::Where::keyset_desc`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiError;

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

/// `?limit=&cursor=` on every list.
#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorQuery {
    /// How many items (1 to 100, 25 when absent).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Where a page starts and how long it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageAt {
    pub limit: i64,
    /// The `(created_at, id)` the page starts after.
    pub after: Option<(i64, String)>,
}

impl PageAt {
    pub fn after(&self) -> Option<(i64, &str)> {
        self.after.as_ref().map(|(t, id)| (*t, id.as_str()))
    }

    /// The rows to ask the store for: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// Cuts `rows` (fetched with [`PageAt::fetch`]) to the page, and the cursor of the next
    /// page when there is one.
    pub fn finish<T>(&self, mut rows: Vec<T>, key: impl Fn(&T) -> (i64, &str)) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| {
                let (at, id) = key(r);
                encode(at, id)
            })
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl CursorQuery {
    pub fn page(&self) -> Result<PageAt, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::bad_parameter(
                "limit",
                format!("limit must be between 1 and {MAX_LIMIT}."),
            ));
        }
        let after = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode(c).ok_or_else(|| {
                ApiError::bad_parameter("cursor", "This cursor was not given by this API.")
            })?),
        };
        Ok(PageAt { limit, after })
    }
}

pub fn encode(at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("1:{at}:{id}"))
}

fn decode(cursor: &str) -> Option<(i64, String)> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text.strip_prefix("1:")?;
    let (at, id) = rest.split_once(':')?;
    let ok_id = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    Some((at.parse().ok()?, id.to_string())).filter(|_| ok_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(limit: Option<i64>, cursor: Option<&str>) -> CursorQuery {
        CursorQuery {
            limit,
            cursor: cursor.map(str::to_string),
        }
    }

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused_with_their_field() {
        let c = encode(1_700_000_000_123, "0190a0a0-0000-7000-8000-000000000000");
        let at = q(Some(10), Some(&c)).page().unwrap();
        assert_eq!(
            at.after(),
            Some((1_700_000_000_123, "0190a0a0-0000-7000-8000-000000000000"))
        );
        assert_eq!(q(None, None).page().unwrap().limit, DEFAULT_LIMIT);
        for bad in ["x", "MTo6", &URL_SAFE_NO_PAD.encode("1:5:a'b")] {
            let e = q(None, Some(bad)).page().unwrap_err();
            assert_eq!(e.field.as_deref(), Some("cursor"), "{bad}");
        }
        for bad in [0, 101, -1] {
            assert_eq!(
                q(Some(bad), None).page().unwrap_err().field.as_deref(),
                Some("limit")
            );
        }
    }

    #[test]
    fn a_page_says_whether_another_follows() {
        let at = q(Some(2), None).page().unwrap();
        let rows = vec![(3, "c".to_string()), (2, "b".into()), (1, "a".into())];
        let page = at.finish(rows, |r| (r.0, r.1.as_str()));
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(encode(2, "b")));
        let page = at.finish(vec![(1, "a".to_string())], |r| (r.0, r.1.as_str()));
        assert_eq!(page.next_cursor, None);
    }
}
