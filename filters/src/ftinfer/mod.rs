//! Native fastText inference for supervised models (`.bin`, and quantized `.ftz`), giving
//! fastText's own predictions, float for float.
//!
//! What it reproduces of fastText (0.9.2, `src/`):
//!
//! - **Tokens** (`Dictionary::readWord`, `getLine`): words split on ` \n\r\t\v\f\0`; a `\n`
//!   ends the line and becomes the end-of-sentence token `</s>` (a literal `</s>` word also ends
//!   it); words starting with `__label__` that are not in the dictionary are dropped.
//! - **Input rows** (`addSubwords`, `computeSubwords`, `addWordNgrams`, `pushHash`): an
//!   in-vocabulary word adds its id and its char n-grams; an unknown word adds the char
//!   n-grams of `<word>`: over UTF-8 characters, lengths `minn..=maxn`, no 1-gram of `<` or
//!   `>`, each hashed with fastText's FNV-1a variant (bytes sign-extended as `int8_t`) modulo
//!   `bucket`; word n-grams up to `wordNgrams` from the words' hashes (sign-extended to 64
//!   bits, `h * 116049371 + next`); quantized models with a pruned dictionary map buckets
//!   through `pruneidx` and drop the ones it lacks.
//! - **Hidden vector**: the rows' sum in input order, times `float(1.0 / n)`; quantized rows
//!   are product-quantized codes times their quantized norm.
//! - **Losses**: `hs` (the Huffman tree fastText builds from label counts, its depth-first
//!   search with `log(p + 1e-5)` terms and pruning), `softmax`, and `ns`/`ova` (fastText's
//!   table sigmoid), with fastText's heap for the top k and its float/double roundings.
//!
//! [`Model::predict`] returns what `FastText::predictLine` returns; [`Model::predict_label`]
//! computes one label's probability alone (under `hs`, only that label's root-to-leaf path),
//! equal to the value `predict` with `k = -1` would give it. Neither allocates once its
//! [`Scratch`] has grown; a model is immutable and shared between threads.

mod heap;
mod read;

pub use read::FormatError;

use read::Args;
use std::path::{Path, PathBuf};

/// fastText's end-of-sentence token.
const EOS: &[u8] = b"</s>";
/// The prefix that makes a token a label.
const LABEL_PREFIX: &[u8] = b"__label__";

/// A model file that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("fastText model {}: {source}", path.display())]
    Io {
        /// The model file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid supervised fastText model.
    #[error("fastText model {}: {source}", path.display())]
    Format {
        /// The model file.
        path: PathBuf,
        /// What is wrong, and where.
        source: FormatError,
    },
}

/// fastText's string hash: FNV-1a over bytes sign-extended like `int8_t` (fastText keeps that
/// quirk so released models stay valid).
#[inline]
pub fn hash(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| hash_step(h, b))
}

#[inline]
fn hash_step(h: u32, b: u8) -> u32 {
    (h ^ (b as i8 as i32 as u32)).wrapping_mul(16_777_619)
}

#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c | 0)
}

/// `pruneidx`: bucket → row offset, an open-addressing table (the lookup is on the hot path).
#[derive(Debug)]
struct PruneMap {
    /// `(key, value)`, `value < 0` for an empty slot.
    slots: Vec<(i32, i32)>,
    mask: usize,
    max_value: Option<i32>,
}

impl PruneMap {
    fn new(pairs: &[(i32, i32)]) -> PruneMap {
        let cap = (pairs.len() * 2).next_power_of_two().max(16);
        let mut m = PruneMap {
            slots: vec![(0, -1); cap],
            mask: cap - 1,
            max_value: None,
        };
        // Later pairs win, as in fastText's `pruneidx_[first] = second`.
        for &(k, v) in pairs {
            let i = m.slot(k);
            m.slots[i] = (k, v);
        }
        m.max_value = m.slots.iter().filter(|s| s.1 >= 0).map(|s| s.1).max();
        m
    }

