//! Fast, exact byte-level BPE encoding for Hugging Face `tokenizer.json` files.
//!
//! [`FastBpe`] reproduces `tokenizers` 0.19.1 `Tokenizer::encode(text, false).get_ids()`
//! for the byte-level BPE family (GPT-2, GPT-NeoX / OLMo 1, Llama 3 / cl100k-style
//! `Split` + `ByteLevel`). Every stage follows the crate's own semantics:
//!
//! 1. added tokens are cut out of the raw text (non-normalized ones), then out of each
//!    normalized remaining piece (normalized ones), leftmost-longest, with `lstrip` and
//!    `rstrip` handled as `AddedVocabulary::find_matches` does;
//! 2. the normalizer (NFC/NFD/NFKC/NFKD or a sequence of them) runs per piece, skipped when
//!    a quick check proves the piece is already normalized;
//! 3. the pre-tokenizer runs with the same regex engine (onig, through `tokenizers`);
//! 4. BPE merges follow `Word::merge_all` (lowest merge rank first, leftmost on ties) on
//!    byte ids, with a per-thread cache per instance.
//!
//! Anything it does not reproduce exactly makes [`FastBpe::from_json`] return `Ok(None)`.

// Every string index below is a match boundary from Oniguruma or the ASCII scanner, or an
// offset of ASCII whitespace found by scanning: always a char boundary.
#![allow(clippy::string_slice)]

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use rustc_hash::FxHashMap;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, Ordering};
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::utils::SysRegex;
use tokenizers::{NormalizedString, Normalizer};
use unicode_normalization::{
    is_nfc_quick, is_nfd_quick, is_nfkc_quick, is_nfkd_quick, IsNormalized,
};

/// The regex `tokenizers` 0.19.1 uses for `ByteLevel { use_regex: true }`.
const GPT2_PATTERN: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

/// Pieces of at most this many symbols are merged by a quadratic scan (faster for short
/// words); longer ones use a heap exactly like `Word::merge_all`. Both give the same result.
const LINEAR_MERGE_MAX: usize = 48;

/// Per-thread cache size limit (entries); the cache is cleared when it grows past this.
const CACHE_MAX_ENTRIES: usize = 200_000;

/// Errors for a `tokenizer.json` whose shape is supported but whose content is malformed.
#[derive(Debug, thiserror::Error)]
pub enum FastBpeError {
    /// The text is not valid JSON.
    #[error("tokenizer.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A field has the wrong type or an inconsistent value.
    #[error("malformed tokenizer.json: {0}")]
    Malformed(String),
    /// A regex or automaton could not be built.
    #[error("cannot build matcher: {0}")]
    Matcher(String),
}

fn malformed(msg: impl Into<String>) -> FastBpeError {
    FastBpeError::Malformed(msg.into())
}

/// Unicode normalization forms supported in the normalizer.
#[derive(Debug, Clone, Copy)]
enum NormForm {
    Nfc,
    Nfd,
    Nfkc,
    Nfkd,
}

/// How `Split` treats its matches (`SplitDelimiterBehavior`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behavior {
    Removed,
    Isolated,
    MergedWithPrevious,
    MergedWithNext,
    Contiguous,
}

/// What a `Split` pre-tokenizer looks for.
enum SplitPattern {
    /// `cl100k` marks the exact cl100k / Llama 3 pattern, which has an ASCII hand matcher.
    Regex {
        re: SysRegex,
        cl100k: bool,
    },
    Literal(String),
}

/// One pre-tokenization step, applied to every piece produced by the previous steps.
enum Step {
    Split {
        pattern: SplitPattern,
        behavior: Behavior,
        invert: bool,
    },
    /// `ByteLevel`: optional prefix space, optional GPT-2 regex split (Isolated). Its byte
    /// mapping is implicit: BPE below works on raw bytes.
    ByteLevel {
        add_prefix_space: bool,
        regex: Option<SysRegex>,
    },
}

/// An added token as `find_matches` needs it.
struct AddedTok {
    id: u32,
    lstrip: bool,
    rstrip: bool,
}

/// An aho-corasick automaton over added-token contents plus per-pattern data.
struct Trie {
    ac: AhoCorasick,
    toks: Vec<AddedTok>,
}

/// A span of a piece: an added token id, or a range of text still to tokenize.
#[derive(Debug, Clone, Copy)]
struct Seg {
    id: Option<u32>,
    start: usize,
    end: usize,
}

/// Byte-level BPE encoder that reproduces `tokenizers` 0.19.1 exactly for supported files.
pub struct FastBpe {
    instance: u64,
    raw_trie: Option<Trie>,
    norm_trie: Option<Trie>,
    norm_forms: Vec<NormForm>,
    normalizer: Option<NormalizerWrapper>,
    steps: Vec<Step>,
    /// Initial symbol id of each byte (through GPT-2's byte→char map), None if absent.
    byte_ids: [Option<u32>; 256],
    /// (left id << 32 | right id) → (rank, merged id).
    merges: FxHashMap<u64, (u32, u32)>,
    /// Whole-piece vocabulary lookup, only filled when `ignore_merges` is set.
    whole_vocab: Option<FxHashMap<Box<[u8]>, u32>>,
    unk_id: Option<u32>,
    fuse_unk: bool,
}

/// Per-thread memo of piece → ids, one per `FastBpe` instance.
#[derive(Default)]
struct PieceCache {
    map: FxHashMap<Box<[u8]>, (u32, u32)>,
    arena: Vec<u32>,
}

