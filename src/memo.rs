//! A short-lived memo of rendered fragments that many screens poll (the `/ops` tiles): within
//! `ttl` of a read, this process answers from the fragment it rendered then instead of reading
//! the database again; once it is stale, one request renders it anew while the others still
//! get the last one, so no request waits for a read another has started.
//!
//! Only for figures that say when they were read (the tiles show "Read <time>", which is the
//! memo's time): an answer is never older than `ttl` plus one read, on every instance, with no
//! invalidation needed. Permission is checked before the memo on every request; the key names whatever the
//! fragment depends on (tile, tenant, role).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use crate::db::Timestamp;

#[derive(Default)]
struct Slot {
    /// The last fragment and when it was rendered.
    value: Mutex<Option<(Timestamp, Bytes)>>,
    /// Held by the one request rendering the fragment anew.
    render: tokio::sync::Mutex<()>,
}

pub struct FragmentMemo {
    ttl_ms: i64,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl FragmentMemo {
    /// `ttl_ms` 0: every request renders.
    pub fn new(ttl_ms: u64) -> FragmentMemo {
        FragmentMemo {
            ttl_ms: i64::try_from(ttl_ms).unwrap_or(i64::MAX),
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The fragment under `key` rendered less than `ttl` before `now`, or `render(now)`'s
    /// (kept for the next requests unless it failed). While one request renders a stale
    /// fragment anew, the others get the stale one (it says when it was read) rather than
    /// waiting; with none rendered yet they wait for that one render.
    pub async fn get_or_render<F, Fut, E>(
        &self,
        key: String,
        now: Timestamp,
        render: F,
    ) -> Result<Bytes, E>
    where
        F: FnOnce(Timestamp) -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if self.ttl_ms == 0 {
            return render(now).await;
        }
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(key).or_default().clone()
        };
        // Fresh: rendered less than `ttl` ago (a clock moved back, in tests, counts as stale).
        let fresh = |v: &Option<(Timestamp, Bytes)>| match v {
            Some((at, body)) if now.0 >= at.0 && now.0 - at.0 < self.ttl_ms => Some(body.clone()),
            _ => None,
        };
        let read = || slot.value.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let last = read();
        if let Some(body) = fresh(&last) {
            return Ok(body);
        }
        let _rendering = match slot.render.try_lock() {
            Ok(guard) => guard,
            Err(_) => match last {
                Some((_, body)) => return Ok(body),
                None => slot.render.lock().await,
            },
        };
        // Rendered by the request this one waited for?
        if let Some(body) = fresh(&read()) {
            return Ok(body);
        }
        let body = render(now).await?;
        *slot.value.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn read(memo: &FragmentMemo, key: &str, now: i64, renders: &AtomicUsize) -> String {
        let body = memo
            .get_or_render(key.to_string(), Timestamp(now), |at| async move {
                let n = renders.fetch_add(1, Ordering::SeqCst) + 1;
                Ok::<_, ()>(Bytes::from(format!("render {n} at {}", at.0)))
            })
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn answers_from_the_memo_until_the_ttl_passes() {
        let memo = FragmentMemo::new(2_000);
        let renders = AtomicUsize::new(0);
        assert_eq!(
            read(&memo, "a", 10_000, &renders).await,
            "render 1 at 10000"
        );
        assert_eq!(
            read(&memo, "a", 11_999, &renders).await,
            "render 1 at 10000"
        );
        // another key is its own fragment
        assert_eq!(
            read(&memo, "b", 11_999, &renders).await,
            "render 2 at 11999"
        );
        assert_eq!(
            read(&memo, "a", 12_000, &renders).await,
            "render 3 at 12000"
        );
        // a clock moved back renders again
        assert_eq!(read(&memo, "a", 5_000, &renders).await, "render 4 at 5000");
    }

    #[tokio::test]
    async fn zero_ttl_always_renders_and_errors_are_not_kept() {
        let memo = FragmentMemo::new(0);
        let renders = AtomicUsize::new(0);
        assert_eq!(read(&memo, "a", 1, &renders).await, "render 1 at 1");
        assert_eq!(read(&memo, "a", 1, &renders).await, "render 2 at 1");
        let memo = FragmentMemo::new(1_000);
        let failed = memo
            .get_or_render("a".into(), Timestamp(1), |_| async { Err::<Bytes, ()>(()) })
            .await;
        assert!(failed.is_err());
        assert_eq!(read(&memo, "a", 2, &renders).await, "render 3 at 2");
    }

    #[tokio::test]
    async fn while_one_request_renders_anew_the_others_get_the_last_fragment() {
        let memo = Arc::new(FragmentMemo::new(1_000));
        let renders = AtomicUsize::new(0);
        assert_eq!(read(&memo, "a", 0, &renders).await, "render 1 at 0");
        let (started, release) = (
            Arc::new(tokio::sync::Notify::new()),
            Arc::new(tokio::sync::Notify::new()),
        );
        let slow = {
            let (memo, started, release) = (memo.clone(), started.clone(), release.clone());
            tokio::spawn(async move {
                memo.get_or_render("a".into(), Timestamp(5_000), |_| async move {
                    started.notify_one();
                    release.notified().await;
                    Ok::<_, ()>(Bytes::from_static(b"fresh"))
                })
                .await
                .unwrap()
            })
        };
        started.notified().await;
        // stale, and being rendered: the last fragment at once
        assert_eq!(read(&memo, "a", 5_001, &renders).await, "render 1 at 0");
        release.notify_one();
        assert_eq!(slow.await.unwrap(), Bytes::from_static(b"fresh"));
        let fresh = memo
            .get_or_render("a".into(), Timestamp(5_002), |_| async {
                Err::<Bytes, ()>(())
            })
            .await;
        assert_eq!(fresh, Ok(Bytes::from_static(b"fresh")));
    }

    #[tokio::test]
    async fn concurrent_requests_for_a_stale_fragment_share_one_render() {
        let memo = Arc::new(FragmentMemo::new(1_000));
        let renders = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (memo, renders) = (memo.clone(), renders.clone());
            tasks.push(tokio::spawn(async move {
                memo.get_or_render("a".into(), Timestamp(1), |_| async move {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    renders.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, ()>(Bytes::from_static(b"x"))
                })
                .await
                .unwrap()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), Bytes::from_static(b"x"));
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
    }
}