    #[inline]
    fn slot(&self, key: i32) -> usize {
        let mut i = ((key as u32).wrapping_mul(0x9E37_79B9) as usize) & self.mask;
        loop {
            let (k, v) = self.slots[i];
            if v < 0 || k == key {
                return i;
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    fn get(&self, key: i32) -> Option<i32> {
        let (_, v) = self.slots[self.slot(key)];
        (v >= 0).then_some(v)
    }

    fn max_value(&self) -> Option<i32> {
        self.max_value
    }

    fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.1 >= 0).count()
    }
}

/// The dictionary: words then labels, fastText's hash table, and each word's rows.
#[derive(Debug)]
struct Dict {
    arena: Vec<u8>,
    offs: Vec<u32>,
    nwords: i32,
    word2int: Vec<i32>,
    /// Rows of word `i` (its id, then its char n-grams): `subs[sub_offs[i]..sub_offs[i+1]]`.
    subs: Vec<i32>,
    sub_offs: Vec<u32>,
    prune: Option<PruneMap>,
    bucket: u32,
    minn: i32,
    maxn: i32,
}

impl Dict {
    fn new(
        args: Args,
        arena: Vec<u8>,
        offs: Vec<u32>,
        nwords: i32,
        prune: Option<PruneMap>,
    ) -> Dict {
        let size = offs.len() - 1;
        let mut d = Dict {
            arena,
            offs,
            nwords,
            word2int: Vec::new(),
            subs: Vec::new(),
            sub_offs: Vec::with_capacity(size + 1),
            prune,
            bucket: args.bucket as u32,
            minn: args.minn,
            maxn: args.maxn,
        };
        // fastText's `initNgrams`, for words and labels alike.
        let mut buf = Vec::new();
        let mut subs = Vec::new();
        d.sub_offs.push(0);
        for i in 0..size {
            subs.push(i as i32);
            let w = d.entry(i);
            if w != EOS {
                buf.clear();
                buf.push(b'<');
                buf.extend_from_slice(w);
                buf.push(b'>');
                d.char_ngrams(&buf, &mut subs);
            }
            d.sub_offs.push(subs.len() as u32);
        }
        d.subs = subs;
        // `ceil(size / 0.7)` slots, filled in entry order.
        let n = (size as f64 / 0.7).ceil() as usize;
        d.word2int = vec![-1; n.max(1)];
        for i in 0..size {
            let w = d.entry(i);
            let slot = d.find(w, hash(w));
            d.word2int[slot] = i as i32;
        }
        d
    }

    #[inline]
    fn entry(&self, i: usize) -> &[u8] {
        let (a, b) = (self.offs[i] as usize, self.offs[i + 1] as usize);
        self.arena.get(a..b).unwrap_or_default()
    }

    /// fastText's `find`: the slot holding `w`, or the empty slot where it would go.
    #[inline]
    fn find(&self, w: &[u8], h: u32) -> usize {
        let n = self.word2int.len();
        let mut id = h as usize % n;
        loop {
            let e = self.word2int[id];
            if e < 0 || self.entry(e as usize) == w {
                return id;
            }
            id = (id + 1) % n;
        }
    }

    /// fastText's `pushHash`.
    #[inline]
    fn push_hash(&self, out: &mut Vec<i32>, id: i32) {
        if id < 0 {
            return;
        }
        let id = match &self.prune {
            None => id,
            Some(p) => match p.get(id) {
                Some(v) => v,
                None => return,
            },
        };
        out.push(self.nwords + id);
    }

