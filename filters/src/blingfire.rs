//! dolma's sentence splitter: blingfire's `TextToSentencesWithOffsets`, with the offset
//! mapping of blingfire 0.1.8's Python wrapper, which dolma's `split_sentences` calls.
//!
//! blingfire's sentence breaker is a finite-state model compiled into its C++ library; no Rust
//! port reproduces its boundaries, and building its 66k lines of C++ (with CMake) for every
//! loam build would cost more than the few taggers that need it. loam loads the library that
//! dolma itself calls — `libblingfiretokdll.so` (`.dylib` on macOS) from the PyPI wheel
//! `blingfire==0.1.8`, fetched by `scripts/fetch-models.sh --blingfire` with its sha256
//! checked — at run time, when a sentence tagger is built. Its sha256 goes into the
//! manifest with the models.

use libloading::{Library, Symbol};
use std::cell::RefCell;
use std::ffi::{c_char, c_int};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The library's file name.
#[cfg(target_os = "macos")]
pub const LIBRARY_FILE: &str = "libblingfiretokdll.dylib";
/// The library's file name.
#[cfg(not(target_os = "macos"))]
pub const LIBRARY_FILE: &str = "libblingfiretokdll.so";

/// The library's path below `$LOAM_MODELS_DIR`.
#[cfg(target_os = "macos")]
pub const RESOURCE: &str = "blingfire/libblingfiretokdll.dylib";
/// The library's path below `$LOAM_MODELS_DIR`.
#[cfg(not(target_os = "macos"))]
pub const RESOURCE: &str = "blingfire/libblingfiretokdll.so";

/// Where the library is looked for without `tagger_options.<tagger>.sentence_splitter`.
pub fn default_path() -> PathBuf {
    crate::langid::models_dir().join(RESOURCE)
}

/// blingfire's library could not be used.
#[derive(Debug, thiserror::Error)]
pub enum BlingfireError {
    /// No file at the path.
    #[error(
        "blingfire's sentence splitter {} not found: run scripts/fetch-models.sh --blingfire \
         (it extracts {LIBRARY_FILE} from the PyPI wheel blingfire==0.1.8 into models/blingfire/), \
         or give its path as the tagger option `sentence_splitter`",
        path.display()
    )]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file is not a loadable library, or lacks the function.
    #[error("blingfire's sentence splitter {}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// `int TextToSentencesWithOffsets(const char* in, int in_len, char* out, int* starts,
/// int* ends, int max_out)`.
type SentencesFn =
    unsafe extern "C" fn(*const c_char, c_int, *mut c_char, *mut c_int, *mut c_int, c_int) -> c_int;

/// blingfire's library, loaded once per path and shared by every tagger using it.
pub struct Blingfire {
    path: PathBuf,
    // Kept alive for as long as `split` may be called.
    _lib: Library,
    split: SentencesFn,
}

impl std::fmt::Debug for Blingfire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blingfire")
            .field("path", &self.path)
            .finish()
    }
}

/// Per-thread output buffers (the Python wrapper allocates them per call).
#[derive(Default)]
struct Buffers {
    out: Vec<u8>,
    starts: Vec<c_int>,
    ends: Vec<c_int>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

impl Blingfire {
    /// Loads the library at `path` (once per process and path).
    pub fn load(path: &Path) -> Result<Arc<Blingfire>, BlingfireError> {
        static CACHE: crate::shared::PerFile<Blingfire> = crate::shared::PerFile::new();
        if !path.is_file() {
            return Err(BlingfireError::Missing {
                path: path.to_path_buf(),
            });
        }
        let invalid = |message: String| BlingfireError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let key = path.canonicalize().map_err(|e| invalid(e.to_string()))?;
        CACHE.get_or_load(key.clone(), || {
            // SAFETY: loading runs the library's initializers; the file is blingfire's library
            // as the user configured it (its sha256 is recorded in the manifest).
            let lib = unsafe { Library::new(&key) }.map_err(|e| invalid(e.to_string()))?;
            // SAFETY: the symbol has this signature in every blingfire release since 0.1.
            let split = unsafe {
                let s: Symbol<SentencesFn> = lib
                    .get(b"TextToSentencesWithOffsets\0")
                    .map_err(|e| invalid(format!("not blingfire's library: {e}")))?;
                *s
            };
            let b = Blingfire {
                path: path.to_path_buf(),
                _lib: lib,
                split,
            };
            // The first call initializes blingfire's built-in model: made here, under the
            // cache lock, so that threads never race on it.
            b.sentences("Loaded. Ready.");
            Ok(b)
        })
    }

