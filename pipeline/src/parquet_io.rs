//! Documents as Parquet: columns `id`, `text`, `source`, `added`, `created` (strings),
//! `metadata` (a JSON string) and `extra` (a JSON object string holding any other top-level
//! fields, so nothing is lost on a round trip).
//!
//! Reading also accepts Parquet made elsewhere (e.g. FineWeb's): `id` and `text` are
//! required; `metadata` may be a JSON string; any other column of a scalar type lands in
//! `metadata.<column>`. Reads go one record batch at a time, so memory is bounded by the
//! row-group size, not the file.

use crate::document::Document;
use crate::reader::ReadError;
use crate::storage::{AtomicWrite, Storage};
use crate::writer::{WriteError, WrittenShard};
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use loam_manifests::{FileDigest, HashingWriter};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value};
use std::sync::Arc;

const BATCH_ROWS: usize = 1024;
const STRING_FIELDS: [&str; 3] = ["source", "added", "created"];

/// Reads documents from a Parquet file, one record batch at a time.
pub struct ParquetDocReader {
    path: String,
    local: Option<std::path::PathBuf>,
    batches: ParquetRecordBatchReader,
    batch: Option<RecordBatch>,
    row: usize,
    line: u64,
    done: bool,
}

/// Random access to a Parquet file that has no local path (an object store): the footer and
/// column chunks by ranged reads, page headers through a small read window. Reads go
/// through [`crate::storage::AnyStorage`].
pub struct RangeChunks {
    path: String,
    size: u64,
}

impl RangeChunks {
    /// The object at `path`, which is `size` bytes long.
    pub fn new(path: &str, size: u64) -> Self {
        RangeChunks {
            path: path.to_string(),
            size,
        }
    }
}

const RANGE_WINDOW_BYTES: u64 = 64 << 10;

fn external(e: crate::storage::StorageError) -> parquet::errors::ParquetError {
    parquet::errors::ParquetError::External(Box::new(e))
}

impl parquet::file::reader::Length for RangeChunks {
    fn len(&self) -> u64 {
        self.size
    }
}

impl parquet::file::reader::ChunkReader for RangeChunks {
    type T = RangeRead;
    fn get_read(&self, start: u64) -> parquet::errors::Result<RangeRead> {
        Ok(RangeRead {
            path: self.path.clone(),
            pos: start,
            end: self.size,
            buf: Vec::new(),
            off: 0,
        })
    }
    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        crate::storage::AnyStorage
            .read_range(&self.path, start, length as u64)
            .map(bytes::Bytes::from)
            .map_err(external)
    }
}

/// Sequential reads from an offset, fetched in windows of [`RANGE_WINDOW_BYTES`].
pub struct RangeRead {
    path: String,
    pos: u64,
    end: u64,
    buf: Vec<u8>,
    off: usize,
}

impl std::io::Read for RangeRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.off == self.buf.len() {
            if self.pos >= self.end {
                return Ok(0);
            }
            let n = RANGE_WINDOW_BYTES.min(self.end - self.pos);
            self.buf = crate::storage::AnyStorage
                .read_range(&self.path, self.pos, n)
                .map_err(std::io::Error::other)?;
            self.pos += n;
            self.off = 0;
        }
        let n = out.len().min(self.buf.len() - self.off);
        out[..n].copy_from_slice(&self.buf[self.off..self.off + n]);
        self.off += n;
        Ok(n)
    }
}

fn record_batches<T: parquet::file::reader::ChunkReader + 'static>(
    source: T,
    path: &str,
) -> Result<ParquetRecordBatchReader, ReadError> {
    let perr = |m: String| ReadError::Parquet {
        path: path.to_string(),
        message: m,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(source)
        .map_err(|e| perr(format!("not a readable Parquet file: {e}")))?;
    let schema = builder.schema().clone();
    for required in ["id", "text"] {
        if schema.column_with_name(required).is_none() {
            return Err(perr(format!("no `{required}` column")));
        }
    }
    builder
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| perr(e.to_string()))
}

