//! Parsing fastText's model file (`FastText::saveModel`): every length is checked against the
//! bytes left before anything is allocated, so a corrupt or truncated file is an error.

use super::{Dense, Dict, Loss, Matrix, Model, Pq, PruneMap, Quant, Tree};

/// Why a model file could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {message}")]
pub struct FormatError {
    /// Where in the file the problem was found.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// fastText's file magic number.
const MAGIC: i32 = 793_712_314;
/// The newest file format fastText writes (and the newest it reads).
const VERSION: i32 = 12;
/// `entry_type::label` in the dictionary.
const LABEL: u8 = 1;

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, message: impl Into<String>) -> FormatError {
        FormatError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.bytes.len());
        match end.and_then(|e| self.bytes.get(self.pos..e)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(format!(
                "truncated: {what} needs {n} bytes, {} left",
                self.bytes.len().saturating_sub(self.pos)
            ))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FormatError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn i32(&mut self, what: &str) -> Result<i32, FormatError> {
        self.array::<4>(what).map(i32::from_le_bytes)
    }

    fn i64(&mut self, what: &str) -> Result<i64, FormatError> {
        self.array::<8>(what).map(i64::from_le_bytes)
    }

    fn f64(&mut self, what: &str) -> Result<f64, FormatError> {
        self.array::<8>(what).map(f64::from_le_bytes)
    }

    fn u8(&mut self, what: &str) -> Result<u8, FormatError> {
        self.array::<1>(what).map(|a| a[0])
    }

    fn bool(&mut self, what: &str) -> Result<bool, FormatError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(self.err(format!("{what}: {b} is not a boolean"))),
        }
    }

    /// `n` little-endian floats, after checking the bytes are there.
    fn f32s(&mut self, n: usize, what: &str) -> Result<Vec<f32>, FormatError> {
        let bytes = n
            .checked_mul(4)
            .ok_or_else(|| self.err(format!("{what}: {n} floats overflow")))?;
        let s = self.take(bytes, what)?;
        Ok(s.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// A count that must be in `0..=max`.
    fn count(&mut self, v: i64, max: i64, what: &str) -> Result<usize, FormatError> {
        if v < 0 || v > max {
            return Err(self.err(format!("{what} = {v} is out of range 0..={max}")));
        }
        usize::try_from(v).map_err(|_| self.err(format!("{what} = {v} too large")))
    }
}

/// The args fastText saves with a model.
#[derive(Debug, Clone, Copy)]
pub(super) struct Args {
    pub dim: i32,
    pub word_ngrams: i32,
    pub bucket: i32,
    pub minn: i32,
    pub maxn: i32,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Model, FormatError> {
    let mut c = Cursor { bytes, pos: 0 };
    let magic = c.i32("magic number")?;
    if magic != MAGIC {
        return Err(FormatError {
            offset: 0,
            message: "not a fastText model file (wrong magic number)".into(),
        });
    }
    let version = c.i32("version")?;
    if !(0..=VERSION).contains(&version) {
        return Err(c.err(format!(
            "file format version {version} (fastText reads up to {VERSION})"
        )));
    }
    let dim = c.i32("dim")?;
    let _ws = c.i32("ws")?;
    let _epoch = c.i32("epoch")?;
    let _min_count = c.i32("minCount")?;
    let _neg = c.i32("neg")?;
    let word_ngrams = c.i32("wordNgrams")?;
    let loss = c.i32("loss")?;
    let model = c.i32("model")?;
    let bucket = c.i32("bucket")?;
    let minn = c.i32("minn")?;
    let mut maxn = c.i32("maxn")?;
    let _lr_update_rate = c.i32("lrUpdateRate")?;
    let _t = c.f64("t")?;
    if model != 3 {
        return Err(c.err(format!(
            "model type {model} is not a supervised classifier (fastText's `sup` = 3)"
        )));
    }
    if !(1..=4).contains(&loss) {
        return Err(c.err(format!("unknown loss {loss}")));
    }
    if !(1..=1 << 16).contains(&dim) {
        return Err(c.err(format!("dim {dim} out of range")));
    }
    if version == 11 {
        // fastText: old supervised models do not use char n-grams.
        maxn = 0;
    }
    if bucket < 0 {
        return Err(c.err(format!("bucket {bucket} is negative")));
    }
    if bucket == 0 && (maxn > 0 || word_ngrams > 1) {
        // fastText would divide by zero hashing n-grams into no buckets.
        return Err(c.err("bucket 0 with char or word n-grams"));
    }
    let args = Args {
        dim,
        word_ngrams,
        bucket,
        minn,
        maxn,
    };

    // Dictionary.
    let size = c.i32("dictionary size")?;
    let nwords = c.i32("nwords")?;
    let nlabels = c.i32("nlabels")?;
    let _ntokens = c.i64("ntokens")?;
    let pruneidx_size = c.i64("pruneidx size")?;
    if size < 0
        || nwords < 0
        || nlabels < 0
        || i64::from(nwords) + i64::from(nlabels) != i64::from(size)
    {
        return Err(c.err(format!(
            "dictionary sizes: {size} entries, {nwords} words, {nlabels} labels"
        )));
    }
    if nlabels == 0 {
        return Err(c.err("the model has no labels (not a classifier)"));
    }
    // Each entry takes at least 10 bytes (NUL, count, type).
    let size_u = c.count(
        i64::from(size),
        (bytes.len() / 10) as i64,
        "dictionary size",
    )?;
    let mut arena = Vec::new();
    let mut offs = Vec::with_capacity(size_u + 1);
    let mut counts = Vec::new();
    offs.push(0u32);
    for i in 0..size_u {
        let rest = bytes.get(c.pos..).unwrap_or_default();
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| c.err(format!("truncated: dictionary entry {i} has no end")))?;
        let word = c.take(len + 1, "dictionary word")?;
        arena.extend_from_slice(word.get(..len).unwrap_or_default());
        let end = u32::try_from(arena.len()).map_err(|_| c.err("dictionary too large"))?;
        offs.push(end);
        let count = c.i64("word count")?;
        let ty = c.u8("entry type")?;
        let want = if i < nwords as usize { 0 } else { LABEL };
        if ty != want {
            return Err(c.err(format!(
                "dictionary entry {i} has type {ty}, expected {want} (words, then labels)"
            )));
        }
        if ty == LABEL {
            counts.push(count);
        }
    }
    let prune = if pruneidx_size < 0 {
        None
    } else {
        let n = c.count(pruneidx_size, (bytes.len() / 8) as i64, "pruneidx size")?;
        let mut pairs = Vec::with_capacity(n);
        for _ in 0..n {
            let from = c.i32("pruneidx key")?;
            let to = c.i32("pruneidx value")?;
            if to < 0 {
                return Err(c.err(format!("pruneidx value {to} is negative")));
            }
            pairs.push((from, to));
        }
        Some(PruneMap::new(&pairs))
    };

    let quant_input = c.bool("quantized-input flag")?;
    let input = if quant_input {
        Matrix::Quant(read_quant(&mut c, "input")?)
    } else {
        if prune.is_some() {
            return Err(c.err("a pruned dictionary needs a quantized input matrix"));
        }
        Matrix::Dense(read_dense(&mut c, "input")?)
    };
    let qout = c.bool("quantized-output flag")?;
    let output = if quant_input && qout {
        Matrix::Quant(read_quant(&mut c, "output")?)
    } else {
        Matrix::Dense(read_dense(&mut c, "output")?)
    };
    if c.pos != bytes.len() {
        return Err(c.err(format!(
            "{} bytes after the output matrix",
            bytes.len() - c.pos
        )));
    }

    // Every row the dictionary can name must exist.
    if input.cols() != dim as usize || output.cols() != dim as usize {
        return Err(c.err(format!(
            "matrices have {} and {} columns, the model's dim is {dim}",
            input.cols(),
            output.cols()
        )));
    }
    let max_ngram = match &prune {
        None => i64::from(bucket),
        Some(p) => p.max_value().map_or(0, |v| i64::from(v) + 1),
    };
    let need = i64::from(nwords) + max_ngram;
    if (input.rows() as i64) < need {
        return Err(c.err(format!(
            "input matrix has {} rows, the dictionary needs {need}",
            input.rows()
        )));
    }
    let out_rows = output.rows();
    let need_out = if loss == 1 { nlabels - 1 } else { nlabels } as usize;
    if out_rows < need_out {
        return Err(c.err(format!(
            "output matrix has {out_rows} rows, {need_out} needed for {nlabels} labels"
        )));
    }
    let loss = match loss {
        1 => Loss::Hs(Tree::build(&counts)),
        2 | 4 => Loss::Sigmoid,
        _ => Loss::Softmax,
    };
    let dict = Dict::new(args, arena, offs, nwords, prune);
    Ok(Model::assemble(args, dict, input, output, loss))
}

fn read_dense(c: &mut Cursor<'_>, what: &str) -> Result<Dense, FormatError> {
    let m = c.i64("matrix rows")?;
    let n = c.i64("matrix columns")?;
    let m = c.count(m, i64::from(i32::MAX), "matrix rows")?;
    let n = c.count(n, 1 << 16, "matrix columns")?;
    let cells = m
        .checked_mul(n)
        .ok_or_else(|| c.err(format!("{what} matrix {m}x{n} overflows")))?;
    let data = c.f32s(cells, what)?;
    Ok(Dense { data, cols: n })
}

fn read_pq(c: &mut Cursor<'_>) -> Result<Pq, FormatError> {
    let dim = c.i32("quantizer dim")?;
    let nsubq = c.i32("quantizer nsubq")?;
    let dsub = c.i32("quantizer dsub")?;
    let lastdsub = c.i32("quantizer lastdsub")?;
    if dim <= 0
        || nsubq <= 0
        || dsub <= 0
        || lastdsub <= 0
        || lastdsub > dsub
        || i64::from(nsubq - 1) * i64::from(dsub) + i64::from(lastdsub) != i64::from(dim)
        || dim > 1 << 16
    {
        return Err(c.err(format!(
            "product quantizer dim {dim}, nsubq {nsubq}, dsub {dsub}, lastdsub {lastdsub} \
             are inconsistent"
        )));
    }
    let centroids = c.f32s(dim as usize * 256, "quantizer centroids")?;
    Ok(Pq {
        nsubq: nsubq as usize,
        dsub: dsub as usize,
        lastdsub: lastdsub as usize,
        centroids,
    })
}

fn read_quant(c: &mut Cursor<'_>, what: &str) -> Result<Quant, FormatError> {
    let qnorm = c.bool("qnorm flag")?;
    let m = c.i64("matrix rows")?;
    let n = c.i64("matrix columns")?;
    let codesize = c.i32("code size")?;
    let m = c.count(m, i64::from(i32::MAX), "matrix rows")?;
    let n = c.count(n, 1 << 16, "matrix columns")?;
    let codesize = c.count(i64::from(codesize), i64::from(i32::MAX), "code size")?;
    let codes = c.take(codesize, "codes")?.to_vec();
    let pq = read_pq(c)?;
    if pq.dim() != n || m.checked_mul(pq.nsubq) != Some(codesize) {
        return Err(c.err(format!(
            "{what} matrix {m}x{n} does not fit its quantizer ({} sub-quantizers, {codesize} codes)",
            pq.nsubq
        )));
    }
    let norms = if qnorm {
        let norm_codes = c.take(m, "norm codes")?.to_vec();
        let npq = read_pq(c)?;
        if npq.dim() != 1 {
            return Err(c.err("norm quantizer is not one-dimensional"));
        }
        Some((norm_codes, npq.centroids))
    } else {
        None
    };
    Ok(Quant {
        rows: m,
        cols: n,
        codes,
        pq,
        norms,
    })
}
