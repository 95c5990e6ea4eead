//! A short-lived cache of what is expensive to read and the same for everyone: rendered
//! anonymous pages (the public `/catalog` in a currency) and list totals (the staff product
//! list's "N in all"). It belongs to the `Db` it was read from, so that writes through that
//! `Db` can empty it.
//!
//! Freshness: a change made through this process empties the cache at once; one made by
//! another process (several `mpanel serve` on one PostgreSQL), or an override whose validity
//! window opens or closes, shows within [`TTL`]. Those responses already allow shared caches
//! to keep them for 60 s (`Cache-Control: public, max-age=60`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TTL: Duration = Duration::from_secs(5);
/// Crawling page after page cannot grow the cache without bound.
const MAX_ENTRIES: usize = 2_000;

struct Entry {
    at: Instant,
    body: Arc<str>,
}

#[derive(Default)]
pub struct PageCache {
    pages: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for PageCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageCache")
    }
}

impl PageCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Arc<str>> {
        self.lock()
            .get(key)
            .filter(|e| e.at.elapsed() < TTL)
            .map(|e| e.body.clone())
    }

    pub fn put(&self, key: String, body: Arc<str>) {
        let mut pages = self.lock();
        if pages.len() >= MAX_ENTRIES {
            pages.retain(|_, e| e.at.elapsed() < TTL);
            if pages.len() >= MAX_ENTRIES {
                pages.clear();
            }
        }
        pages.insert(
            key,
            Entry {
                at: Instant::now(),
                body,
            },
        );
    }

    /// After a change that any cached page may show has committed.
    pub fn invalidate(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidation_empties_the_cache() {
        let c = PageCache::default();
        c.put("USD|1".into(), Arc::from("page"));
        assert_eq!(c.get("USD|1").as_deref(), Some("page"));
        assert_eq!(c.get("EUR|1"), None);
        c.invalidate();
        assert_eq!(c.get("USD|1"), None);
    }
}
