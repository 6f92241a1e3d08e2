//! A read-through cache of the rows every invocation reads (a function, a version, an alias,
//! a reserved concurrency), so a warm invoke does not wait for the blocking pool and SQLite.
//!
//! Entries are only valid for the generation they were read in: every write that can change
//! one of these rows (functions, versions, aliases, concurrency, policies) bumps the
//! generation and empties the cache once it has committed. A read that raced with a write is
//! stored only if no write committed since the read began, so the cache never serves a row
//! older than the last committed write.

use std::collections::HashMap;
use std::sync::Mutex;

use lamina_types::model::{AliasRecord, FunctionRecord, VersionRecord};

/// Entries kept at most; past that the cache starts over (a cache, not a second database).
const MAX_ENTRIES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Function(String),
    Version(String, u64),
    Alias(String, String),
    Reserved(String),
}

/// A cached answer, absence included.
#[derive(Debug, Clone)]
pub(super) enum Cached {
    Function(Option<FunctionRecord>),
    Version(Option<VersionRecord>),
    Alias(Option<AliasRecord>),
    Reserved(Option<u32>),
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<Key, Cached>,
}

#[derive(Default)]
pub(super) struct ReadCache {
    inner: Mutex<Inner>,
}

impl ReadCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The generation a read starts in (pass it to [`ReadCache::put`]).
    pub(super) fn generation(&self) -> u64 {
        self.lock().generation
    }

    pub(super) fn get(&self, key: &Key) -> Option<Cached> {
        self.lock().entries.get(key).cloned()
    }

    /// Keeps `value`, read in `generation`, unless a write has committed since.
    pub(super) fn put(&self, generation: u64, key: Key, value: Cached) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(key, value);
    }

    /// Forgets everything (after a write committed).
    pub(super) fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_with_a_write_is_not_kept() {
        let cache = ReadCache::default();
        let key = Key::Reserved("f".into());
        let began = cache.generation();
        cache.invalidate();
        cache.put(began, key.clone(), Cached::Reserved(Some(1)));
        assert!(cache.get(&key).is_none());
        let began = cache.generation();
        cache.put(began, key.clone(), Cached::Reserved(Some(2)));
        assert!(matches!(cache.get(&key), Some(Cached::Reserved(Some(2)))));
        cache.invalidate();
        assert!(cache.get(&key).is_none());
    }
}