    /// fastText's `computeSubwords` on `<word>`, hashing each n-gram as it grows.
    fn char_ngrams(&self, word: &[u8], out: &mut Vec<i32>) {
        if self.maxn <= 0 {
            return;
        }
        let len = word.len();
        for i in 0..len {
            if word[i] & 0xC0 == 0x80 {
                continue;
            }
            let mut h = 2_166_136_261u32;
            let mut j = i;
            let mut n = 1;
            while j < len && n <= self.maxn {
                h = hash_step(h, word[j]);
                j += 1;
                while j < len && word[j] & 0xC0 == 0x80 {
                    h = hash_step(h, word[j]);
                    j += 1;
                }
                if n >= self.minn && !(n == 1 && (i == 0 || j == len)) {
                    self.push_hash(out, (h % self.bucket) as i32);
                }
                n += 1;
            }
        }
    }
}

/// A product quantizer: 256 centroids per sub-vector.
#[derive(Debug)]
struct Pq {
    nsubq: usize,
    dsub: usize,
    lastdsub: usize,
    centroids: Vec<f32>,
}

impl Pq {
    fn dim(&self) -> usize {
        (self.nsubq - 1) * self.dsub + self.lastdsub
    }

    /// fastText's `get_centroids(m, i)` (the last sub-vector may be shorter).
    #[inline]
    fn centroid(&self, m: usize, i: u8) -> &[f32] {
        let (start, d) = if m == self.nsubq - 1 {
            (
                m * 256 * self.dsub + i as usize * self.lastdsub,
                self.lastdsub,
            )
        } else {
            ((m * 256 + i as usize) * self.dsub, self.dsub)
        };
        self.centroids.get(start..start + d).unwrap_or_default()
    }
}

#[derive(Debug)]
struct Dense {
    data: Vec<f32>,
    cols: usize,
}

#[derive(Debug)]
struct Quant {
    rows: usize,
    cols: usize,
    codes: Vec<u8>,
    pq: Pq,
    /// Per-row norm codes and the norm quantizer's 256 centroids.
    norms: Option<(Vec<u8>, Vec<f32>)>,
}

impl Quant {
    #[inline]
    fn norm(&self, i: usize) -> f32 {
        match &self.norms {
            None => 1.0,
            Some((codes, c)) => c[codes[i] as usize],
        }
    }

    #[inline]
    fn code(&self, i: usize) -> &[u8] {
        let n = self.pq.nsubq;
        self.codes.get(i * n..(i + 1) * n).unwrap_or_default()
    }
}

#[derive(Debug)]
enum Matrix {
    Dense(Dense),
    Quant(Quant),
}

impl Matrix {
    fn rows(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.data.len().checked_div(d.cols).unwrap_or(0),
            Matrix::Quant(q) => q.rows,
        }
    }

    fn cols(&self) -> usize {
        match self {
            Matrix::Dense(d) => d.cols,
            Matrix::Quant(q) => q.cols,
        }
    }

    /// `x += row i` (fastText's `addRowToVector(x, i)`).
    #[inline]
    fn add_row(&self, x: &mut [f32], i: usize) {
        match self {
            Matrix::Dense(d) => {
                let row = d.data.get(i * d.cols..(i + 1) * d.cols).unwrap_or_default();
                for (a, b) in x.iter_mut().zip(row) {
                    *a += *b;
                }
            }
            Matrix::Quant(q) => {
                let norm = q.norm(i);
                let pq = &q.pq;
                for (m, &code) in q.code(i).iter().enumerate() {
                    let c = pq.centroid(m, code);
                    let xs = x.get_mut(m * pq.dsub..).unwrap_or_default();
                    for (a, b) in xs.iter_mut().zip(c) {
                        *a += norm * *b;
                    }
                }
            }
        }
    }

    /// `row i · x` (fastText's `dotRow`), summed in fastText's order.
    #[inline]
    fn dot_row(&self, x: &[f32], i: usize) -> f32 {
        match self {
            Matrix::Dense(d) => {
                let row = d.data.get(i * d.cols..(i + 1) * d.cols).unwrap_or_default();
                let mut s = 0.0f32;
                for (a, b) in row.iter().zip(x) {
                    s += *a * *b;
                }
                s
            }
            Matrix::Quant(q) => {
                let pq = &q.pq;
                let mut s = 0.0f32;
                for (m, &code) in q.code(i).iter().enumerate() {
                    let c = pq.centroid(m, code);
                    let xs = x.get(m * pq.dsub..).unwrap_or_default();
                    for (a, b) in xs.iter().zip(c) {
                        s += *a * *b;
                    }
                }
                s * q.norm(i)
            }
        }
    }
}