impl ParquetDocReader {
    /// Opens a Parquet file: a local file directly, an object by ranged reads (Parquet needs
    /// random access; objects without a local path are read through
    /// [`crate::storage::AnyStorage`]).
    pub fn open(storage: &dyn Storage, path: &str) -> Result<Self, ReadError> {
        let local = storage.local_path(path);
        let batches = match &local {
            Some(local) => {
                let file = std::fs::File::open(local)
                    .map_err(|e| ReadError::Storage(crate::storage::StorageError::new(path, e)))?;
                record_batches(file, path)?
            }
            None => {
                let size = storage.size(path)?.ok_or_else(|| {
                    ReadError::Storage(crate::storage::StorageError::new(
                        path,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "no such object"),
                    ))
                })?;
                let source = RangeChunks {
                    path: path.to_string(),
                    size,
                };
                record_batches(source, path)?
            }
        };
        Ok(ParquetDocReader {
            path: path.to_string(),
            local,
            batches,
            batch: None,
            row: 0,
            line: 0,
            done: false,
        })
    }

    /// The next document with its 1-based row number.
    pub fn next_document(&mut self) -> Option<Result<(u64, Document), ReadError>> {
        if self.done {
            return None;
        }
        loop {
            if let Some(b) = &self.batch {
                if self.row < b.num_rows() {
                    break;
                }
            }
            match self.batches.next() {
                None => {
                    self.done = true;
                    if self.line == 0 {
                        return Some(Err(ReadError::Empty {
                            path: self.path.clone(),
                        }));
                    }
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(ReadError::Parquet {
                        path: self.path.clone(),
                        message: format!("after row {}: {e}", self.line),
                    }));
                }
                Some(Ok(b)) => {
                    self.batch = Some(b);
                    self.row = 0;
                }
            }
        }
        let batch = self.batch.as_ref()?;
        let row = self.row;
        self.row += 1;
        self.line += 1;
        let line = self.line;
        let r = row_to_document(batch, row).map_err(|message| {
            // A row that cannot be converted is a line-level problem, like a bad JSON line.
            ReadError::Document {
                path: self.path.clone(),
                line,
                error: message,
            }
        });
        Some(r.map(|d| (line, d)))
    }

    /// Checksums the file.
    pub fn finish(self) -> Result<FileDigest, ReadError> {
        let r: Box<dyn std::io::Read> = match &self.local {
            Some(local) => Box::new(std::fs::File::open(local).map_err(|e| {
                ReadError::Storage(crate::storage::StorageError::new(&self.path, e))
            })?),
            None => crate::storage::AnyStorage.open(&self.path)?,
        };
        loam_manifests::digest_reader(std::io::BufReader::new(r))
            .map_err(|e| ReadError::Storage(crate::storage::StorageError::new(&self.path, e)))
    }
}

fn row_to_document(
    batch: &RecordBatch,
    row: usize,
) -> Result<Document, crate::document::DocumentError> {
    use crate::document::DocumentError as E;
    let schema = batch.schema();
    let mut id = None;
    let mut text = None;
    let mut fields = Map::new();
    let mut extra_meta = Map::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let col = batch.column(i);
        let name = field.name().as_str();
        let v = cell(col, row).map_err(|m| E::NotJson(format!("column `{name}`: {m}")))?;
        match name {
            "id" => id = Some(v),
            "text" => text = Some(v),
            "metadata" | "extra" => {
                let parsed = match v {
                    Value::Null => continue,
                    Value::String(s) => serde_json::from_str::<Value>(&s)
                        .map_err(|e| E::NotJson(format!("column `{name}` is not JSON: {e}")))?,
                    other => other,
                };
                if name == "extra" {
                    match parsed {
                        Value::Object(m) => fields.extend(m),
                        _ => return Err(E::NotJson("column `extra` is not a JSON object".into())),
                    }
                } else {
                    fields.insert("metadata".into(), parsed);
                }
            }
            _ if STRING_FIELDS.contains(&name) => {
                if !v.is_null() {
                    fields.insert(name.to_string(), v);
                }
            }
            _ => {
                extra_meta.insert(name.to_string(), v);
            }
        }
    }
    if !extra_meta.is_empty() {
        match fields
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
        {
            Value::Object(m) => m.extend(extra_meta),
            _ => {
                return Err(E::NotJson(
                    "`metadata` is not an object, cannot add other columns to it".into(),
                ))
            }
        }
    }
    let id = match id {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => return Err(E::MissingId),
        Some(other) => return Err(E::IdNotString(crate::document::json_type(&other))),
    };
    let text = match text {
        Some(Value::String(s)) => s,
        Some(Value::Null) | None => return Err(E::MissingText),
        Some(other) => return Err(E::TextNotString(crate::document::json_type(&other))),
    };
    Ok(Document { id, text, fields })
}

fn cell(col: &ArrayRef, row: usize) -> Result<Value, String> {
    if col.is_null(row) {
        return Ok(Value::Null);
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(col.as_primitive::<$t>().value(row))
        };
    }
    Ok(match col.data_type() {
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => Value::String(col.as_string::<i64>().value(row).to_string()),
        DataType::Utf8View => Value::String(col.as_string_view().value(row).to_string()),
        DataType::Boolean => Value::Bool(col.as_boolean().value(row)),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => {
            serde_json::Number::from_f64(col.as_primitive::<Float32Type>().value(row) as f64)
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        DataType::Float64 => {
            serde_json::Number::from_f64(col.as_primitive::<Float64Type>().value(row))
                .map(Value::Number)
                .unwrap_or(Value::Null)
        }
        other => return Err(format!("type {other} is not supported")),
    })
}

fn schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
    ];
    for f in STRING_FIELDS {
        fields.push(Field::new(f, DataType::Utf8, true));
    }
    fields.push(Field::new("metadata", DataType::Utf8, true));
    fields.push(Field::new("extra", DataType::Utf8, true));
    Arc::new(Schema::new(fields))
}

