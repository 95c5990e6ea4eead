//! A short-lived memo of rendered fragments that many screens poll (the `/ops` tiles): within
//! `ttl` of a read, this process answers from the fragment it rendered then instead of reading
//! the database again, and concurrent requests for a stale fragment wait for one read instead
//! of each starting their own.
//!
//! Only for figures that say when they were read (the tiles show "Read <time>", which is the
//! memo's time): an answer is never older than `ttl`, on every instance, with no invalidation
//! needed. Permission is checked before the memo on every request; the key names whatever the
//! fragment depends on (tile, tenant, role).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;

use crate::db::Timestamp;

type Slot = Arc<tokio::sync::Mutex<Option<(Timestamp, Bytes)>>>;

pub struct FragmentMemo {
    ttl_ms: i64,
    slots: Mutex<HashMap<String, Slot>>,
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
    /// (kept for the next requests unless it failed).
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
        let mut held = slot.lock().await;
        if let Some((at, body)) = held.as_ref() {
            // A clock moved back (tests) counts as stale.
            if now.0 >= at.0 && now.0 - at.0 < self.ttl_ms {
                return Ok(body.clone());
            }
        }
        let body = render(now).await?;
        *held = Some((now, body.clone()));
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