    /// The file loaded.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// dolma's `split_sentences(text)`: `[start, end)` code-point offsets of each sentence
    /// as `blingfire.text_to_sentences_and_offsets` returns them (nothing for an empty text).
    /// Where the Python wrapper would fail its assertion (offsets that do not fall on
    /// character starts), dolma fails the whole file; loam returns no sentence.
    pub fn sentences(&self, text: &str) -> Vec<(usize, usize)> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Vec::new();
        }
        // The wrapper's sizes: twice the input, in bytes and in offsets.
        let Some(cap) = bytes
            .len()
            .checked_mul(2)
            .filter(|&c| c <= c_int::MAX as usize)
        else {
            return Vec::new();
        };
        let Ok(len) = c_int::try_from(bytes.len()) else {
            return Vec::new();
        };
        BUFFERS.with(|cell| match cell.try_borrow_mut() {
            Ok(mut b) => {
                let r = self.sentences_in(bytes, len, cap, &mut b);
                // A long text's buffers are not kept for the next one.
                if b.out.capacity() > 1 << 20 {
                    *b = Buffers::default();
                }
                r
            }
            Err(_) => self.sentences_in(bytes, len, cap, &mut Buffers::default()),
        })
    }

    fn sentences_in(
        &self,
        bytes: &[u8],
        len: c_int,
        cap: usize,
        b: &mut Buffers,
    ) -> Vec<(usize, usize)> {
        // Zeroed like ctypes' arrays: offsets blingfire does not write are read as 0.
        b.out.clear();
        b.out.resize(cap, 0);
        b.starts.clear();
        b.starts.resize(cap, 0);
        b.ends.clear();
        b.ends.resize(cap, 0);
        // `cap` was checked to fit in an int.
        let max = cap as c_int;
        // SAFETY: the input is `len` readable bytes; the output and both offset arrays hold
        // `cap` elements, the size blingfire is told (the Python wrapper's sizes).
        let o_len = unsafe {
            (self.split)(
                bytes.as_ptr().cast(),
                len,
                b.out.as_mut_ptr().cast(),
                b.starts.as_mut_ptr(),
                b.ends.as_mut_ptr(),
                max,
            )
        };
        if o_len == -1 || o_len > max {
            return Vec::new();
        }
        // `o_bytes.value` ends at the first NUL.
        let value = b.out.split(|&c| c == 0).next().unwrap_or(&[]);
        let tokens = value.iter().filter(|&&c| c == b'\n').count() + 1;
        let tokens = tokens.min(cap);
        map_offsets(bytes, &b.starts[..tokens], &b.ends[..tokens])
    }
}

/// The Python wrapper's mapping of blingfire's UTF-8 offsets (start of a sentence's first
/// byte, start of its last character) to code-point offsets, quirks included: an offset that
/// is not on a character start stops the mapping there (dolma then fails its assertion:
/// `None` here, no sentence).
fn map_offsets(bytes: &[u8], starts: &[c_int], ends: &[c_int]) -> Vec<(usize, usize)> {
    let want = starts.len() * 2;
    let utf8: Vec<i64> = starts
        .iter()
        .zip(ends)
        .flat_map(|(&s, &e)| [i64::from(s), i64::from(e)])
        .collect();
    let mut out: Vec<usize> = Vec::with_capacity(want);
    let mut chars = 0usize;
    let mut is_end = false;
    for (at, &b) in bytes.iter().enumerate() {
        if b & 0xC0 != 0x80 {
            while out.len() < utf8.len() && utf8[out.len()] + i64::from(is_end) == at as i64 {
                out.push(chars);
                is_end = !is_end;
            }
            chars += 1;
        }
    }
    if out.len() < want {
        out.push(chars);
    }
    if out.len() != want {
        return Vec::new();
    }
    out.chunks_exact(2).map(|p| (p[0], p[1])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_code_points_and_the_last_end_is_the_text_end() {
        // "Hé. Yo." : bytes H=0 é=1,2 .=3 ' '=4 Y=5 o=6 .=7; blingfire gives the start and
        // the last character's byte of each sentence.
        let text = "Hé. Yo.";
        assert_eq!(
            map_offsets(text.as_bytes(), &[0, 5], &[3, 7]),
            vec![(0, 3), (4, 7)]
        );
    }

    #[test]
    fn unwritten_zero_offsets_give_the_wrappers_first_character() {
        // An unwritten sentence reads (0, 0): the wrapper maps it to (0, 1).
        assert_eq!(map_offsets(b"   ", &[0], &[0]), vec![(0, 1)]);
    }

    #[test]
    fn an_offset_inside_a_character_fails_like_the_wrappers_assertion() {
        // Start at byte 2, inside é (bytes 1..3).
        assert_eq!(map_offsets("Hé. Yo.".as_bytes(), &[2], &[7]), vec![]);
    }
}
