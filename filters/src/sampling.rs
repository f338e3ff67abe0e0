//! `random_number_v1`: dolma 1.2.1's `python/dolma/taggers/sampling.py`, made deterministic.
//!
//! dolma draws `random.random()` from a generator seeded with `(pid + 1) * seed` (seed 1), so
//! its values depend on the worker process and on the order documents reach it: no two runs
//! agree. loam's `random` score is a function of the document id only: the xxh3-64 hash of
//! the id (seed 1) scaled to `[0, 1)` with 53 bits, as `random.random()`'s range and
//! resolution. The same id gets the same value in every run, file and thread count; the
//! values are uniform over `[0, 1)`, so sampling by `random < p` keeps a fraction `p`.
//! Documents sharing an id share the value.

use crate::pytext::char_len;
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};

/// The hash seed (dolma's default `seed`).
pub const SEED: u64 = 1;

/// The `random` score of a document id: uniform in `[0, 1)`.
pub fn random_score(id: &str) -> f64 {
    let h = xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), SEED);
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `random_number_v1`.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomNumberV1;

impl Tagger for RandomNumberV1 {
    fn name(&self) -> &str {
        "random_number_v1"
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        out.push(
            "random",
            Span::new(0, char_len(&doc.text), random_score(&doc.id)),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_uniform() {
        assert_eq!(random_score("doc-1"), random_score("doc-1"));
        assert_ne!(random_score("doc-1"), random_score("doc-2"));
        let n = 100_000;
        let mut buckets = [0usize; 10];
        let mut sum = 0.0;
        for i in 0..n {
            let x = random_score(&format!("id-{i}"));
            assert!((0.0..1.0).contains(&x));
            buckets[(x * 10.0) as usize] += 1;
            sum += x;
        }
        // Each decile holds 10% ± 0.5% (about 5 standard deviations), the mean is 0.5.
        for b in buckets {
            assert!((9_500..=10_500).contains(&b), "{buckets:?}");
        }
        assert!((sum / n as f64 - 0.5).abs() < 0.005);
    }
}
