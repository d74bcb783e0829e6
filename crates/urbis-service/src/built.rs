//! An index built from the store on first use and dropped when what it was built from changes
//! (the area locator, the gazetteer, the asset index, the categories' asset classes).
//!
//! One build at a time: a caller that finds the index missing while another caller builds it
//! waits for that build instead of starting its own. Before, every request that arrived at a cold
//! cache built its own copy (a server started under load read and parsed every boundary once per
//! concurrent request: 65 times in each rule's run of `bench intake --city`, now once). A build
//! that was overtaken by [`Built::clear`] answers its own caller but is not kept.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::Result;

/// A lazily built, clearable index shared by every request.
pub(crate) struct Built<T> {
    value: RwLock<Option<Arc<T>>>,
    /// Held while building; waited for by the callers that found the value missing.
    building: tokio::sync::Mutex<()>,
    /// Raised by every clear, so a build that started before a clear does not store its result.
    generation: AtomicU64,
}

impl<T> Default for Built<T> {
    fn default() -> Built<T> {
        Built {
            value: RwLock::new(None),
            building: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }
}

impl<T> Built<T> {
    /// The index, if it is built.
    pub(crate) fn get(&self) -> Option<Arc<T>> {
        self.value.read().ok().and_then(|guard| guard.clone())
    }

    /// Drops the index; the next use builds it again from the store.
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut guard) = self.value.write() {
            *guard = None;
        }
    }

    /// The index, built with `build` when it is missing (by this caller, or by the one already
    /// building it).
    pub(crate) async fn get_or_build<F, Fut>(&self, build: F) -> Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        if let Some(value) = self.get() {
            return Ok(value);
        }
        let _building = self.building.lock().await;
        if let Some(value) = self.get() {
            return Ok(value);
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let built = Arc::new(build().await?);
        if let Ok(mut guard) = self.value.write()
            && self.generation.load(Ordering::SeqCst) == generation
        {
            *guard = Some(built.clone());
        }
        Ok(built)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_build() {
        let cache: Arc<Built<usize>> = Arc::new(Built::default());
        let builds = Arc::new(AtomicUsize::new(0));
        let callers: Vec<_> = (0..32)
            .map(|_| {
                let (cache, builds) = (cache.clone(), builds.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_build(|| async {
                            let n = builds.fetch_add(1, Ordering::SeqCst) + 1;
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            Ok(n)
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            assert_eq!(*caller.await.unwrap().unwrap(), 1);
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_build_overtaken_by_a_clear_is_not_kept() {
        let cache: Built<&str> = Built::default();
        let value = cache
            .get_or_build(|| async {
                // The boundaries change while this build reads the old ones.
                cache.clear();
                Ok("old")
            })
            .await
            .unwrap();
        assert_eq!(*value, "old");
        assert!(cache.get().is_none());
        let value = cache.get_or_build(|| async { Ok("new") }).await.unwrap();
        assert_eq!(*value, "new");
        assert_eq!(cache.get().as_deref(), Some(&"new"));
    }

    #[tokio::test]
    async fn a_failed_build_leaves_the_index_missing() {
        let cache: Built<u8> = Built::default();
        let failed = cache
            .get_or_build(|| async { Err(crate::ServiceError::internal()) })
            .await;
        assert!(failed.is_err());
        assert!(cache.get().is_none());
        assert_eq!(*cache.get_or_build(|| async { Ok(7) }).await.unwrap(), 7);
    }
}