/// The hierarchical softmax's Huffman tree, built as fastText's `buildTree` builds it.
#[derive(Debug)]
struct Tree {
    /// `(left, right)` children of node `nlabels + i`; leaves are `0..nlabels`.
    children: Vec<(i32, i32)>,
    /// Per label: `(internal node index, goes right)` from the root down to the leaf.
    paths: Vec<Vec<(u32, bool)>>,
    nlabels: usize,
}

impl Tree {
    fn build(counts: &[i64]) -> Tree {
        let osz = counts.len();
        let total = 2 * osz - 1;
        let mut count: Vec<i64> = vec![1_000_000_000_000_000; total];
        let mut parent = vec![-1i64; total];
        let mut binary = vec![false; total];
        let mut children = Vec::with_capacity(osz.saturating_sub(1));
        count[..osz].copy_from_slice(counts);
        let mut leaf = osz as i64 - 1;
        let mut node = osz;
        for i in osz..total {
            let mut mini = [0usize; 2];
            for m in &mut mini {
                if leaf >= 0 && count[leaf as usize] < count[node] {
                    *m = leaf as usize;
                    leaf -= 1;
                } else {
                    *m = node;
                    node += 1;
                }
            }
            children.push((mini[0] as i32, mini[1] as i32));
            count[i] = count[mini[0]].saturating_add(count[mini[1]]);
            parent[mini[0]] = i as i64;
            parent[mini[1]] = i as i64;
            binary[mini[1]] = true;
        }
        let paths = (0..osz)
            .map(|i| {
                let mut path = Vec::new();
                let mut j = i;
                while parent[j] >= 0 {
                    path.push(((parent[j] as usize - osz) as u32, binary[j]));
                    j = parent[j] as usize;
                }
                path.reverse();
                path
            })
            .collect();
        Tree {
            children,
            paths,
            nlabels: osz,
        }
    }
}

#[derive(Debug)]
enum Loss {
    Hs(Tree),
    Softmax,
    /// `ns` and `ova`: each label's own sigmoid.
    Sigmoid,
}

/// Per-thread buffers for prediction; reuse one per thread so predictions do not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    rows: Vec<i32>,
    hashes: Vec<i32>,
    word: Vec<u8>,
    hidden: Vec<f32>,
    output: Vec<f32>,
    heap: Vec<heap::Entry>,
}

impl Scratch {
    /// Gives back memory after an outsized line (a 10 MB line leaves ~60 MB of buffers), so a
    /// long-lived thread does not hold it; normal-sized buffers are kept.
    pub fn trim(&mut self) {
        const KEEP: usize = 1 << 16;
        if self.rows.capacity() > 4 * KEEP {
            self.rows = Vec::new();
        }
        if self.hashes.capacity() > 4 * KEEP {
            self.hashes = Vec::new();
        }
        if self.word.capacity() > 4 * KEEP {
            self.word = Vec::new();
        }
    }
}

/// One prediction: a label index (see [`Model::label`]) and its probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prediction {
    /// Index of the label in [`Model::labels`].
    pub label: usize,
    /// fastText's probability (`exp` of its log score), as the float fastText returns.
    pub prob: f32,
}

/// A supervised fastText model, loaded once and shared read-only between threads.
#[derive(Debug)]
pub struct Model {
    args: Args,
    dict: Dict,
    input: Matrix,
    output: Matrix,
    loss: Loss,
    sigmoid: Vec<f32>,
    labels: Vec<String>,
}

/// fastText's `std_log`: the argument rounded to float, `log(x + 1e-5)` in double, back to float.
#[inline]
fn std_log(x: f32) -> f32 {
    (f64::from(x) + 1e-5).ln() as f32
}

