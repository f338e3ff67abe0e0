//! Suffix arrays of a sequence cut into documents: suffixes stop at their document's end, so
//! no order (and no match) ever looks across a boundary.
//!
//! Prefix doubling with Larsson–Sadakane's refinement: positions are sorted by their first
//! few symbols (as many as fit in 64 bits: 7 bytes of text, 4 tokens of a 50k vocabulary),
//! then each group of positions still tied on their first `h` symbols is sorted by
//! the rank of the suffix `h` further on (or "ended" when that lies past the document's end),
//! for doubling `h`, until no group is tied. Ties that remain at a document's end are
//! identical suffixes, ordered by position. O(n log n) for any input, duplicated documents
//! included; memory at most ≈ 32 bytes per position; single-threaded, so the result never depends
//! on threads.

/// The suffix array of `seq` (symbols compared as unsigned integers) whose documents are
/// `[starts[d], starts[d + 1])`: positions sorted by their suffix clamped at the document's
/// end (a suffix that ends first is smaller), ties by position. `starts` must begin at 0,
/// be non-decreasing and end at `seq.len()`; `seq.len()` must be below `u32::MAX`.
pub fn suffix_array(seq: &[u32], starts: &[u64]) -> Vec<u32> {
    let n = seq.len();
    debug_assert!(n < u32::MAX as usize);
    // The end of each position's document.
    let mut end = vec![0u32; n];
    for w in starts.windows(2) {
        let (a, b) = (w[0] as usize, w[1] as usize);
        for e in end.iter_mut().take(b.min(n)).skip(a) {
            *e = b as u32;
        }
    }
    // Sort by the first `c` symbols packed in a u64 (each symbol + 1 in `b` bits, 0 past the
    // document's end), ties by position.
    let top = seq.iter().copied().max().map_or(1, |m| u64::from(m) + 1);
    let b = (64 - top.leading_zeros()) as usize;
    let c = (64 / b).max(1);
    let mut keyed: Vec<(u64, u32)> = (0..n)
        .map(|p| {
            let mut k = 0u64;
            for j in 0..c {
                k <<= b;
                if p + j < end[p] as usize {
                    k |= u64::from(seq[p + j]) + 1;
                }
            }
            (k, p as u32)
        })
        .collect();
    keyed.sort_unstable();
    let mut sa: Vec<u32> = keyed.iter().map(|&(_, p)| p).collect();
    let mut rank = vec![0u32; n];
    let mut groups: Vec<(u32, u32)> = Vec::new();
    let mut a = 0;
    while a < n {
        let mut e = a + 1;
        while e < n && keyed[e].0 == keyed[a].0 {
            e += 1;
        }
        for &(_, p) in &keyed[a..e] {
            rank[p as usize] = a as u32;
        }
        // Suffixes shorter than c symbols with equal keys are identical (the key holds
        // their end): final. One of exactly c symbols ties with longer ones: refine.
        let p = keyed[a].1 as usize;
        if e - a > 1 && end[p] as usize - p >= c {
            groups.push((a as u32, (e - a) as u32));
        }
        a = e;
    }
    drop(keyed);
    let mut sym = vec![0u32; n];
    let mut h: usize = c;
    let mut buf: Vec<u64> = Vec::new();
    while !groups.is_empty() {
        // Keys of every tied position, from the ranks as they stand before this round.
        for &(s, l) in &groups {
            for i in s as usize..(s + l) as usize {
                let p = sa[i] as usize;
                sym[i] = if p + h < end[p] as usize {
                    rank[p + h] + 1
                } else {
                    0
                };
            }
        }
        let mut next = Vec::new();
        for &(s, l) in &groups {
            let (s, e) = (s as usize, (s + l) as usize);
            buf.clear();
            buf.extend((s..e).map(|i| (u64::from(sym[i]) << 32) | u64::from(sa[i])));
            buf.sort_unstable();
            for (j, &k) in buf.iter().enumerate() {
                sa[s + j] = k as u32;
                sym[s + j] = (k >> 32) as u32;
            }
            split(&sa, &sym, s, e, &mut rank, &mut next);
        }
        groups = next;
        h = h.saturating_mul(2);
    }
    sa
}

