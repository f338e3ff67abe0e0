//! `loam trace build`: one index file per output file of a mix (its token arrays, or its
//! document files), then `trace.json` naming them all, written last and atomically.

use crate::sa::suffix_array;
use crate::shard::{self, DocMeta, Part, ShardMeta};
use crate::TraceError;
use loam_manifests::Manifest;
use loam_pipeline::reader::DocumentReader;
use loam_pipeline::storage::LocalStorage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Name of the file that describes an index directory.
pub const TRACE_JSON: &str = "trace.json";

/// What an index holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Token ids of `loam tokens` arrays.
    Tokens,
    /// UTF-8 bytes of the mix's documents.
    Text,
}

/// The tokenizer a token index was built for (from the arrays' manifest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenizerInfo {
    /// As the tokens config named it; an absolute path when it was a file found at build.
    pub name_or_path: String,
    /// SHA-256 of the tokenizer file (of `tiktoken:<name>` for bundled encodings).
    pub sha256: String,
    /// Array element type.
    pub dtype: String,
}

/// One shard of an index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardInfo {
    /// The index file, relative to the index directory.
    pub index: String,
    /// The file indexed, relative to the mix (text) or tokens directory.
    pub source: String,
    /// Documents in it.
    pub documents: u64,
    /// Symbols (tokens, or text bytes) in it.
    pub symbols: u64,
    /// Size and SHA-256 of the index file.
    #[serde(flatten)]
    pub digest: loam_manifests::FileDigest,
}

/// `trace.json`: what an index directory holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceInfo {
    /// Always `loam-trace`.
    pub format: String,
    /// Index file layout version ([`shard::VERSION`]).
    pub version: u32,
    /// Tokens or text.
    pub kind: Kind,
    /// The mix directory (absolute).
    pub mix: String,
    /// The mix's content id.
    pub mix_content_id: String,
    /// The token arrays' directory (absolute), for a token index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<String>,
    /// The tokenizer, for a token index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<TokenizerInfo>,
    /// Every shard, in the order of the files they index.
    pub shards: Vec<ShardInfo>,
}

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The mix directory (holding `manifest.json`).
    pub mix: PathBuf,
    /// The token arrays' directory; `None`: `<output>/tokens/<mix>/<version>` beside a
    /// pipeline's mix when it exists, else the text.
    pub tokens: Option<PathBuf>,
    /// Index the text even when token arrays exist.
    pub text: bool,
    /// Where the index goes; `None`: [`default_index_dir`].
    pub index: Option<PathBuf>,
    /// Threads (0: one per core); never changes a byte.
    pub threads: usize,
    /// This task's index among `world` (shard `k` is task `k % world`'s).
    pub rank: usize,
    /// Tasks sharing the shards; `trace.json` is written by a run with `world == 1`.
    pub world: usize,
    /// The most symbols one shard holds (0: [`DEFAULT_MAX_SYMBOLS`]); a file with more is
    /// split into several shards at document boundaries, so building takes at most about
    /// 32 bytes × this per thread, whatever the size of the mix's files.
    pub max_symbols: u64,
}

/// Default most symbols per shard: 2²⁷ (≈ 4 GiB of memory per building thread).
pub const DEFAULT_MAX_SYMBOLS: u64 = 1 << 27;

/// What a build did.
#[derive(Debug, Clone)]
pub struct BuildSummary {
    /// The index directory.
    pub index: PathBuf,
    /// Tokens or text.
    pub kind: Kind,
    /// Shards of the whole index.
    pub shards: usize,
    /// Shards built by this run.
    pub built: usize,
    /// Shards already built for the same source file, kept.
    pub kept: usize,
    /// Symbols indexed by this run.
    pub symbols: u64,
    /// Bytes of index files written by this run.
    pub bytes: u64,
    /// Bytes of input (text or token arrays) indexed by this run.
    pub input_bytes: u64,
    /// Whether `trace.json` was written (the index is complete).
    pub complete: bool,
    /// Wall time of the build.
    pub seconds: f64,
}

