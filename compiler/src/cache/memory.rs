//! [`MemoryStore`]: entries in a hash map behind a reader-writer lock.
//!
//! Invariants: `get` returns exactly the bytes of the last `insert` for that key (or
//! nothing); the store never inspects entries (validation is the caller's, see
//! [`super::compile_cached`]); a poisoned lock is recovered, never a panic.

use super::{CacheKey, CacheStats, CacheStore, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// An in-memory cache store, shareable across threads.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: RwLock<HashMap<CacheKey, Arc<[u8]>>>,
    stats: CacheStats,
    verify: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Verify mode: every hit is also compiled fresh and compared.
    pub fn with_verify(mut self, verify: bool) -> Self {
        self.verify = verify;
        self
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// No entries?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<CacheKey> {
        let mut k: Vec<_> = self.read().keys().copied().collect();
        k.sort();
        k
    }

    /// Remove the entry for `key`; was there one?
    pub fn remove(&self, key: &CacheKey) -> bool {
        self.write().remove(key).is_some()
    }

    /// Remove every entry (the statistics stay).
    pub fn clear(&self) {
        self.write().clear();
    }

    /// Total bytes of all entries.
    pub fn total_bytes(&self) -> u64 {
        self.read().values().map(|e| e.len() as u64).sum()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<CacheKey, Arc<[u8]>>> {
        self.entries.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<CacheKey, Arc<[u8]>>> {
        self.entries.write().unwrap_or_else(|p| p.into_inner())
    }
}

impl CacheStore for MemoryStore {
    fn get(&self, key: &CacheKey) -> Option<Vec<u8>> {
        self.read().get(key).map(|e| e.to_vec())
    }

    fn insert(&self, key: &CacheKey, entry: Vec<u8>) -> Result<(), StoreError> {
        self.write().insert(*key, entry.into());
        Ok(())
    }

    fn stats(&self) -> &CacheStats {
        &self.stats
    }

    fn verify(&self) -> bool {
        self.verify
    }

    fn describe(&self) -> String {
        format!("memory store ({} entries)", self.len())
    }
}