/// Writes documents as Parquet (zstd), one row group per 1024 documents at most... in
/// batches; committed atomically on finish.
pub struct ParquetDocWriter {
    path: String,
    writer: AtomicArrowWriter,
    schema: SchemaRef,
    pending: Vec<Document>,
    records: u64,
}

impl ParquetDocWriter {
    /// Creates a writer for `path`.
    pub fn create(storage: &dyn Storage, path: &str) -> Result<Self, WriteError> {
        let schema = schema();
        let writer = create_arrow_writer(storage, path, schema.clone())?;
        Ok(ParquetDocWriter {
            path: path.to_string(),
            writer,
            schema,
            pending: Vec::with_capacity(BATCH_ROWS),
            records: 0,
        })
    }

    /// Buffers one document; writes a batch every [`BATCH_ROWS`].
    pub fn write(&mut self, doc: &Document) -> Result<(), WriteError> {
        self.pending.push(doc.clone());
        self.records += 1;
        if self.pending.len() >= BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> Result<(), WriteError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let n = self.pending.len();
        let mut id = StringBuilder::with_capacity(n, n * 16);
        let mut text = StringBuilder::with_capacity(n, n * 1024);
        let mut strs: Vec<StringBuilder> = STRING_FIELDS
            .iter()
            .map(|_| StringBuilder::with_capacity(n, n * 16))
            .collect();
        let mut meta = StringBuilder::with_capacity(n, n * 64);
        let mut extra = StringBuilder::with_capacity(n, 0);
        for d in self.pending.drain(..) {
            id.append_value(&d.id);
            text.append_value(&d.text);
            for (b, f) in strs.iter_mut().zip(STRING_FIELDS) {
                match d.fields.get(f) {
                    None | Some(Value::Null) => b.append_null(),
                    Some(Value::String(s)) => b.append_value(s),
                    Some(other) => b.append_value(other.to_string()),
                }
            }
            match d.fields.get("metadata") {
                None => meta.append_null(),
                Some(v) => meta.append_value(v.to_string()),
            }
            let rest: Map<String, Value> = d
                .fields
                .iter()
                .filter(|(k, _)| k.as_str() != "metadata" && !STRING_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if rest.is_empty() {
                extra.append_null();
            } else {
                extra.append_value(Value::Object(rest).to_string());
            }
        }
        let mut cols: Vec<ArrayRef> = vec![Arc::new(id.finish()), Arc::new(text.finish())];
        for mut b in strs {
            cols.push(Arc::new(b.finish()));
        }
        cols.push(Arc::new(meta.finish()));
        cols.push(Arc::new(extra.finish()));
        let batch =
            RecordBatch::try_new(self.schema.clone(), cols).map_err(|e| WriteError::Encode {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
        self.writer.write(&batch).map_err(|e| WriteError::Encode {
            path: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Writes the footer and publishes the file.
    pub fn finish(mut self) -> Result<WrittenShard, WriteError> {
        self.flush_batch()?;
        commit_arrow_writer(self.writer, &self.path, self.records)
    }
}

/// A Parquet writer whose stored bytes are hashed and published atomically.
pub type AtomicArrowWriter = ArrowWriter<HashingWriter<Box<dyn AtomicWrite>>>;

/// Opens a zstd Parquet writer for `schema` at `path`; nothing is visible until
/// [`commit_arrow_writer`].
pub fn create_arrow_writer(
    storage: &dyn Storage,
    path: &str,
    schema: SchemaRef,
) -> Result<AtomicArrowWriter, WriteError> {
    create_arrow_writer_with(storage, path, schema, WriterProperties::builder(), true)
}

/// Like [`create_arrow_writer`], with per-column settings (encodings, statistics,
/// compression levels) already in `props`; zstd compression is set here as the default of
/// the columns `props` sets none for. `embed_arrow_schema: false` leaves out the footer's
/// base64 copy of the Arrow schema (`ARROW:schema`), which readers need only for Arrow types
/// Parquet's own types do not pin (strings, integers and floats read back the same without).
pub fn create_arrow_writer_with(
    storage: &dyn Storage,
    path: &str,
    schema: SchemaRef,
    props: parquet::file::properties::WriterPropertiesBuilder,
    embed_arrow_schema: bool,
) -> Result<AtomicArrowWriter, WriteError> {
    let sink = HashingWriter::new(storage.create(path)?);
    let props = props
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let options = ArrowWriterOptions::new()
        .with_properties(props)
        .with_skip_arrow_metadata(!embed_arrow_schema);
    ArrowWriter::try_new_with_options(sink, schema, options).map_err(|e| WriteError::Encode {
        path: path.into(),
        message: e.to_string(),
    })
}

/// Writes the footer, publishes the file and returns what it holds.
pub fn commit_arrow_writer(
    writer: AtomicArrowWriter,
    path: &str,
    records: u64,
) -> Result<WrittenShard, WriteError> {
    let sink = writer.into_inner().map_err(|e| WriteError::Encode {
        path: path.into(),
        message: e.to_string(),
    })?;
    let (atomic, digest) = sink.into_parts();
    atomic.commit()?;
    Ok(WrittenShard {
        path: path.into(),
        records,
        digest,
    })
}