impl std::fmt::Display for BuildSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.kind {
            Kind::Tokens => "tokens",
            Kind::Text => "bytes of text",
        };
        let secs = self.seconds.max(1e-9);
        write!(
            f,
            "trace index {}: {} shard(s), {} built, {} kept; {} {unit} indexed in {secs:.2}s ({:.1} MB/s of input), {} index bytes ({:.2} per symbol)",
            self.index.display(),
            self.shards,
            self.built,
            self.kept,
            self.symbols,
            self.input_bytes as f64 / 1e6 / secs,
            self.bytes,
            self.bytes as f64 / self.symbols.max(1) as f64,
        )?;
        if !self.complete {
            write!(
                f,
                "; trace.json not written (run without --rank/--world to finish)"
            )?;
        }
        Ok(())
    }
}

/// The default index directory: `<output>/trace/<mix>/<version>` for a pipeline's mix
/// `<output>/<mix>/<version>` (as `loam tokens` puts its arrays at
/// `<output>/tokens/<mix>/<version>`); in general `../../trace/<parent name>/<name>` from
/// the mix directory, made absolute.
pub fn default_index_dir(mix: &Path) -> PathBuf {
    let mix = absolute(mix);
    match (
        mix.file_name(),
        mix.parent()
            .and_then(|p| Some((p.file_name()?, p.parent()?))),
    ) {
        (Some(version), Some((name, out))) => out.join("trace").join(name).join(version),
        _ => {
            let mut name = mix.file_name().unwrap_or_default().to_os_string();
            name.push(".trace");
            mix.with_file_name(name)
        }
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Reads a directory's `manifest.json`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, TraceError> {
    let file = dir.join("manifest.json");
    let bytes = std::fs::read(&file).map_err(|e| TraceError::io(&file, e))?;
    loam_manifests::check::parse(&file.to_string_lossy(), &bytes)
        .map_err(|e| TraceError::format(&file, e.to_string()))
}

/// The token arrays beside a pipeline's mix (`<output>/tokens/<mix>/<version>`), if any.
fn tokens_beside(mix: &Path) -> Option<PathBuf> {
    let version = mix.file_name()?;
    let name = mix.parent()?.file_name()?;
    let out = mix.parent()?.parent()?;
    let dir = out.join("tokens").join(name).join(version);
    dir.join("manifest.json").is_file().then_some(dir)
}

/// One file to index.
struct Source {
    /// Relative to `base`.
    rel: String,
    base: PathBuf,
    sha256: String,
}

/// Builds (or completes) the index of a mix.
pub fn build(opts: &BuildOptions) -> Result<BuildSummary, TraceError> {
    if opts.world == 0 || opts.rank >= opts.world {
        return Err(TraceError::Usage(format!(
            "--rank {} --world {}: rank must be below world",
            opts.rank, opts.world
        )));
    }
    let started = std::time::Instant::now();
    let mix = absolute(&opts.mix);
    let m = read_manifest(&mix)?;
    let tokens = if opts.text {
        None
    } else {
        opts.tokens
            .as_deref()
            .map(absolute)
            .or_else(|| tokens_beside(&mix))
    };
    let (kind, sources, tokenizer, width) = match &tokens {
        Some(dir) => {
            let tm = read_manifest(dir)?;
            let file = dir.join("manifest.json");
            let rec = tm
                .tokens
                .as_ref()
                .ok_or_else(|| TraceError::format(&file, "not a `loam tokens` manifest"))?;
            if !tm.parents.contains(&m.mix.content_id) {
                return Err(TraceError::format(
                    &file,
                    format!(
                        "these arrays were not made from mix {} (parents {:?}): give the right --tokens, or --text",
                        m.mix.content_id, tm.parents
                    ),
                ));
            }
            let width = loam_tokens::Dtype::parse(&rec.dtype)
                .map(|d| d.width())
                .filter(|w| matches!(w, 1 | 2 | 4))
                .ok_or_else(|| {
                    TraceError::format(&file, format!("dtype {} is not indexable", rec.dtype))
                })?;
            let name = if Path::new(&rec.tokenizer).is_file() {
                absolute(Path::new(&rec.tokenizer))
                    .to_string_lossy()
                    .to_string()
            } else {
                rec.tokenizer.clone()
            };
            let sources = tm
                .outputs
                .iter()
                .filter(|o| o.kind == loam_manifests::OutputKind::Tokens)
                .map(|o| Source {
                    rel: o.path.clone(),
                    base: dir.clone(),
                    sha256: o.digest.sha256.clone(),
                })
                .collect::<Vec<_>>();
            let tok = TokenizerInfo {
                name_or_path: name,
                sha256: rec.tokenizer_sha256.clone(),
                dtype: rec.dtype.clone(),
            };
            (Kind::Tokens, sources, Some(tok), width)
        }
        None => {
            let sources = m
                .outputs
                .iter()
                .filter(|o| o.kind == loam_manifests::OutputKind::Documents)
                .map(|o| Source {
                    rel: o.path.clone(),
                    base: mix.clone(),
                    sha256: o.digest.sha256.clone(),
                })
                .collect::<Vec<_>>();
            (Kind::Text, sources, None, 1)
        }
    };
    let mut sources = sources;
    sources.sort_by(|a, b| a.rel.cmp(&b.rel));
    let index = opts
        .index
        .as_deref()
        .map(absolute)
        .unwrap_or_else(|| default_index_dir(&mix));
    std::fs::create_dir_all(&index).map_err(|e| TraceError::io(&index, e))?;
    // The index is incomplete until trace.json is written again, last.
    let done = index.join(TRACE_JSON);
    if done.exists() {
        std::fs::remove_file(&done).map_err(|e| TraceError::io(&done, e))?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| TraceError::Usage(format!("thread pool: {e}")))?;
    let max_symbols = match opts.max_symbols {
        0 => DEFAULT_MAX_SYMBOLS,
        n => n.min(u64::from(u32::MAX) - 2),
    };
    // Each file is indexed by one thread (its pieces in order): the bytes never depend on
    // how many run at once.
    let results: Vec<Result<Vec<Built>, TraceError>> = pool.install(|| {
        sources
            .par_iter()
            .enumerate()
            .map(|(k, s)| {
                if k % opts.world != opts.rank && opts.world > 1 {
                    return Ok(Vec::new());
                }
                one_source(kind, width, s, &index, k, max_symbols)
            })
            .collect()
    });
    let mut summary = BuildSummary {
        index: index.clone(),
        kind,
        shards: sources.len(),
        built: 0,
        kept: 0,
        symbols: 0,
        bytes: 0,
        input_bytes: 0,
        complete: false,
        seconds: 0.0,
    };
    let mut shards = Vec::new();
    for r in results {
        for (info, built, input) in r? {
            if built {
                summary.built += 1;
                summary.symbols += info.symbols;
                summary.bytes += info.digest.bytes;
                summary.input_bytes += input;
            } else {
                summary.kept += 1;
            }
            shards.push(info);
        }
    }
    // Pieces, not files: a file larger than a shard is several.
    summary.shards = shards.len();
    if opts.world == 1 {
        remove_unlisted(&index, &shards)?;
        let info = TraceInfo {
            format: "loam-trace".into(),
            version: shard::VERSION,
            kind,
            mix: mix.to_string_lossy().to_string(),
            mix_content_id: m.mix.content_id.clone(),
            tokens: tokens.map(|t| t.to_string_lossy().to_string()),
            tokenizer,
            shards,
        };
        let path = index.join(TRACE_JSON);
        let mut bytes = serde_json::to_vec_pretty(&info)
            .map_err(|e| TraceError::format(&path, e.to_string()))?;
        bytes.push(b'\n');
        let tmp = shard::tmp_name(&path);
        std::fs::write(&tmp, &bytes)
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| TraceError::io(&path, e))?;
        summary.complete = true;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A shard's entry, whether this run built it, and the input bytes it read.
type Built = (ShardInfo, bool, u64);

/// The index file of piece `j` of the `k`-th file: `shard-<k>.trace` for the first (the
/// whole file when it fits one shard), `shard-<k>.<j>.trace` after it.
fn piece_path(index: &Path, k: usize, j: u32) -> PathBuf {
    match j {
        0 => index.join(format!("shard-{k:05}.trace")),
        j => index.join(format!("shard-{k:05}.{j}.trace")),
    }
}

/// Removes index files from earlier builds that the new `trace.json` does not list (a file
/// now split into fewer pieces, a mix with fewer files).
fn remove_unlisted(index: &Path, shards: &[ShardInfo]) -> Result<(), TraceError> {
    let listed: std::collections::BTreeSet<&str> =
        shards.iter().map(|s| s.index.as_str()).collect();
    let entries = std::fs::read_dir(index).map_err(|e| TraceError::io(index, e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with("shard-") && name.ends_with(".trace") && !listed.contains(name.as_str())
        {
            let path = e.path();
            std::fs::remove_file(&path).map_err(|e| TraceError::io(&path, e))?;
        }
    }
    Ok(())
}

/// The shards of one file when every piece an earlier build made from the same bytes, for
/// the same shard size, is there and valid.
fn kept_pieces(s: &Source, index: &Path, k: usize, max_symbols: u64) -> Option<Vec<Built>> {
    let mut out = Vec::new();
    for j in 0..=u32::MAX {
        let path = piece_path(index, k, j);
        let old = shard::Shard::open(&path).ok()?;
        old.check_all().ok()?;
        if old.meta.source != s.rel || old.meta.source_sha256 != s.sha256 {
            return None;
        }
        let last = match old.meta.part {
            // The whole file in one shard.
            None if j == 0 && old.len() as u64 <= max_symbols => true,
            None => return None,
            Some(p) if p.index == j && p.max_symbols == max_symbols => p.last,
            Some(_) => return None,
        };
        let info = ShardInfo {
            index: file_name(&path),
            source: s.rel.clone(),
            documents: old.documents() as u64,
            symbols: old.len() as u64,
            digest: digest_file(&path).ok()?,
        };
        out.push((info, false, 0));
        if last {
            return Some(out);
        }
    }
    None
}

/// The pieces of one file being built: documents gathered until the next would make the
/// piece hold more than `max_symbols`, then the piece's suffix array written.
struct Pieces<'a> {
    s: &'a Source,
    index: &'a Path,
    k: usize,
    width: usize,
    max_symbols: u64,
    j: u32,
    symbols: Vec<u32>,
    starts: Vec<u64>,
    docs: Vec<DocMeta>,
    input: u64,
    out: Vec<Built>,
}

impl Pieces<'_> {
    fn push(
        &mut self,
        doc: impl ExactSizeIterator<Item = u32>,
        meta: DocMeta,
    ) -> Result<(), TraceError> {
        let len = doc.len() as u64;
        if !self.docs.is_empty() && self.symbols.len() as u64 + len > self.max_symbols {
            self.flush(false)?;
        }
        self.symbols.extend(doc);
        self.starts.push(self.symbols.len() as u64);
        self.docs.push(meta);
        Ok(())
    }

    fn flush(&mut self, last: bool) -> Result<(), TraceError> {
        let path = piece_path(self.index, self.k, self.j);
        if self.symbols.len() >= u32::MAX as usize - 1 {
            // Only a single document of 4 billion symbols can get here.
            return Err(TraceError::format(
                self.s.base.join(&self.s.rel),
                "a document of more than 4 billion symbols",
            ));
        }
        let sa = suffix_array(&self.symbols, &self.starts);
        let part = (!(last && self.j == 0)).then_some(Part {
            index: self.j,
            last,
            max_symbols: self.max_symbols,
        });
        let meta = ShardMeta {
            source: self.s.rel.clone(),
            source_sha256: self.s.sha256.clone(),
            documents: std::mem::take(&mut self.docs),
            part,
        };
        shard::write(&path, self.width, &self.symbols, &self.starts, &sa, &meta)?;
        let info = ShardInfo {
            index: file_name(&path),
            source: self.s.rel.clone(),
            documents: meta.documents.len() as u64,
            symbols: self.symbols.len() as u64,
            digest: digest_file(&path)?,
        };
        self.out.push((info, true, std::mem::take(&mut self.input)));
        self.symbols.clear();
        self.starts.clear();
        self.starts.push(0);
        self.j += 1;
        Ok(())
    }
}

/// Indexes one file (the `k`-th), in as many pieces as `max_symbols` needs, unless valid
/// pieces from the same bytes are there. Returns each piece's entry, whether this run built
/// it, and the input bytes read.
fn one_source(
    kind: Kind,
    width: usize,
    s: &Source,
    index: &Path,
    k: usize,
    max_symbols: u64,
) -> Result<Vec<Built>, TraceError> {
    if let Some(kept) = kept_pieces(s, index, k, max_symbols) {
        return Ok(kept);
    }
    let mut p = Pieces {
        s,
        index,
        k,
        width,
        max_symbols,
        j: 0,
        symbols: Vec::new(),
        starts: vec![0],
        docs: Vec::new(),
        input: 0,
        out: Vec::new(),
    };
    match kind {
        Kind::Tokens => read_tokens(&mut p)?,
        Kind::Text => read_text(&mut p)?,
    }
    p.flush(true)?;
    Ok(p.out)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string()
}

fn digest_file(path: &Path) -> Result<loam_manifests::FileDigest, TraceError> {
    let f = std::fs::File::open(path).map_err(|e| TraceError::io(path, e))?;
    loam_manifests::digest_reader(std::io::BufReader::new(f)).map_err(|e| TraceError::io(path, e))
}

/// A token array (memory-mapped) and its `.csv.gz` rows, which must tile the array.
fn read_tokens(p: &mut Pieces) -> Result<(), TraceError> {
    let (base, rel, width) = (&p.s.base, p.s.rel.as_str(), p.width);
    let array = base.join(rel);
    let f = std::fs::File::open(&array).map_err(|e| TraceError::io(&array, e))?;
    // SAFETY: read only; the arrays are written whole and renamed by `loam tokens`, and the
    // bytes read are checked against the manifest's SHA-256 by `loam manifest verify`.
    let bytes = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| TraceError::io(&array, e))?;
    if bytes.len() % width != 0 {
        return Err(TraceError::format(
            &array,
            format!(
                "{} bytes, not a whole number of {width}-byte tokens",
                bytes.len()
            ),
        ));
    }
    let n = (bytes.len() / width) as u64;
    let stem = rel
        .strip_suffix(".npy")
        .or_else(|| rel.strip_suffix(".bin"))
        .ok_or_else(|| TraceError::format(&array, "not a .npy or .bin token array"))?;
    let meta_path = base.join(format!("{stem}.csv.gz"));
    let raw = std::fs::read(&meta_path).map_err(|e| TraceError::io(&meta_path, e))?;
    let mut rows =
        loam_tokens::write::read_rows(&raw).map_err(|e| TraceError::format(&meta_path, e))?;
    rows.sort_by_key(|r| r.start);
    let mut end = 0u64;
    for r in &rows {
        if r.start != end || r.end < r.start || r.end > n {
            return Err(TraceError::format(
                &meta_path,
                format!(
                    "row {},{},{}: rows do not tile the array (gap, overlap or past its end)",
                    r.start, r.end, r.id
                ),
            ));
        }
        end = r.end;
    }
    if end != n {
        return Err(TraceError::format(
            &meta_path,
            format!("rows end at token {end}, the array holds {n}"),
        ));
    }
    p.input = bytes.len() as u64;
    for r in rows {
        let doc = &bytes[r.start as usize * width..r.end as usize * width];
        let tokens = doc.chunks_exact(width).map(|c| {
            let mut x = [0u8; 4];
            x[..width].copy_from_slice(c);
            u32::from_le_bytes(x)
        });
        let meta = DocMeta {
            id: r.id,
            src: r.src,
            line: r.loc,
        };
        p.push(tokens, meta)?;
    }
    Ok(())
}

/// The UTF-8 text of a document file, document after document, streamed.
fn read_text(p: &mut Pieces) -> Result<(), TraceError> {
    let file = p.s.base.join(&p.s.rel);
    let name = file.to_string_lossy().to_string();
    let mut r = DocumentReader::open(&LocalStorage, &name)
        .map_err(|e| TraceError::format(&file, e.to_string()))?;
    while let Some(item) = r.next_document() {
        let (line, d) = item.map_err(|e| TraceError::format(&file, e.to_string()))?;
        p.input += d.text.len() as u64;
        let meta = DocMeta {
            id: d.id,
            src: p.s.rel.clone(),
            line,
        };
        p.push(d.text.bytes().map(u32::from), meta)?;
    }
    Ok(())
}
