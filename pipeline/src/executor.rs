//! Runs work units (usually one shard each) on a fixed-size thread pool. Results come back
//! in input order, and no unit's output depends on which thread ran it or when, so the
//! thread count never changes the bytes written.

use std::sync::atomic::{AtomicU64, Ordering};

/// A problem starting the executor.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} worker threads: {message}")]
pub struct ExecutorError {
    threads: usize,
    message: String,
}

/// A pool of worker threads.
pub struct Executor {
    pool: rayon::ThreadPool,
    threads: usize,
}

impl Executor {
    /// A pool of `threads` workers; 0 means one per available core.
    pub fn new(threads: usize) -> Result<Executor, ExecutorError> {
        let threads = if threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            threads
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("loam-worker-{i}"))
            .build()
            .map_err(|e| ExecutorError {
                threads,
                message: e.to_string(),
            })?;
        Ok(Executor { pool, threads })
    }

    /// Worker count.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Applies `f` to every item in parallel; results are in item order.
    pub fn map<I, T, F>(&self, items: &[I], f: F) -> Vec<T>
    where
        I: Sync,
        T: Send,
        F: Fn(&I) -> T + Sync + Send,
    {
        use rayon::prelude::*;
        // One unit per task: shards are coarse, and ordering comes from `collect`.
        self.pool
            .install(|| items.par_iter().with_max_len(1).map(&f).collect())
    }

    /// Runs `f` inside the pool (for nested parallel work).
    pub fn install<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.pool.install(f)
    }
}

/// Progress reporting, implemented by the CLI (a progress bar) or nothing.
pub trait Progress: Sync {
    /// Called as documents are processed.
    fn advance(&self, documents: u64, bytes: u64);
}

/// Counts progress without showing it.
#[derive(Debug, Default)]
pub struct CountingProgress {
    /// Documents so far.
    pub documents: AtomicU64,
    /// Bytes so far.
    pub bytes: AtomicU64,
}

impl Progress for CountingProgress {
    fn advance(&self, documents: u64, bytes: u64) {
        self.documents.fetch_add(documents, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_whatever_the_threads() {
        let items: Vec<u64> = (0..100).collect();
        for t in [1, 2, 7] {
            let ex = Executor::new(t).unwrap();
            let out = ex.map(&items, |x| x * 2);
            assert_eq!(out, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        }
    }
}