impl Model {
    /// Loads a model file.
    pub fn load(path: &Path) -> Result<Model, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Model::from_bytes(&bytes).map_err(|source| ModelError::Format {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Parses a model from its file's bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Model, FormatError> {
        read::parse(bytes)
    }

    fn assemble(args: Args, dict: Dict, input: Matrix, output: Matrix, loss: Loss) -> Model {
        // fastText's sigmoid table (`Loss::Loss`), float/double as it computes it.
        let sigmoid = (0..=512i64)
            .map(|i| {
                let x = (i * 16) as f32 / 512.0 - 8.0;
                (1.0 / (1.0 + f64::from((-x).exp()))) as f32
            })
            .collect();
        let size = dict.offs.len() - 1;
        let labels = (dict.nwords as usize..size)
            .map(|i| String::from_utf8_lossy(dict.entry(i)).into_owned())
            .collect();
        Model {
            args,
            dict,
            input,
            output,
            loss,
            sigmoid,
            labels,
        }
    }

    /// The labels as stored (with their `__label__` prefix), in fastText's label order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The index of a label given with its prefix (`__label__en`).
    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    /// The vector size.
    pub fn dim(&self) -> usize {
        self.args.dim as usize
    }

    /// A one-line description (loss, sizes, quantization), for logs and benchmarks.
    pub fn summary(&self) -> String {
        let loss = match self.loss {
            Loss::Hs(_) => "hs",
            Loss::Softmax => "softmax",
            Loss::Sigmoid => "ns/ova",
        };
        let kind = |m: &Matrix| match m {
            Matrix::Dense(_) => "dense",
            Matrix::Quant(_) => "quantized",
        };
        format!(
            "loss {loss}, dim {}, {} words, {} labels, char n-grams {}..={}, word n-grams {}, \
             {} buckets ({} kept), input {} ({} rows), output {}",
            self.args.dim,
            self.dict.nwords,
            self.labels.len(),
            self.args.minn,
            self.args.maxn,
            self.args.word_ngrams,
            self.args.bucket,
            self.dict
                .prune
                .as_ref()
                .map_or(self.args.bucket as usize, |p| p.len()),
            kind(&self.input),
            self.input.rows(),
            kind(&self.output),
        )
    }

    /// fastText's `getLine` for prediction, then the hidden vector; false when the line gives
    /// no input rows (fastText then predicts nothing).
    fn hidden(&self, line: &[u8], s: &mut Scratch) -> bool {
        let d = &self.dict;
        s.rows.clear();
        s.hashes.clear();
        let mut pos = 0;
        let len = line.len();
        loop {
            // `readWord`: skip spaces; a newline before any byte is `</s>`.
            let mut eos = false;
            while pos < len && is_space(line[pos]) {
                pos += 1;
                if line[pos - 1] == b'\n' {
                    eos = true;
                    break;
                }
            }
            let token: &[u8] = if eos {
                EOS
            } else if pos >= len {
                break;
            } else {
                let start = pos;
                while pos < len && !is_space(line[pos]) {
                    pos += 1;
                }
                line.get(start..pos).unwrap_or_default()
            };
            let h = hash(token);
            let wid = d.word2int[d.find(token, h)];
            if wid >= 0 {
                if wid < d.nwords {
                    let (a, b) = (d.sub_offs[wid as usize], d.sub_offs[wid as usize + 1]);
                    if self.args.maxn <= 0 {
                        s.rows.push(wid);
                    } else {
                        s.rows.extend_from_slice(
                            d.subs.get(a as usize..b as usize).unwrap_or_default(),
                        );
                    }
                    s.hashes.push(h as i32);
                }
            } else if !token.starts_with(LABEL_PREFIX) {
                if token != EOS {
                    s.word.clear();
                    s.word.push(b'<');
                    s.word.extend_from_slice(token);
                    s.word.push(b'>');
                    d.char_ngrams(&s.word, &mut s.rows);
                }
                s.hashes.push(h as i32);
            }
            if token == EOS {
                break;
            }
        }
        // `addWordNgrams`.
        let n = self.args.word_ngrams.max(0) as usize;
        if n > 1 {
            let bucket = u64::from(d.bucket);
            for i in 0..s.hashes.len() {
                let mut h = s.hashes[i] as i64 as u64;
                for j in i + 1..s.hashes.len().min(i + n) {
                    h = h
                        .wrapping_mul(116_049_371)
                        .wrapping_add(s.hashes[j] as i64 as u64);
                    d.push_hash(&mut s.rows, (h % bucket) as i32);
                }
            }
        }
        if s.rows.is_empty() {
            return false;
        }
        let dim = self.dim();
        s.hidden.clear();
        s.hidden.resize(dim, 0.0);
        for &r in &s.rows {
            self.input.add_row(&mut s.hidden, r as usize);
        }
        let inv = (1.0 / s.rows.len() as f64) as f32;
        for x in &mut s.hidden {
            *x *= inv;
        }
        true
    }

    /// fastText's table sigmoid.
    #[inline]
    fn sigmoid(&self, x: f32) -> f32 {
        if x < -8.0 {
            0.0
        } else if x > 8.0 {
            1.0
        } else {
            let i = ((x + 8.0) * 512.0 / 8.0 / 2.0) as usize;
            self.sigmoid.get(i).copied().unwrap_or(1.0)
        }
    }

    /// One internal node of the tree: `f = σ(row · hidden)` as fastText rounds it.
    #[inline]
    fn node_prob(&self, node: usize, hidden: &[f32]) -> f32 {
        let f = self.output.dot_row(hidden, node);
        (1.0 / f64::from(1.0 + (-f).exp())) as f32
    }

    /// fastText's `predictLine(line, k, threshold)`: up to `k` labels (`None`: all, fastText's
    /// `k = -1`) with probability at least `threshold`, most probable first, into `out`.
    pub fn predict(
        &self,
        line: &[u8],
        k: Option<usize>,
        threshold: f32,
        s: &mut Scratch,
        out: &mut Vec<Prediction>,
    ) {
        out.clear();
        if line.is_empty() || !self.hidden(line, s) {
            return;
        }
        let k = k.unwrap_or_else(|| self.output.rows());
        if k == 0 {
            return;
        }
        let mut heap = std::mem::take(&mut s.heap);
        heap.clear();
        match &self.loss {
            Loss::Hs(tree) => {
                let root = 2 * tree.nlabels - 2;
                self.dfs(tree, k, std_log(threshold), root, 0.0, &mut heap, &s.hidden);
            }
            Loss::Softmax | Loss::Sigmoid => {
                self.compute_output(s);
                for (i, &o) in s.output.iter().enumerate() {
                    if o < threshold {
                        continue;
                    }
                    let score = std_log(o);
                    if heap.len() == k && score < heap[0].0 {
                        continue;
                    }
                    heap::push(&mut heap, (score, i as i32));
                    if heap.len() > k {
                        heap::pop(&mut heap);
                    }
                }
            }
        }
        heap::sort(&mut heap);
        out.extend(heap.iter().map(|&(score, label)| Prediction {
            label: label as usize,
            prob: score.exp(),
        }));
        s.heap = heap;
    }

    /// Softmax or sigmoid outputs for every label, as fastText's `computeOutput`.
    fn compute_output(&self, s: &mut Scratch) {
        let n = self.labels.len();
        s.output.clear();
        s.output
            .extend((0..n).map(|i| self.output.dot_row(&s.hidden, i)));
        match self.loss {
            Loss::Softmax => {
                let mut max = s.output.first().copied().unwrap_or(0.0);
                // `std::max(o, max)`: `max` unless `o < max` (so a NaN output is taken).
                for &o in &s.output {
                    if o.partial_cmp(&max) != Some(std::cmp::Ordering::Less) {
                        max = o;
                    }
                }
                let mut z = 0.0f32;
                for o in &mut s.output {
                    // fastText calls the C `exp(double)` here (its float overload elsewhere).
                    *o = f64::from(*o - max).exp() as f32;
                    z += *o;
                }
                for o in &mut s.output {
                    *o /= z;
                }
            }
            _ => {
                for i in 0..n {
                    s.output[i] = self.sigmoid(s.output[i]);
                }
            }
        }
    }

    /// fastText's `HierarchicalSoftmaxLoss::dfs`.
    #[allow(clippy::too_many_arguments)]
    fn dfs(
        &self,
        tree: &Tree,
        k: usize,
        floor: f32,
        node: usize,
        score: f32,
        heap: &mut Vec<heap::Entry>,
        hidden: &[f32],
    ) {
        if score < floor {
            return;
        }
        if heap.len() == k && score < heap[0].0 {
            return;
        }
        if node < tree.nlabels {
            heap::push(heap, (score, node as i32));
            if heap.len() > k {
                heap::pop(heap);
            }
            return;
        }
        let (left, right) = tree.children[node - tree.nlabels];
        let f = self.node_prob(node - tree.nlabels, hidden);
        // `1.0 - f` in double, rounded to float as `std_log`'s parameter.
        let not_f = (1.0 - f64::from(f)) as f32;
        self.dfs(
            tree,
            k,
            floor,
            left as usize,
            score + std_log(not_f),
            heap,
            hidden,
        );
        self.dfs(
            tree,
            k,
            floor,
            right as usize,
            score + std_log(f),
            heap,
            hidden,
        );
    }

    /// The probability fastText's `predict(line, k = -1, threshold)` gives `label`, or `None`
    /// when it would not return that label. Under `hs` only the label's root-to-leaf path is
    /// computed.
    pub fn predict_label(
        &self,
        line: &[u8],
        label: usize,
        threshold: f32,
        s: &mut Scratch,
    ) -> Option<f32> {
        if label >= self.labels.len() || line.is_empty() || !self.hidden(line, s) {
            return None;
        }
        match &self.loss {
            Loss::Hs(tree) => {
                let floor = std_log(threshold);
                let mut score = 0.0f32;
                for &(node, right) in tree.paths.get(label)? {
                    if score < floor {
                        return None;
                    }
                    let f = self.node_prob(node as usize, &s.hidden);
                    score += std_log(if right {
                        f
                    } else {
                        (1.0 - f64::from(f)) as f32
                    });
                }
                (score >= floor).then(|| score.exp())
            }
            Loss::Softmax | Loss::Sigmoid => {
                self.compute_output(s);
                let o = *s.output.get(label)?;
                (o >= threshold).then(|| std_log(o).exp())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_sign_extends_bytes() {
        assert_eq!(hash(b""), 2_166_136_261);
        // FNV-1a of "a" (ASCII: the quirk does not show).
        assert_eq!(hash(b"a"), 0xe40c_292c);
        // A byte >= 0x80 is xored as 0xffffff.. (int8_t), unlike FNV-1a.
        let quirk = (2_166_136_261u32 ^ 0xffff_ffc3).wrapping_mul(16_777_619);
        assert_eq!(hash(&[0xc3]), quirk);
    }

    #[test]
    fn huffman_tree_like_fasttext() {
        // Counts sorted descending, as fastText's dictionary holds them.
        let t = Tree::build(&[5, 3, 2, 1]);
        // Node 4 = (3: count 1, 2: count 2); a tie (leaf 1 and node 4, both 3) takes the node
        // first: node 5 = (4, 1); root 6 = (0: 5, 5: 6).
        assert_eq!(t.children, [(3, 2), (4, 1), (0, 5)]);
        assert_eq!(t.paths[0], [(2, false)]);
        assert_eq!(t.paths[3], [(2, true), (1, false), (0, false)]);
    }

    #[test]
    fn corrupt_files_are_errors() {
        assert!(Model::from_bytes(b"").is_err());
        assert!(Model::from_bytes(b"\xba\x16\x4f\x2f").is_err());
        assert!(Model::from_bytes(b"not a model").is_err());
        let mut header = Vec::new();
        header.extend_from_slice(&793_712_314i32.to_le_bytes());
        header.extend_from_slice(&12i32.to_le_bytes());
        let e = Model::from_bytes(&header).unwrap_err();
        assert!(e.message.contains("truncated"), "{e}");
    }
}
