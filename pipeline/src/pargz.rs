//! Deterministic parallel gzip, in the manner of pigz: the uncompressed stream is cut into
//! fixed 256 KiB chunks, each chunk is deflated on its own (on the rayon pool) with the 32 KiB
//! before it as its dictionary and ends on a byte boundary (a sync flush), and the pieces are
//! concatenated into one gzip member. The cut points depend only on the byte offsets, never on
//! the thread count, so the file is the same bytes with 1 thread or 64; any gzip reader sees
//! one ordinary stream. Why: a shard's compression was the one step of a mix that could not
//! be spread over the cores (37–44% of its CPU), so one large output bounded the whole run.

use flate2::{Compress, Compression, FlushCompress, Status};
use std::io::{self, Write};

/// Uncompressed bytes per independently compressed piece.
const CHUNK: usize = 256 << 10;
/// Pieces gathered before they are compressed together (bounds memory: ~2 MiB in, ~1 out).
const BATCH: usize = 8;
/// deflate's window: what a piece may refer back to.
const WINDOW: usize = 32 << 10;

/// A gzip writer whose compression runs on the rayon pool it is used from (or, outside
/// one, on the calling thread); see the module docs.
pub struct ParGzEncoder<W: Write> {
    inner: W,
    level: u32,
    /// Uncompressed bytes not yet compressed (less than `CHUNK * BATCH` between writes).
    buf: Vec<u8>,
    /// The last `WINDOW` bytes already compressed: the first pending piece's dictionary.
    dict: Vec<u8>,
    crc: crc32fast::Hasher,
    total: u64,
}

impl<W: Write> ParGzEncoder<W> {
    /// Starts a gzip member at `level` (0–9) on `inner`. The header is flate2's default one
    /// (no name, mtime 0, OS "unknown"), so output never depends on when it was written.
    pub fn new(mut inner: W, level: u32) -> io::Result<Self> {
        let level = level.min(9);
        // XFL: 2 = best compression, 4 = fastest, as zlib and flate2 set it.
        let xfl = match level {
            9 => 2,
            0 | 1 => 4,
            _ => 0,
        };
        inner.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255])?;
        Ok(ParGzEncoder {
            inner,
            level,
            buf: Vec::with_capacity(CHUNK * BATCH + (64 << 10)),
            dict: Vec::new(),
            crc: crc32fast::Hasher::new(),
            total: 0,
        })
    }

    /// Compresses the pending pieces: every full one, or with `last` all of them, the final
    /// one ending the deflate stream.
    fn compress_pending(&mut self, last: bool) -> io::Result<()> {
        let full = self.buf.len() / CHUNK;
        let n = if last { full + 1 } else { full };
        if n == 0 {
            return Ok(());
        }
        let buf = &self.buf;
        let dict = &self.dict;
        let level = self.level;
        let piece = |i: usize| -> io::Result<(Vec<u8>, crc32fast::Hasher)> {
            let start = i * CHUNK;
            let end = if last && i + 1 == n {
                buf.len()
            } else {
                start + CHUNK
            };
            let data = buf.get(start..end).unwrap_or_default();
            let before: &[u8] = if i == 0 {
                dict
            } else {
                buf.get(start.saturating_sub(WINDOW)..start)
                    .unwrap_or_default()
            };
            let mut crc = crc32fast::Hasher::new();
            crc.update(data);
            let out = deflate_piece(level, before, data, last && i + 1 == n)?;
            Ok((out, crc))
        };
        // In parallel on the pool the caller runs in (the executor's, sized by --threads);
        // outside any pool, on this thread: never on rayon's global pool of every core.
        let on_pool = rayon::current_thread_index().is_some();
        let pieces: Vec<io::Result<(Vec<u8>, crc32fast::Hasher)>> = if n > 1 && on_pool {
            use rayon::prelude::*;
            (0..n).into_par_iter().map(piece).collect()
        } else {
            (0..n).map(piece).collect()
        };
        for p in pieces {
            let (out, crc) = p?;
            self.inner.write_all(&out)?;
            self.crc.combine(&crc);
        }
        let used = if last { self.buf.len() } else { full * CHUNK };
        self.total += used as u64;
        // The next piece's dictionary: the window before it. Before `last`, whole pieces were
        // used (each longer than the window); after it there is no next piece.
        self.dict = self
            .buf
            .get(used.saturating_sub(WINDOW)..used)
            .unwrap_or_default()
            .to_vec();
        self.buf.drain(..used);
        Ok(())
    }

    /// Ends the stream (the last piece, CRC-32 and length) and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.compress_pending(true)?;
        let ParGzEncoder {
            mut inner,
            crc,
            total,
            ..
        } = self;
        inner.write_all(&crc.finalize().to_le_bytes())?;
        // ISIZE is the length modulo 2^32 (RFC 1952).
        inner.write_all(&(total as u32).to_le_bytes())?;
        Ok(inner)
    }
}