/// Splits `sa[s..e]` (sorted by `key`) into runs of equal keys: each run's positions get
/// the run's first index as rank, and runs still tied go to `groups` — all but runs of
/// key 0 (suffixes that ended together are identical).
fn split(
    sa: &[u32],
    key: &[u32],
    s: usize,
    e: usize,
    rank: &mut [u32],
    groups: &mut Vec<(u32, u32)>,
) {
    let mut a = s;
    while a < e {
        let mut b = a + 1;
        while b < e && key[b] == key[a] {
            b += 1;
        }
        for &p in &sa[a..b] {
            rank[p as usize] = a as u32;
        }
        if b - a > 1 && key[a] != 0 {
            groups.push((a as u32, (b - a) as u32));
        }
        a = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(seq: &[u32], starts: &[u64]) -> Vec<u32> {
        let mut end = vec![0usize; seq.len()];
        for w in starts.windows(2) {
            for e in end.iter_mut().take(w[1] as usize).skip(w[0] as usize) {
                *e = w[1] as usize;
            }
        }
        let mut sa: Vec<u32> = (0..seq.len() as u32).collect();
        sa.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            seq[a..end[a]].cmp(&seq[b..end[b]]).then(a.cmp(&b))
        });
        sa
    }

    #[test]
    fn equals_a_naive_sort_on_random_documents() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..200 {
            let n = (next() % 300) as usize;
            let alpha = 1 + next() % if round % 2 == 0 { 3 } else { 70_000 };
            let mut seq: Vec<u32> = (0..n).map(|_| (next() % alpha) as u32).collect();
            // Some repeated blocks, as duplicated documents make.
            if n > 40 {
                let copy: Vec<u32> = seq[..20].to_vec();
                seq[n - 20..].copy_from_slice(&copy);
            }
            let mut starts = vec![0u64];
            let mut p = 0u64;
            while p < n as u64 {
                p = (p + 1 + next() % 40).min(n as u64);
                starts.push(p);
            }
            if n == 0 {
                starts.push(0);
            }
            assert_eq!(
                suffix_array(&seq, &starts),
                naive(&seq, &starts),
                "{seq:?} {starts:?}"
            );
        }
    }

    #[test]
    fn the_widest_symbols_sort_too() {
        let seq = [u32::MAX, 0, u32::MAX, u32::MAX, 0, 7, u32::MAX - 1];
        let starts = [0, 3, 7];
        assert_eq!(suffix_array(&seq, &starts), naive(&seq, &starts));
    }

    #[test]
    fn a_suffix_exactly_as_long_as_the_first_key_ties_with_longer_ones() {
        // Bytes below 196 pack 8 to a key: " ziehen." is one key long, and the other two
        // documents continue past it (a mis-sorted array here lost matches).
        let docs = [" ziehen.", " ziehen. ", " ziehen.\nVertr\u{e4}"];
        let mut seq = Vec::new();
        let mut starts = vec![0u64];
        for d in docs {
            seq.extend(d.bytes().map(u32::from));
            starts.push(seq.len() as u64);
        }
        assert_eq!(suffix_array(&seq, &starts), naive(&seq, &starts));
        // And for every key width: documents of exactly c symbols, then longer ones.
        for alpha in [2u32, 3, 7, 200, 300, 70_000] {
            let top = u64::from(alpha);
            let c = (64 / (64 - top.leading_zeros()) as usize).max(1);
            let head: Vec<u32> = (0..c as u32).map(|i| i % alpha).collect();
            let mut seq = head.clone();
            let mut starts = vec![0u64, c as u64];
            for tail in [[alpha - 1, 0], [0, 0], [alpha / 2, 1]] {
                seq.extend(&head);
                seq.extend(tail);
                starts.push(seq.len() as u64);
            }
            assert_eq!(suffix_array(&seq, &starts), naive(&seq, &starts), "{alpha}");
        }
    }

    #[test]
    fn identical_documents_order_by_position() {
        let seq = [1, 2, 1, 2, 1, 2];
        let starts = [0, 2, 4, 6];
        assert_eq!(suffix_array(&seq, &starts), vec![0, 2, 4, 1, 3, 5]);
    }
}
