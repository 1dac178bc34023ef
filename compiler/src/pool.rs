//! A pool of reusable per-worker state (compile contexts, Wasm translators), so that
//! repeated work keeps its allocations across calls from any thread.
//!
//! Invariant: a value taken from the pool is used by one caller at a time and returned
//! afterwards; a poisoned lock only costs a fresh value, never an error.

use std::sync::Mutex;

/// Values of `T` waiting to be reused; [`Pool::with`] takes one (or makes a default one)
/// and puts it back.
pub(crate) struct Pool<T>(Mutex<Vec<T>>);

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Pool(Mutex::new(Vec::new()))
    }
}

impl<T: Default> Pool<T> {
    /// Run `f` with a value from the pool (or a new one), then return it to the pool.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let pooled = self.0.lock().ok().and_then(|mut p| p.pop());
        let mut value = pooled.unwrap_or_default();
        let result = f(&mut value);
        if let Ok(mut pool) = self.0.lock() {
            pool.push(value);
        }
        result
    }
}