thread_local! {
    static CACHES: RefCell<FxHashMap<u64, PieceCache>> = RefCell::new(FxHashMap::default());
}

static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(1);

/// GPT-2's `bytes_to_unicode`: printable bytes map to themselves, the rest to 256+n.
fn byte_to_char_table() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut n = 0u32;
    for b in 0..256u32 {
        let printable =
            (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
        let c = if printable {
            b
        } else {
            n += 1;
            255 + n
        };
        table[b as usize] = char::from_u32(c).unwrap_or('\0');
    }
    table
}

fn get_bool(v: &Value, key: &str, default: bool) -> Result<bool, FastBpeError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(malformed(format!("`{key}` must be a boolean"))),
    }
}

fn is_null(v: Option<&Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// Parses the normalizer; Ok(None) if unsupported.
fn parse_normalizer(v: &Value, forms: &mut Vec<NormForm>) -> Result<Option<()>, FastBpeError> {
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("normalizer without type"))?;
    match ty {
        "NFC" => forms.push(NormForm::Nfc),
        "NFD" => forms.push(NormForm::Nfd),
        "NFKC" => forms.push(NormForm::Nfkc),
        "NFKD" => forms.push(NormForm::Nfkd),
        "Sequence" => {
            let list = v
                .get("normalizers")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed("Sequence normalizer without `normalizers`"))?;
            for n in list {
                if parse_normalizer(n, forms)?.is_none() {
                    return Ok(None);
                }
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(()))
}

fn parse_behavior(v: Option<&Value>) -> Option<Behavior> {
    match v?.as_str()? {
        "Removed" => Some(Behavior::Removed),
        "Isolated" => Some(Behavior::Isolated),
        "MergedWithPrevious" => Some(Behavior::MergedWithPrevious),
        "MergedWithNext" => Some(Behavior::MergedWithNext),
        "Contiguous" => Some(Behavior::Contiguous),
        _ => None,
    }
}

fn build_regex(pattern: &str) -> Result<SysRegex, FastBpeError> {
    SysRegex::new(pattern).map_err(|e| FastBpeError::Matcher(e.to_string()))
}

/// Parses one pre-tokenizer into steps; Ok(false) if unsupported.
fn parse_pre_tokenizer(v: &Value, steps: &mut Vec<Step>) -> Result<bool, FastBpeError> {
    let ty = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("pre_tokenizer without type"))?;
    match ty {
        "ByteLevel" => {
            let add_prefix_space = get_bool(v, "add_prefix_space", true)?;
            let use_regex = get_bool(v, "use_regex", true)?;
            let regex = if use_regex {
                Some(build_regex(GPT2_PATTERN)?)
            } else {
                None
            };
            steps.push(Step::ByteLevel {
                add_prefix_space,
                regex,
            });
        }
        "Split" => {
            let Some(behavior) = parse_behavior(v.get("behavior")) else {
                return Ok(false);
            };
            let invert = get_bool(v, "invert", false)?;
            let pat = v
                .get("pattern")
                .ok_or_else(|| malformed("Split without pattern"))?;
            let pattern = if let Some(r) = pat.get("Regex").and_then(Value::as_str) {
                SplitPattern::Regex {
                    re: build_regex(r)?,
                    cl100k: r == CL100K_PATTERN,
                }
            } else if let Some(s) = pat.get("String").and_then(Value::as_str) {
                if s.is_empty() {
                    // An empty literal yields empty matches everywhere; not worth reproducing.
                    return Ok(false);
                }
                SplitPattern::Literal(s.to_owned())
            } else {
                return Ok(false);
            };
            steps.push(Step::Split {
                pattern,
                behavior,
                invert,
            });
        }
        "Sequence" => {
            let list = v
                .get("pretokenizers")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed("Sequence pre_tokenizer without `pretokenizers`"))?;
            for p in list {
                if !parse_pre_tokenizer(p, steps)? {
                    return Ok(false);
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Leftmost start of the trailing whitespace run (`\s*$` in the `regex` crate).
fn trailing_ws_start(s: &str) -> usize {
    let trimmed = s.trim_end_matches(char::is_whitespace);
    trimmed.len()
}

/// Length of the leading whitespace run (`^\s*`).
fn leading_ws_len(s: &str) -> usize {
    s.len() - s.trim_start_matches(char::is_whitespace).len()
}

impl Trie {
    fn build(patterns: Vec<String>, toks: Vec<AddedTok>) -> Result<Option<Trie>, FastBpeError> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .map_err(|e| FastBpeError::Matcher(e.to_string()))?;
        Ok(Some(Trie { ac, toks }))
    }

    /// `AddedVocabulary::find_matches`: segments covering `s` (ids for matches).
    fn find_matches(&self, s: &str, segs: &mut Vec<Seg>) {
        segs.clear();
        let mut start_offset = 0;
        for m in self.ac.find_iter(s) {
            let mut start = m.start();
            let mut stop = m.end();
            let tok = &self.toks[m.pattern().as_usize()];
            if tok.lstrip {
                start = trailing_ws_start(&s[..start]).max(start_offset);
            }
            if tok.rstrip {
                stop += leading_ws_len(&s[stop..]);
            }
            if start_offset < start {
                segs.push(Seg {
                    id: None,
                    start: start_offset,
                    end: start,
                });
            }
            segs.push(Seg {
                id: Some(tok.id),
                start,
                end: stop,
            });
            start_offset = stop;
        }
        if start_offset != s.len() {
            segs.push(Seg {
                id: None,
                start: start_offset,
                end: s.len(),
            });
        }
    }
}

/// Parses merges: "a b" strings (0.19.1) or [a, b] arrays (newer files).
fn parse_merges(v: &Value) -> Result<Vec<(String, String)>, FastBpeError> {
    let list = v
        .as_array()
        .ok_or_else(|| malformed("`merges` must be an array"))?;
    let mut out = Vec::with_capacity(list.len());
    for m in list {
        match m {
            Value::String(s) => {
                // 0.19.1 drops "#version" lines before numbering ranks.
                if s.starts_with("#version") {
                    continue;
                }
                let mut parts = s.split(' ');
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(a), Some(b), None) => out.push((a.to_owned(), b.to_owned())),
                    _ => return Err(malformed(format!("bad merge {s:?}"))),
                }
            }
            Value::Array(pair) => match pair.as_slice() {
                [Value::String(a), Value::String(b)] => out.push((a.clone(), b.clone())),
                _ => return Err(malformed("bad merge pair")),
            },
            _ => return Err(malformed("bad merge entry")),
        }
    }
    Ok(out)
}

impl FastBpe {
    /// Builds an encoder from a `tokenizer.json` text.
    ///
    /// Returns `Ok(None)` when the file uses a component or option this module does not
    /// reproduce exactly (the caller should then use the `tokenizers` crate), and an error
    /// when the JSON is malformed.
    pub fn from_json(json: &str) -> Result<Option<FastBpe>, FastBpeError> {
        Self::from_value(&serde_json::from_str(json)?)
    }

    /// [`FastBpe::from_json`] over a parsed file.
    pub fn from_value(root: &Value) -> Result<Option<FastBpe>, FastBpeError> {
        if !is_null(root.get("truncation")) || !is_null(root.get("padding")) {
            return Ok(None);
        }

        // Normalizer.
        let mut norm_forms = Vec::new();
        let normalizer = match root.get("normalizer") {
            None | Some(Value::Null) => None,
            Some(n) => {
                if parse_normalizer(n, &mut norm_forms)?.is_none() {
                    return Ok(None);
                }
                Some(serde_json::from_value::<NormalizerWrapper>(n.clone())?)
            }
        };

        // Pre-tokenizer: any Split steps, then exactly one ByteLevel, last.
        let mut steps = Vec::new();
        match root.get("pre_tokenizer") {
            None | Some(Value::Null) => return Ok(None),
            Some(p) => {
                if !parse_pre_tokenizer(p, &mut steps)? {
                    return Ok(None);
                }
            }
        }
        let n_byte_level = steps
            .iter()
            .filter(|s| matches!(s, Step::ByteLevel { .. }))
            .count();
        if n_byte_level != 1 || !matches!(steps.last(), Some(Step::ByteLevel { .. })) {
            return Ok(None);
        }

        // Model.
        let model = root
            .get("model")
            .ok_or_else(|| malformed("missing model"))?;
        if model.get("type").and_then(Value::as_str) != Some("BPE") {
            return Ok(None);
        }
        if !is_null(model.get("dropout"))
            || !is_null(model.get("continuing_subword_prefix"))
            || !is_null(model.get("end_of_word_suffix"))
            || get_bool(model, "byte_fallback", false)?
        {
            return Ok(None);
        }
        let fuse_unk = get_bool(model, "fuse_unk", false)?;
        let ignore_merges = get_bool(model, "ignore_merges", false)?;
        let vocab_obj = model
            .get("vocab")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed("model.vocab must be an object"))?;
        let mut vocab: FxHashMap<&str, u32> = FxHashMap::default();
        vocab.reserve(vocab_obj.len());
        for (k, v) in vocab_obj {
            let id = v
                .as_u64()
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| malformed(format!("bad vocab id for {k:?}")))?;
            vocab.insert(k.as_str(), id);
        }
        let unk_id = match model.get("unk_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => match vocab.get(u.as_str()) {
                Some(id) => Some(*id),
                // tokenizers errors at encode time when an unknown char meets this.
                None => return Ok(None),
            },
            Some(_) => return Err(malformed("unk_token must be a string")),
        };

        let byte_chars = byte_to_char_table();
        let mut byte_ids = [None; 256];
        let mut char_to_byte: FxHashMap<char, u8> = FxHashMap::default();
        for (b, c) in byte_chars.iter().enumerate() {
            let mut buf = [0u8; 4];
            byte_ids[b] = vocab.get(&*c.encode_utf8(&mut buf)).copied();
            char_to_byte.insert(*c, b as u8);
        }

        let merge_list = parse_merges(
            model
                .get("merges")
                .ok_or_else(|| malformed("missing merges"))?,
        )?;
        let mut merges: FxHashMap<u64, (u32, u32)> = FxHashMap::default();
        merges.reserve(merge_list.len());
        for (rank, (a, b)) in merge_list.iter().enumerate() {
            let (Some(&ia), Some(&ib)) = (vocab.get(a.as_str()), vocab.get(b.as_str())) else {
                return Err(malformed(format!("merge token not in vocab: {a:?} {b:?}")));
            };
            let joined = format!("{a}{b}");
            let Some(&inew) = vocab.get(joined.as_str()) else {
                return Err(malformed(format!("merge result not in vocab: {joined:?}")));
            };
            // Later duplicates overwrite earlier ones, as collecting into a HashMap does.
            merges.insert(((ia as u64) << 32) | ib as u64, (rank as u32, inew));
        }

        let whole_vocab = if ignore_merges {
            let mut m: FxHashMap<Box<[u8]>, u32> = FxHashMap::default();
            for (tok, id) in &vocab {
                // Only tokens made of byte-level chars can equal a byte-level piece.
                let bytes: Option<Vec<u8>> =
                    tok.chars().map(|c| char_to_byte.get(&c).copied()).collect();
                if let Some(bytes) = bytes {
                    m.insert(bytes.into_boxed_slice(), *id);
                }
            }
            Some(m)
        } else {
            None
        };

        // Added tokens: ids resolved as `AddedVocabulary::add_tokens` does.
        let mut raw_patterns = Vec::new();
        let mut raw_toks = Vec::new();
        let mut norm_patterns = Vec::new();
        let mut norm_toks = Vec::new();
        if let Some(list) = root.get("added_tokens") {
            let list = list
                .as_array()
                .ok_or_else(|| malformed("added_tokens must be an array"))?;
            let vocab_size = vocab.len() as u32;
            let mut added: FxHashMap<String, u32> = FxHashMap::default();
            for t in list {
                let content = t
                    .get("content")
                    .and_then(Value::as_str)
                    .ok_or_else(|| malformed("added token without content"))?;
                if content.is_empty() {
                    continue;
                }
                if added.contains_key(content) {
                    // Duplicate contents with possibly different flags: not reproduced.
                    return Ok(None);
                }
                if get_bool(t, "single_word", false)? {
                    return Ok(None);
                }
                let lstrip = get_bool(t, "lstrip", false)?;
                let rstrip = get_bool(t, "rstrip", false)?;
                let special = get_bool(t, "special", false)?;
                let normalized = get_bool(t, "normalized", !special)?;
                let id = match vocab.get(content) {
                    Some(id) => *id,
                    None => match added.values().copied().max() {
                        None => vocab_size,
                        Some(max) if max >= vocab_size || vocab_size == 0 => max + 1,
                        Some(_) => vocab_size,
                    },
                };
                added.insert(content.to_owned(), id);
                let tok = AddedTok { id, lstrip, rstrip };
                if normalized {
                    let pattern = match &normalizer {
                        Some(n) => {
                            let mut ns = NormalizedString::from(content);
                            n.normalize(&mut ns)
                                .map_err(|e| FastBpeError::Matcher(e.to_string()))?;
                            ns.get().to_owned()
                        }
                        None => content.to_owned(),
                    };
                    norm_patterns.push(pattern);
                    norm_toks.push(tok);
                } else {
                    raw_patterns.push(content.to_owned());
                    raw_toks.push(tok);
                }
            }
        }

        Ok(Some(FastBpe {
            instance: NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed),
            raw_trie: Trie::build(raw_patterns, raw_toks)?,
            norm_trie: Trie::build(norm_patterns, norm_toks)?,
            norm_forms,
            normalizer,
            steps,
            byte_ids,
            merges,
            whole_vocab,
            unk_id,
            fuse_unk,
        }))
    }

    /// Appends the ids of `text` to `out`, identical to `tokenizers` 0.19.1
    /// `Tokenizer::encode(text, false).get_ids()` for the file this was built from.
    ///
    /// Safe to call from many threads at once; each thread keeps its own piece cache.
    pub fn encode(&self, text: &str, out: &mut Vec<u32>) {
        if text.is_empty() {
            return;
        }
        CACHES.with(|caches| {
            let mut caches = caches.borrow_mut();
            let cache = caches.entry(self.instance).or_default();
            if cache.map.len() > CACHE_MAX_ENTRIES {
                cache.map.clear();
                cache.arena.clear();
            }
            self.encode_with(text, out, cache);
        });
    }

    fn encode_with(&self, text: &str, out: &mut Vec<u32>, cache: &mut PieceCache) {
        let mut segs = Vec::new();
        match &self.raw_trie {
            Some(trie) => {
                trie.find_matches(text, &mut segs);
                for seg in segs {
                    match seg.id {
                        Some(id) => out.push(id),
                        None => self.encode_normalizable(&text[seg.start..seg.end], out, cache),
                    }
                }
            }
            None => self.encode_normalizable(text, out, cache),
        }
    }

    /// Normalizes one piece, then cuts out normalized added tokens.
    fn encode_normalizable(&self, piece: &str, out: &mut Vec<u32>, cache: &mut PieceCache) {
        if piece.is_empty() {
            return;
        }
        let normalized = self.normalize(piece);
        let s: &str = &normalized;
        match &self.norm_trie {
            Some(trie) => {
                let mut segs = Vec::new();
                trie.find_matches(s, &mut segs);
                for seg in segs {
                    match seg.id {
                        Some(id) => out.push(id),
                        None => self.run_steps(&self.steps, &s[seg.start..seg.end], out, cache),
                    }
                }
            }
            None => self.run_steps(&self.steps, s, out, cache),
        }
    }

    fn normalize<'a>(&self, s: &'a str) -> Cow<'a, str> {
        let Some(normalizer) = &self.normalizer else {
            return Cow::Borrowed(s);
        };
        // If the text is already in every form of the sequence, each step leaves it unchanged.
        let unchanged = s.is_ascii()
            || self.norm_forms.iter().all(|f| {
                let r = match f {
                    NormForm::Nfc => is_nfc_quick(s.chars()),
                    NormForm::Nfd => is_nfd_quick(s.chars()),
                    NormForm::Nfkc => is_nfkc_quick(s.chars()),
                    NormForm::Nfkd => is_nfkd_quick(s.chars()),
                };
                r == IsNormalized::Yes
            });
        if unchanged {
            return Cow::Borrowed(s);
        }
        let mut ns = NormalizedString::from(s);
        // These unicode normalizers never fail; keep the text as is if one ever does.
        if normalizer.normalize(&mut ns).is_err() {
            return Cow::Borrowed(s);
        }
        Cow::Owned(ns.get().to_owned())
    }

    /// Applies the pre-tokenization steps to `piece`, then BPE to each final piece.
    fn run_steps(&self, steps: &[Step], piece: &str, out: &mut Vec<u32>, cache: &mut PieceCache) {
        if piece.is_empty() {
            return;
        }
        let Some((step, rest)) = steps.split_first() else {
            self.bpe(piece.as_bytes(), out, cache);
            return;
        };
        match step {
            Step::ByteLevel {
                add_prefix_space,
                regex,
            } => {
                let prefixed;
                let piece = if *add_prefix_space && !piece.starts_with(' ') {
                    prefixed = format!(" {piece}");
                    prefixed.as_str()
                } else {
                    piece
                };
                match regex {
                    Some(re) => hybrid_split(re, piece, gpt2_ascii_match, |a, b| {
                        self.run_steps(rest, &piece[a..b], out, cache)
                    }),
                    None => self.run_steps(rest, piece, out, cache),
                }
            }
            Step::Split {
                pattern,
                behavior,
                invert,
            } => {
                if *behavior == Behavior::Isolated {
                    // Isolated keeps every match and gap regardless of `invert`.
                    match pattern {
                        SplitPattern::Regex { re, cl100k: true } => {
                            hybrid_split(re, piece, cl100k_ascii_match, |a, b| {
                                self.run_steps(rest, &piece[a..b], out, cache)
                            })
                        }
                        SplitPattern::Regex { re, cl100k: false } => {
                            isolated_split(re, piece, |a, b| {
                                self.run_steps(rest, &piece[a..b], out, cache)
                            })
                        }
                        SplitPattern::Literal(lit) => {
                            for (a, b, _) in literal_matches(lit, piece) {
                                self.run_steps(rest, &piece[a..b], out, cache);
                            }
                        }
                    }
                } else {
                    let mut matches = match pattern {
                        SplitPattern::Regex { re, .. } => regex_matches(re, piece),
                        SplitPattern::Literal(lit) => literal_matches(lit, piece),
                    };
                    if *invert {
                        for m in &mut matches {
                            m.2 = !m.2;
                        }
                    }
                    for (a, b) in apply_behavior(matches, *behavior) {
                        self.run_steps(rest, &piece[a..b], out, cache);
                    }
                }
            }
        }
    }

    /// BPE-encodes one pre-token (raw bytes; the byte-level mapping is implied).
    fn bpe(&self, bytes: &[u8], out: &mut Vec<u32>, cache: &mut PieceCache) {
        if let [b] = bytes {
            if let Some(id) = self.byte_ids[*b as usize] {
                out.push(id);
                return;
            }
        }
        if let Some(&(start, len)) = cache.map.get(bytes) {
            out.extend_from_slice(&cache.arena[start as usize..(start + len) as usize]);
            return;
        }
        let before = out.len();
        let whole = self.whole_vocab.as_ref().and_then(|m| m.get(bytes));
        match whole {
            Some(&id) => out.push(id),
            None => self.merge_word(bytes, out),
        }
        let start = cache.arena.len() as u32;
        cache.arena.extend_from_slice(&out[before..]);
        cache
            .map
            .insert(bytes.into(), (start, (out.len() - before) as u32));
    }

    /// Initial symbols as `BPE::merge_word` builds them (unknown bytes → unk handling).
    fn initial_symbols(&self, bytes: &[u8]) -> Vec<u32> {
        let mut syms = Vec::with_capacity(bytes.len());
        let mut pending_unk = false;
        for &b in bytes {
            match self.byte_ids[b as usize] {
                Some(id) => {
                    if pending_unk {
                        if let Some(u) = self.unk_id {
                            syms.push(u);
                        }
                        pending_unk = false;
                    }
                    syms.push(id);
                }
                None => {
                    if let Some(u) = self.unk_id {
                        if pending_unk && !self.fuse_unk {
                            syms.push(u);
                        }
                        pending_unk = true;
                    }
                    // Without an unk token, tokenizers silently drops the byte.
                }
            }
        }
        if pending_unk {
            if let Some(u) = self.unk_id {
                syms.push(u);
            }
        }
        syms
    }

    fn merge_word(&self, bytes: &[u8], out: &mut Vec<u32>) {
        let mut syms = self.initial_symbols(bytes);
        if syms.len() <= LINEAR_MERGE_MAX {
            self.merge_linear(&mut syms);
            out.extend_from_slice(&syms);
        } else {
            self.merge_heap(&syms, out);
        }
    }

    fn lookup(&self, a: u32, b: u32) -> Option<(u32, u32)> {
        self.merges.get(&(((a as u64) << 32) | b as u64)).copied()
    }

    /// Repeatedly merges the adjacent pair of lowest rank (leftmost on ties).
    fn merge_linear(&self, syms: &mut Vec<u32>) {
        let mut ranks: Vec<Option<(u32, u32)>> =
            syms.windows(2).map(|w| self.lookup(w[0], w[1])).collect();
        loop {
            let mut best: Option<(usize, u32, u32)> = None;
            for (i, r) in ranks.iter().enumerate() {
                if let Some((rank, new_id)) = *r {
                    if best.is_none_or(|(_, br, _)| rank < br) {
                        best = Some((i, rank, new_id));
                    }
                }
            }
            let Some((i, _, new_id)) = best else {
                return;
            };
            syms[i] = new_id;
            syms.remove(i + 1);
            ranks.remove(i);
            if i > 0 {
                ranks[i - 1] = self.lookup(syms[i - 1], new_id);
            }
            if i < ranks.len() {
                ranks[i] = self.lookup(new_id, syms[i + 1]);
            }
        }
    }

    /// `Word::merge_all` without dropout: a heap of (rank, position) candidates over a
    /// linked list of symbols, skipping stale entries.
    fn merge_heap(&self, init: &[u32], out: &mut Vec<u32>) {
        #[derive(PartialEq, Eq)]
        struct Cand {
            rank: u32,
            pos: usize,
            new_id: u32,
        }
        impl Ord for Cand {
            fn cmp(&self, o: &Self) -> CmpOrdering {
                // Max-heap: the lowest rank, then the lowest position, comes out first.
                o.rank.cmp(&self.rank).then_with(|| o.pos.cmp(&self.pos))
            }
        }
        impl PartialOrd for Cand {
            fn partial_cmp(&self, o: &Self) -> Option<CmpOrdering> {
                Some(self.cmp(o))
            }
        }
        let n = init.len();
        let mut c: Vec<u32> = init.to_vec();
        let mut alive = vec![true; n];
        let mut prev: Vec<isize> = (0..n as isize).map(|i| i - 1).collect();
        let mut next: Vec<isize> = (0..n as isize)
            .map(|i| if i + 1 < n as isize { i + 1 } else { -1 })
            .collect();
        let mut heap = BinaryHeap::with_capacity(n);
        for i in 0..n.saturating_sub(1) {
            if let Some((rank, new_id)) = self.lookup(c[i], c[i + 1]) {
                heap.push(Cand {
                    rank,
                    pos: i,
                    new_id,
                });
            }
        }
        while let Some(top) = heap.pop() {
            let p = top.pos;
            if !alive[p] || next[p] < 0 {
                continue;
            }
            let r = next[p] as usize;
            if self.lookup(c[p], c[r]).map(|(_, id)| id) != Some(top.new_id) {
                continue;
            }
            c[p] = top.new_id;
            alive[r] = false;
            next[p] = next[r];
            if next[r] >= 0 {
                prev[next[r] as usize] = p as isize;
            }
            if prev[p] >= 0 {
                let l = prev[p] as usize;
                if let Some((rank, new_id)) = self.lookup(c[l], c[p]) {
                    heap.push(Cand {
                        rank,
                        pos: l,
                        new_id,
                    });
                }
            }
            if next[p] >= 0 {
                let r2 = next[p] as usize;
                if let Some((rank, new_id)) = self.lookup(c[p], c[r2]) {
                    heap.push(Cand {
                        rank,
                        pos: p,
                        new_id,
                    });
                }
            }
        }
        out.extend((0..n).filter(|&i| alive[i]).map(|i| c[i]));
    }
}

