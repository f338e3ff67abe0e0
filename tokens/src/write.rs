//! Output files: dolma's raw `.npy` token arrays with their `.csv.gz` rows, or Megatron's
//! indexed dataset (`.bin` + `.idx`) with the same rows. Every file is written atomically
//! and hashed as it streams.

use crate::config::OutputFormat;
use crate::tokenizer::Dtype;
use crate::TokensError;
use loam_manifests::{FileDigest, HashingWriter};
use loam_pipeline::storage::{AtomicWrite, Storage};
use std::io::{BufWriter, Write};

/// One document's row in the metadata file (dolma's `MemmapMetadata`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// First token (offset in the file, in tokens).
    pub start: u64,
    /// One past the last token.
    pub end: u64,
    /// Document id.
    pub id: String,
    /// Input file the document was read from.
    pub src: String,
    /// Its 1-based line (row) in that file.
    pub loc: u64,
}

/// A field as Python's `csv.writer` (minimal quoting) writes it.
fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\r', '\n']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl Row {
    /// The row as dolma's csv writer writes it (`\r\n` line ends).
    pub fn to_csv(&self, out: &mut String) {
        out.push_str(&self.start.to_string());
        out.push(',');
        out.push_str(&self.end.to_string());
        out.push(',');
        csv_field(out, &self.id);
        out.push(',');
        csv_field(out, &self.src);
        out.push(',');
        out.push_str(&self.loc.to_string());
        out.push_str("\r\n");
    }
}

/// A file written and committed.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct WrittenFile {
    /// Its path.
    pub path: String,
    /// What it holds: tokens (`.npy`/`.bin`), token metadata (`.csv.gz`) or a token
    /// index (`.idx`).
    pub kind: loam_manifests::OutputKind,
    /// Documents in it.
    pub documents: u64,
    /// Tokens in it.
    pub tokens: u64,
    /// Size and checksum.
    pub digest: FileDigest,
}

type Sink = HashingWriter<BufWriter<Box<dyn AtomicWrite>>>;

fn open(storage: &dyn Storage, path: &str) -> Result<Sink, TokensError> {
    let w = storage.create(path).map_err(TokensError::Storage)?;
    Ok(HashingWriter::new(BufWriter::with_capacity(1 << 20, w)))
}

fn commit(sink: Sink, path: &str) -> Result<FileDigest, TokensError> {
    let (buf, digest) = sink.into_parts();
    let w = buf
        .into_inner()
        .map_err(|e| TokensError::io(path, e.into_error()))?;
    w.commit().map_err(TokensError::Storage)?;
    Ok(digest)
}

/// One output file pair (or triple) being filled.
pub struct PartFile {
    base: String,
    format: OutputFormat,
    dtype: Dtype,
    tokens: Sink,
    meta: flate2::write::GzEncoder<Sink>,
    line: String,
    written: u64,
    documents: u64,
    sizes: Vec<u32>,
}

impl PartFile {
    /// Starts `<base>.npy` (or `.bin`) and `<base>.csv.gz`.
    pub fn create(
        storage: &dyn Storage,
        base: &str,
        format: OutputFormat,
        dtype: Dtype,
    ) -> Result<PartFile, TokensError> {
        let ext = match format {
            OutputFormat::Npy => "npy",
            OutputFormat::Megatron => "bin",
        };
        Ok(PartFile {
            base: base.to_string(),
            format,
            dtype,
            tokens: open(storage, &format!("{base}.{ext}"))?,
            // No name and no timestamp in the gzip header: the same rows give the same bytes.
            meta: flate2::GzBuilder::new().write(
                open(storage, &format!("{base}.csv.gz"))?,
                flate2::Compression::new(6),
            ),
            line: String::new(),
            written: 0,
            documents: 0,
            sizes: Vec::new(),
        })
    }

    /// Tokens written so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }

    /// Appends one document's tokens and its row.
    pub fn push(&mut self, ids: &[u32], id: &str, src: &str, loc: u64) -> Result<(), TokensError> {
        let mut bytes = Vec::with_capacity(ids.len() * self.dtype.width());
        for &t in ids {
            match self.dtype {
                Dtype::Uint8 => bytes.push(t as u8),
                Dtype::Uint16 => bytes.extend_from_slice(&(t as u16).to_le_bytes()),
                Dtype::Uint32 => bytes.extend_from_slice(&t.to_le_bytes()),
                Dtype::Uint64 => bytes.extend_from_slice(&(t as u64).to_le_bytes()),
            }
        }
        self.tokens
            .write_all(&bytes)
            .map_err(|e| TokensError::io(&self.base, e))?;
        let row = Row {
            start: self.written,
            end: self.written + ids.len() as u64,
            id: id.to_string(),
            src: src.to_string(),
            loc,
        };
        self.line.clear();
        row.to_csv(&mut self.line);
        self.meta
            .write_all(self.line.as_bytes())
            .map_err(|e| TokensError::io(&self.base, e))?;
        self.written += ids.len() as u64;
        self.documents += 1;
        if self.format == OutputFormat::Megatron {
            self.sizes.push(u32::try_from(ids.len()).map_err(|_| {
                TokensError::Format(format!(
                    "document {id}: {} tokens do not fit Megatron's int32 sequence length",
                    ids.len()
                ))
            })?);
        }
        Ok(())
    }

