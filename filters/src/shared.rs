//! Resources loaded once per file (models, libraries) and shared by every tagger that uses
//! them while any holds them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, Weak};

/// Loaded values and their keys; an entry dies with the last holder.
type Entries<K, T> = Mutex<Vec<(K, Weak<T>)>>;

/// Values loaded once per file: the key is its canonical path, or the path with the
/// options a load depends on.
pub(crate) struct PerFile<T, K = PathBuf>(OnceLock<Entries<K, T>>);

impl<T, K: PartialEq> PerFile<T, K> {
    /// An empty cache (for a `static`).
    pub(crate) const fn new() -> Self {
        PerFile(OnceLock::new())
    }

    /// The value loaded from `key` (a canonical path), loading it with `load` the first time.
    /// Loading runs under the lock: concurrent builders wait for the one load instead of
    /// repeating it.
    pub(crate) fn get_or_load<E>(
        &self,
        key: K,
        load: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E> {
        let mut cache = self
            .0
            .get_or_init(|| Mutex::new(Vec::new()))
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        cache.retain(|(_, w)| w.strong_count() > 0);
        if let Some(v) = cache
            .iter()
            .find(|(p, _)| *p == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(v);
        }
        let v = Arc::new(load()?);
        cache.push((key, Arc::downgrade(&v)));
        Ok(v)
    }
}