/// ASCII classes as onig sees them in the GPT-2 pattern (checked by a test against onig).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AsciiClass {
    Letter,
    Digit,
    Space,
    Other,
    NonAscii,
}

fn ascii_class(b: u8) -> AsciiClass {
    match b {
        b'a'..=b'z' | b'A'..=b'Z' => AsciiClass::Letter,
        b'0'..=b'9' => AsciiClass::Digit,
        b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' ' => AsciiClass::Space,
        0x80..=0xFF => AsciiClass::NonAscii,
        _ => AsciiClass::Other,
    }
}

/// The cl100k / Llama 3 / OLMo 2 split pattern, recognised verbatim for its ASCII matcher.
const CL100K_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Scans a run of `class` from `from`; None if it reaches a non-ASCII byte.
fn ascii_run(s: &[u8], from: usize, class: AsciiClass) -> Option<usize> {
    let mut e = from;
    while e < s.len() {
        let k = ascii_class(s[e]);
        if k == AsciiClass::NonAscii {
            return None;
        }
        if k != class {
            break;
        }
        e += 1;
    }
    Some(e)
}

/// End of the cl100k pattern's match at `p` from ASCII bytes alone, None to defer to onig.
/// Alternatives in order: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`,
/// `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n]*`, `\s*[\r\n]+`, `\s+(?!\S)`, `\s+`.
fn cl100k_ascii_match(s: &[u8], p: usize) -> Option<usize> {
    let n = s.len();
    let c = s[p];
    let class = ascii_class(c);
    if class == AsciiClass::NonAscii {
        return None;
    }
    let at = |i: usize| -> Option<u8> {
        match s.get(i) {
            Some(&b) if b >= 0x80 => None,
            Some(&b) => Some(b.to_ascii_lowercase()),
            None => Some(0),
        }
    };
    if c == b'\'' && p + 1 < n {
        // Non-ASCII letters can case-fold onto these (e.g. U+017F), so onig decides.
        let c1 = at(p + 1)?;
        match c1 {
            b's' | b't' | b'm' | b'd' => return Some(p + 2),
            b'r' | b'v' | b'l' => {
                let c2 = at(p + 2)?;
                if (c1 == b'l' && c2 == b'l') || (c1 != b'l' && c2 == b'e') {
                    return Some(p + 3);
                }
            }
            _ => {}
        }
    }
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    if class == AsciiClass::Letter {
        return ascii_run(s, p, AsciiClass::Letter);
    }
    let crlf = c == b'\r' || c == b'\n';
    if class != AsciiClass::Digit && !crlf && p + 1 < n {
        match ascii_class(s[p + 1]) {
            AsciiClass::NonAscii => return None,
            AsciiClass::Letter => return ascii_run(s, p + 1, AsciiClass::Letter),
            _ => {}
        }
    }
    // `\p{N}{1,3}`
    if class == AsciiClass::Digit {
        let mut e = p + 1;
        while e < n && e < p + 3 {
            match ascii_class(s[e]) {
                AsciiClass::Digit => e += 1,
                AsciiClass::NonAscii => return None,
                _ => break,
            }
        }
        return Some(e);
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let other_start = if class == AsciiClass::Other {
        Some(p)
    } else if c == b' ' && p + 1 < n && ascii_class(s[p + 1]) == AsciiClass::Other {
        Some(p + 1)
    } else {
        None
    };
    if let Some(start) = other_start {
        let mut e = ascii_run(s, start, AsciiClass::Other)?;
        while e < n && (s[e] == b'\r' || s[e] == b'\n') {
            e += 1;
        }
        return Some(e);
    }
    // Whitespace: `\s*[\r\n]+` ends after the run's last CR/LF; else `\s+(?!\S)`, `\s+`.
    let e = ascii_run(s, p, AsciiClass::Space)?;
    if let Some(q) = s[p..e].iter().rposition(|&b| b == b'\r' || b == b'\n') {
        return Some(p + q + 1);
    }
    if e == n || e - p == 1 {
        Some(e)
    } else {
        Some(e - 1)
    }
}

/// End of the GPT-2 pattern's match starting at `p`, decided from ASCII bytes alone;
/// None when a non-ASCII byte would have to be examined (then onig decides).
///
/// Every position starts a match (each char is a letter, number, space or other), and
/// the alternatives are tried in order: contractions, ` ?\p{L}+`, ` ?\p{N}+`,
/// ` ?[^\s\p{L}\p{N}]+`, `\s+(?!\S)`, `\s+`.
fn gpt2_ascii_match(s: &[u8], p: usize) -> Option<usize> {
    let n = s.len();
    let c = s[p];
    let class = ascii_class(c);
    if class == AsciiClass::NonAscii {
        return None;
    }
    if c == b'\'' && p + 1 < n {
        match s[p + 1] {
            b's' | b't' | b'm' | b'd' => return Some(p + 2),
            b'r' | b'v' if s.get(p + 2) == Some(&b'e') => return Some(p + 3),
            b'l' if s.get(p + 2) == Some(&b'l') => return Some(p + 3),
            _ => {}
        }
    }
    let (run_start, run_class) = if c == b' ' && p + 1 < n {
        match ascii_class(s[p + 1]) {
            AsciiClass::NonAscii => return None,
            AsciiClass::Space => (p, AsciiClass::Space),
            k => (p + 1, k),
        }
    } else {
        (p, class)
    };
    let mut e = run_start + 1;
    while e < n {
        let k = ascii_class(s[e]);
        if k == AsciiClass::NonAscii {
            return None;
        }
        if k != run_class {
            break;
        }
        e += 1;
    }
    if run_class != AsciiClass::Space || e == n || e - p == 1 {
        Some(e)
    } else {
        // `\s+(?!\S)` backs off one char so the last space can lead the next word.
        Some(e - 1)
    }
}

/// `Isolated` split with a pattern that has a hand matcher (GPT-2, cl100k): the matcher for ASCII stretches and onig
/// wherever a match touches non-ASCII text. Matches depend only on their start position
/// (the pattern has no look-behind), so mixing the two gives onig's exact sequence.
fn hybrid_split(
    re: &SysRegex,
    s: &str,
    ascii_match: fn(&[u8], usize) -> Option<usize>,
    mut f: impl FnMut(usize, usize),
) {
    let b = s.as_bytes();
    let mut p = 0;
    while p < b.len() {
        if let Some(end) = ascii_match(b, p) {
            f(p, end);
            p = end;
            continue;
        }
        let base = p;
        for (start, end) in re.find_iter(&s[base..]) {
            let (start, end) = (base + start, base + end);
            if p < start {
                f(p, start);
            }
            if start < end {
                f(start, end);
            }
            p = end;
            // Back to the hand matcher once onig has passed the non-ASCII stretch.
            if b[start..end].is_ascii() && b.get(end).is_none_or(|x| x.is_ascii()) {
                break;
            }
        }
        if p == base {
            // onig found nothing from here (cannot happen for this pattern): keep the rest.
            f(p, b.len());
            return;
        }
    }
}

impl Drop for FastBpe {
    /// Frees the dropping thread's cache; other threads' caches for this instance stay
    /// (bounded by `CACHE_MAX_ENTRIES`) until those threads exit.
    fn drop(&mut self) {
        // `try_with`: the thread-local may already be gone during thread teardown.
        let _ = CACHES.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                c.remove(&self.instance);
            }
        });
    }
}