    /// Commits the files; returns them in a fixed order (tokens, metadata, index).
    pub fn finish(self, storage: &dyn Storage) -> Result<Vec<WrittenFile>, TokensError> {
        let (tok_ext, kind) = match self.format {
            OutputFormat::Npy => ("npy", loam_manifests::OutputKind::Tokens),
            OutputFormat::Megatron => ("bin", loam_manifests::OutputKind::Tokens),
        };
        let tok_path = format!("{}.{tok_ext}", self.base);
        let meta_path = format!("{}.csv.gz", self.base);
        let tok_digest = commit(self.tokens, &tok_path)?;
        let meta_sink = self
            .meta
            .finish()
            .map_err(|e| TokensError::io(&meta_path, e))?;
        let meta_digest = commit(meta_sink, &meta_path)?;
        let mut files = vec![
            WrittenFile {
                path: tok_path,
                kind,
                documents: self.documents,
                tokens: self.written,
                digest: tok_digest,
            },
            WrittenFile {
                path: meta_path,
                kind: loam_manifests::OutputKind::TokenMetadata,
                documents: self.documents,
                tokens: self.written,
                digest: meta_digest,
            },
        ];
        if self.format == OutputFormat::Megatron {
            let idx_path = format!("{}.idx", self.base);
            let mut idx = open(storage, &idx_path)?;
            let bytes = megatron_index(&self.sizes, self.dtype)?;
            idx.write_all(&bytes)
                .map_err(|e| TokensError::io(&idx_path, e))?;
            files.push(WrittenFile {
                path: idx_path.clone(),
                kind: loam_manifests::OutputKind::TokenIndex,
                documents: self.documents,
                tokens: self.written,
                digest: commit(idx, &idx_path)?,
            });
        }
        Ok(files)
    }
}

/// Megatron's dtype code (`DType` in `megatron/core/datasets/indexed_dataset.py`).
pub fn megatron_dtype_code(dtype: Dtype) -> Result<u8, TokensError> {
    match dtype {
        Dtype::Uint8 => Ok(1),
        Dtype::Uint16 => Ok(8),
        // Megatron has no uint32: its int32 (code 4) holds every id below 2^31.
        Dtype::Uint32 => Err(TokensError::Format(
            "Megatron has no uint32; loam writes int32 arrays for vocabularies above 65,536 (dtype: int32 is chosen automatically)".into(),
        )),
        Dtype::Uint64 => Ok(5),
    }
}

/// The `.idx` of a Megatron indexed dataset (`MMIDIDX` version 1): header, version, dtype
/// code, sequence and document counts, then sequence lengths (int32), byte pointers (int64)
/// and document boundaries (int64, one document per sequence).
pub fn megatron_index(sizes: &[u32], dtype: Dtype) -> Result<Vec<u8>, TokensError> {
    // For vocabularies above uint16 the arrays are int32 (same bytes as uint32 for ids below
    // 2^31, which every real vocabulary is).
    let (code, width) = match dtype {
        Dtype::Uint32 => (4u8, 4u64),
        d => (megatron_dtype_code(d)?, d.width() as u64),
    };
    let mut out = Vec::with_capacity(34 + sizes.len() * 20);
    out.extend_from_slice(b"MMIDIDX\x00\x00");
    out.extend_from_slice(&1u64.to_le_bytes());
    out.push(code);
    out.extend_from_slice(&(sizes.len() as u64).to_le_bytes());
    out.extend_from_slice(&(sizes.len() as u64 + 1).to_le_bytes());
    for &s in sizes {
        out.extend_from_slice(&(s as i32).to_le_bytes());
    }
    let mut pointer = 0u64;
    for &s in sizes {
        out.extend_from_slice(&(pointer as i64).to_le_bytes());
        pointer += s as u64 * width;
    }
    for i in 0..=sizes.len() {
        out.extend_from_slice(&(i as i64).to_le_bytes());
    }
    Ok(out)
}

/// Reads the rows of a `.csv.gz` metadata file as loam and dolma write them.
pub fn read_rows(bytes: &[u8]) -> Result<Vec<Row>, String> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut line = 1u64;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                rows.push(row_of(&fields, line)?);
                fields.clear();
                line += 1;
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        rows.push(row_of(&fields, line)?);
    }
    Ok(rows)
}

fn row_of(f: &[String], line: u64) -> Result<Row, String> {
    let num = |i: usize| -> Result<u64, String> {
        f.get(i)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("row {line}: field {} is not a number", i + 1))
    };
    if f.len() != 5 {
        return Err(format!("row {line}: {} fields, expected 5", f.len()));
    }
    Ok(Row {
        start: num(0)?,
        end: num(1)?,
        id: f[2].clone(),
        src: f[3].clone(),
        loc: num(4)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_like_python() {
        let mut s = String::new();
        Row {
            start: 0,
            end: 3,
            id: "a,\"b\"".into(),
            src: "x.jsonl".into(),
            loc: 7,
        }
        .to_csv(&mut s);
        assert_eq!(s, "0,3,\"a,\"\"b\"\"\",x.jsonl,7\r\n");
    }

    #[test]
    fn megatron_index_layout() {
        let idx = megatron_index(&[3, 2], Dtype::Uint16).unwrap();
        assert_eq!(&idx[..9], b"MMIDIDX\x00\x00");
        assert_eq!(u64::from_le_bytes(idx[9..17].try_into().unwrap()), 1);
        assert_eq!(idx[17], 8);
        assert_eq!(u64::from_le_bytes(idx[18..26].try_into().unwrap()), 2);
        assert_eq!(u64::from_le_bytes(idx[26..34].try_into().unwrap()), 3);
        // sizes, then pointers in bytes, then document boundaries
        assert_eq!(i32::from_le_bytes(idx[34..38].try_into().unwrap()), 3);
        assert_eq!(i64::from_le_bytes(idx[42..50].try_into().unwrap()), 0);
        assert_eq!(i64::from_le_bytes(idx[50..58].try_into().unwrap()), 6);
        assert_eq!(idx.len(), 34 + 2 * 4 + 2 * 8 + 3 * 8);
    }
}