impl<W: Write> Write for ParGzEncoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK * BATCH {
            self.compress_pending(false)?;
        }
        Ok(data.len())
    }

    /// Pieces are only cut at fixed offsets, so a flush cannot push a partial piece out
    /// without changing the bytes; it flushes what is already compressed.
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Raw deflate of `data` primed with `dict`, ending byte-aligned (sync flush) or, with
/// `finish`, with the final block.
fn deflate_piece(level: u32, dict: &[u8], data: &[u8], finish: bool) -> io::Result<Vec<u8>> {
    let mut c = Compress::new(Compression::new(level), false);
    if !dict.is_empty() {
        c.set_dictionary(dict).map_err(io::Error::other)?;
    }
    let flush = if finish {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    loop {
        let consumed = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
        let rest = data.get(consumed..).unwrap_or_default();
        let status = c
            .compress_vec(rest, &mut out, flush)
            .map_err(io::Error::other)?;
        let all_in = usize::try_from(c.total_in()).unwrap_or(usize::MAX) >= data.len();
        // zlib's contract: a flush is complete when it returns with output space left.
        let done = match status {
            Status::StreamEnd => true,
            _ if finish => false,
            _ => all_in && out.len() < out.capacity(),
        };
        if done {
            return Ok(out);
        }
        out.reserve(out.capacity().max(4096));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(b)
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    }

    fn sample(n: usize) -> Vec<u8> {
        // Repetitive but not constant text, so back-references cross the pieces.
        let mut v = Vec::with_capacity(n);
        let mut x: u64 = 1;
        while v.len() < n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let w = ["alpha ", "beta ", "gamma\n", "{\"id\":", "delta "][(x >> 60) as usize % 5];
            v.extend_from_slice(w.as_bytes());
            if x.is_multiple_of(7) {
                v.extend_from_slice(&x.to_le_bytes());
            }
        }
        v.truncate(n);
        v
    }

    fn encode(data: &[u8], level: u32, write_sizes: usize, threads: usize) -> Vec<u8> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            let mut e = ParGzEncoder::new(Vec::new(), level).expect("header");
            for part in data.chunks(write_sizes.max(1)) {
                e.write_all(part).expect("write");
            }
            e.finish().expect("finish")
        })
    }

    #[test]
    fn round_trips_at_every_size_around_the_piece_bounds() {
        for n in [
            0,
            1,
            WINDOW - 1,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            CHUNK * BATCH,
            CHUNK * BATCH + 3,
            CHUNK * (BATCH * 2 + 1) + 777,
        ] {
            let data = sample(n);
            let gz = encode(&data, 6, 10_000, 2);
            assert_eq!(gunzip(&gz), data, "size {n}");
        }
    }

    #[test]
    fn bytes_do_not_depend_on_threads_or_write_sizes() {
        let data = sample(CHUNK * (BATCH + 3) + 12_345);
        let a = encode(&data, 6, 4096, 1);
        assert_eq!(a, encode(&data, 6, 1 << 20, 2));
        assert_eq!(a, encode(&data, 6, 333, 3));
        assert_ne!(a, encode(&data, 3, 4096, 1), "the level is honoured");
        // The dictionary keeps the ratio close to one stream's (pigz's finding).
        let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        one.write_all(&data).expect("write");
        let one = one.finish().expect("finish");
        assert!(
            a.len() as f64 <= one.len() as f64 * 1.01,
            "{} vs {}",
            a.len(),
            one.len()
        );
    }

    #[test]
    fn outside_a_pool_it_writes_the_same_bytes_on_this_thread() {
        let data = sample(CHUNK * (BATCH + 2) + 99);
        let mut e = ParGzEncoder::new(Vec::new(), 6).expect("header");
        e.write_all(&data).expect("write");
        assert_eq!(e.finish().expect("finish"), encode(&data, 6, 4096, 2));
    }

    #[test]
    fn trailer_holds_crc_and_length() {
        let data = sample(CHUNK * 3 + 5);
        let gz = encode(&data, 6, 50_000, 2);
        let t = gz.len() - 8;
        let crc = u32::from_le_bytes(gz[t..t + 4].try_into().expect("4"));
        let len = u32::from_le_bytes(gz[t + 4..].try_into().expect("4"));
        assert_eq!(crc, crc32fast::hash(&data));
        assert_eq!(len as usize, data.len());
    }
}