/// Calls `f` for every gap and match of `re` in `s`, in order (`Isolated`).
fn isolated_split(re: &SysRegex, s: &str, mut f: impl FnMut(usize, usize)) {
    let mut prev = 0;
    for (start, end) in re.find_iter(s) {
        if prev < start {
            f(prev, start);
        }
        if start < end {
            f(start, end);
        }
        prev = end;
    }
    if prev < s.len() {
        f(prev, s.len());
    }
}

/// `Pattern::find_matches` for a regex: (start, end, is_match) covering `s`.
fn regex_matches(re: &SysRegex, s: &str) -> Vec<(usize, usize, bool)> {
    let mut v = Vec::new();
    let mut prev = 0;
    for (start, end) in re.find_iter(s) {
        if prev != start {
            v.push((prev, start, false));
        }
        v.push((start, end, true));
        prev = end;
    }
    if prev != s.len() {
        v.push((prev, s.len(), false));
    }
    v
}

/// The same for a literal (non-empty) pattern, matched leftmost and non-overlapping.
fn literal_matches(lit: &str, s: &str) -> Vec<(usize, usize, bool)> {
    let mut v = Vec::new();
    let mut prev = 0;
    for (start, m) in s.match_indices(lit) {
        if prev != start {
            v.push((prev, start, false));
        }
        v.push((start, start + m.len(), true));
        prev = start + m.len();
    }
    if prev != s.len() {
        v.push((prev, s.len(), false));
    }
    v
}

/// `NormalizedString::split`'s behaviours, returning the kept ranges.
fn apply_behavior(matches: Vec<(usize, usize, bool)>, behavior: Behavior) -> Vec<(usize, usize)> {
    match behavior {
        Behavior::Isolated => matches.into_iter().map(|(a, b, _)| (a, b)).collect(),
        Behavior::Removed => matches
            .into_iter()
            .filter(|m| !m.2)
            .map(|(a, b, _)| (a, b))
            .collect(),
        Behavior::Contiguous => {
            let mut acc: Vec<(usize, usize)> = Vec::new();
            let mut previous = false;
            for (a, b, is_match) in matches {
                match acc.last_mut() {
                    Some(last) if is_match == previous => last.1 = b,
                    _ => acc.push((a, b)),
                }
                previous = is_match;
            }
            acc
        }
        Behavior::MergedWithPrevious => {
            let mut acc: Vec<(usize, usize)> = Vec::new();
            let mut previous = false;
            for (a, b, is_match) in matches {
                match acc.last_mut() {
                    Some(last) if is_match && !previous => last.1 = b,
                    _ => acc.push((a, b)),
                }
                previous = is_match;
            }
            acc
        }
        Behavior::MergedWithNext => {
            let mut acc: Vec<(usize, usize)> = Vec::new();
            let mut previous = false;
            for (a, b, is_match) in matches.into_iter().rev() {
                match acc.last_mut() {
                    Some(last) if is_match && !previous => last.0 = a,
                    _ => acc.push((a, b)),
                }
                previous = is_match;
            }
            acc.reverse();
            acc
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastbpe_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<FastBpe>();
    }

    /// The hand matcher's ASCII classes must be onig's.
    #[test]
    fn ascii_classes_agree_with_onig() {
        let letter = build_regex(r"^\p{L}$").unwrap();
        let digit = build_regex(r"^\p{N}$").unwrap();
        let space = build_regex(r"^\s$").unwrap();
        for b in 0u8..128 {
            let s = (b as char).to_string();
            let has = |re: &SysRegex| re.find_iter(&s).next().is_some();
            let expect = if has(&letter) {
                AsciiClass::Letter
            } else if has(&digit) {
                AsciiClass::Digit
            } else if has(&space) {
                AsciiClass::Space
            } else {
                AsciiClass::Other
            };
            assert_eq!(ascii_class(b), expect, "byte {b:#x}");
        }
    }

    fn check_hybrid(re: &SysRegex, m: fn(&[u8], usize) -> Option<usize>, s: &str) {
        let mut want = Vec::new();
        isolated_split(re, s, |a, b| want.push((a, b)));
        let mut got = Vec::new();
        hybrid_split(re, s, m, |a, b| got.push((a, b)));
        assert_eq!(got, want, "{s:?}");
    }

    /// Every string of 1 to `n` symbols over `alphabet`.
    fn strings_over(alphabet: &[&str], n: usize) -> Vec<String> {
        let mut all = Vec::new();
        let mut level = vec![String::new()];
        for _ in 0..n {
            level = level
                .iter()
                .flat_map(|s| alphabet.iter().map(move |a| format!("{s}{a}")))
                .collect();
            all.extend(level.iter().cloned());
        }
        all
    }

    /// The cl100k hybrid split must equal onig's on every short string over a tricky alphabet.
    #[test]
    fn cl100k_split_matches_onig() {
        let re = build_regex(CL100K_PATTERN).unwrap();
        let alphabet = [
            "a", "Z", "1", " ", "\n", "\r", "\t", "'", "s", "T", "r", "E", "v", "l", "!", "\u{a0}",
            "é", "٣", "\u{17f}", "\u{85}",
        ];
        for s in strings_over(&alphabet, 4) {
            check_hybrid(&re, cl100k_ascii_match, &s);
        }
        for s in [
            "12345678",
            "a1234 ''s\r\n\r\n x",
            "  \n  \r x",
            "!!!\n\n\r",
            "\x0bab",
        ] {
            check_hybrid(&re, cl100k_ascii_match, s);
        }
    }

    /// The hybrid split must equal onig's on every short string over a tricky alphabet.
    #[test]
    fn gpt2_split_matches_onig() {
        let re = build_regex(GPT2_PATTERN).unwrap();
        let alphabet = [
            "a", "Z", "1", " ", "\n", "'", "s", "t", "r", "v", "e", "l", "m", "d", "!", "\u{a0}",
            "é", "٣", "\t", "\0",
        ];
        for s in strings_over(&alphabet, 4) {
            check_hybrid(&re, gpt2_ascii_match, &s);
        }
    }
}
