//! Round trips through every supported format, and every kind of bad input.

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_pipeline::reader::{DocumentReader, ReadError};
use loam_pipeline::shard::{read_documents, scan};
use loam_pipeline::storage::LocalStorage;
use loam_pipeline::writer::DocumentWriter;
use loam_pipeline::Document;
use serde_json::json;
use std::io::Write;
use std::path::Path;

fn sample_docs() -> Vec<Document> {
    let mut docs = Vec::new();
    for i in 0..2500 {
        let mut d = Document::new(
            format!("doc-{i}"),
            format!("Document number {i}.\nIt has ünïcödé, emoji 🦀 and \"quotes\".\n\nSecond paragraph {}", "x".repeat(i % 97)),
        );
        d.fields.insert("source".into(), json!("test"));
        d.fields
            .insert("added".into(), json!("2024-01-01T00:00:00Z"));
        if i % 3 == 0 {
            d.fields.insert("created".into(), json!("2019-05-01"));
        }
        d.fields.insert(
            "metadata".into(),
            json!({"url": format!("https://example.com/{i}"), "length": i, "nested": {"a": [1, 2.5, null]}}),
        );
        if i % 7 == 0 {
            d.fields.insert("custom_field".into(), json!({"k": i}));
        }
        docs.push(d);
    }
    docs
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().unwrap().to_string()
}

#[test]
fn round_trip_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let docs = sample_docs();
    for name in [
        "a.jsonl",
        "a.json",
        "a.ndjson",
        "a.jsonl.gz",
        "a.json.gz",
        "a.jsonl.zst",
        "a.json.zst",
        "a.parquet",
    ] {
        let path = p(dir.path(), name);
        let mut w = DocumentWriter::create(&LocalStorage, &path).unwrap();
        for d in &docs {
            w.write(d).unwrap();
        }
        let shard = w.finish().unwrap();
        assert_eq!(shard.records, docs.len() as u64, "{name}");
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(shard.digest, loam_manifests::digest_bytes(&bytes), "{name}");
        let back = read_documents(&LocalStorage, &path).unwrap();
        assert_eq!(back.len(), docs.len(), "{name}");
        for (a, b) in docs.iter().zip(&back) {
            assert_eq!(a, b, "{name}");
        }
        // The reader's digest covers the whole stored file.
        let mut r = DocumentReader::open(&LocalStorage, &path).unwrap();
        for item in r.by_ref() {
            item.unwrap();
        }
        assert_eq!(r.finish().unwrap(), shard.digest, "{name}");
    }
}

#[test]
fn writing_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let docs = sample_docs();
    for name in ["x.jsonl.gz", "x.jsonl.zst", "x.parquet"] {
        let mut digests = Vec::new();
        for k in 0..2 {
            let path = p(dir.path(), &format!("{k}{name}"));
            let mut w = DocumentWriter::create(&LocalStorage, &path).unwrap();
            for d in &docs {
                w.write(d).unwrap();
            }
            digests.push(w.finish().unwrap().digest);
        }
        assert_eq!(digests[0], digests[1], "{name}");
    }
}

#[test]
fn reads_multi_member_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let path = p(dir.path(), "multi.jsonl.gz");
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..3 {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        writeln!(enc, "{}", json!({"id": format!("m{i}"), "text": "t"})).unwrap();
        f.write_all(&enc.finish().unwrap()).unwrap();
    }
    drop(f);
    let docs = read_documents(&LocalStorage, &path).unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[2].id, "m2");
}

#[test]
fn reads_foreign_parquet_columns_into_metadata() {
    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = p(dir.path(), "fineweb.parquet");
    let schema = Arc::new(Schema::new(vec![
        Field::new("text", DataType::Utf8, false),
        Field::new("id", DataType::Utf8, false),
        Field::new("url", DataType::Utf8, true),
        Field::new("token_count", DataType::Int64, true),
        Field::new("language_score", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["hello", "world"])),
            Arc::new(StringArray::from(vec!["<urn:1>", "<urn:2>"])),
            Arc::new(StringArray::from(vec![Some("https://a"), None])),
            Arc::new(Int64Array::from(vec![1, 2])),
            Arc::new(Float64Array::from(vec![0.5, 0.25])),
        ],
    )
    .unwrap();
    let f = std::fs::File::create(&path).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let docs = read_documents(&LocalStorage, &path).unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].id, "<urn:1>");
    assert_eq!(
        docs[0].fields["metadata"],
        json!({"url": "https://a", "token_count": 1, "language_score": 0.5})
    );
    assert_eq!(docs[1].fields["metadata"]["url"], json!(null));
}

/// Scans a file and returns (documents, problems as strings, fatal).
fn scan_file(path: &str) -> (u64, Vec<String>, Option<String>) {
    let r = scan(&LocalStorage, path, |_, _| Ok(()));
    (r.documents, r.errors, r.fatal)
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

#[test]
fn bad_lines_are_reported_with_file_and_line_and_reading_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = p(dir.path(), "bad.jsonl");
    let mut body = Vec::new();
    body.extend_from_slice(b"{\"id\":\"ok1\",\"text\":\"fine\"}\n"); // 1
    body.extend_from_slice(b"not json at all\n"); // 2
    body.extend_from_slice(b"{\"text\":\"no id\"}\n"); // 3
    body.extend_from_slice(b"{\"id\":42,\"text\":\"numeric id\"}\n"); // 4
    body.extend_from_slice(b"{\"id\":\"no-text\"}\n"); // 5
    body.extend_from_slice(b"{\"id\":\"bad\",\"text\":\"\xff\xfe\"}\n"); // 6: invalid UTF-8
    body.extend_from_slice(b"\n"); // 7: blank
    body.extend_from_slice(b"{\"id\":\"sur\",\"text\":\"\\ud800\"}\n"); // 8: lone surrogate
    body.extend_from_slice(b"{\"id\":\"ok2\",\"text\":\"fine\"}"); // 9, no final newline
    std::fs::write(&path, body).unwrap();
    let (docs, errors, fatal) = scan_file(&path);
    assert_eq!(docs, 2);
    assert!(fatal.is_none(), "{fatal:?}");
    let expect = [
        (2, "not a JSON object"),
        (3, "missing field `id`"),
        (4, "field `id` must be a string, found a number"),
        (5, "missing field `text`"),
        (6, "invalid UTF-8"),
        (7, "blank line"),
        (8, "not a JSON object"),
    ];
    assert_eq!(errors.len(), expect.len(), "{errors:#?}");
    for ((line, what), e) in expect.iter().zip(&errors) {
        assert!(e.starts_with(&format!("{path}:{line}: ")), "{e}");
        assert!(e.contains(what), "{e}");
    }
}

#[test]
fn corrupt_and_truncated_streams_fail_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for i in 0..2000 {
        lines.push_str(
            &json!({"id": format!("d{i}"), "text": format!("text {i} {}", "y".repeat(50))})
                .to_string(),
        );
        lines.push('\n');
    }
    // Truncated gzip.
    let full = gz(lines.as_bytes());
    let t = p(dir.path(), "trunc.jsonl.gz");
    std::fs::write(&t, &full[..full.len() / 2]).unwrap();
    let (_, _, fatal) = scan_file(&t);
    let fatal = fatal.expect("truncated gzip must fail");
    assert!(fatal.contains(&t) && fatal.contains("gzip"), "{fatal}");
    // Corrupt gzip (flipped bytes in the middle).
    let mut bad = full.clone();
    let mid = bad.len() / 2;
    for b in &mut bad[mid..mid + 16] {
        *b ^= 0x5a;
    }
    let c = p(dir.path(), "corrupt.jsonl.gz");
    std::fs::write(&c, &bad).unwrap();
    let (_, _, fatal) = scan_file(&c);
    assert!(fatal.expect("corrupt gzip must fail").contains(&c));
    // Not gzip at all.
    let n = p(dir.path(), "notgz.jsonl.gz");
    std::fs::write(&n, lines.as_bytes()).unwrap();
    assert!(scan_file(&n).2.is_some());
    // Truncated zstd.
    let z = zstd::encode_all(lines.as_bytes(), 3).unwrap();
    let tz = p(dir.path(), "trunc.jsonl.zst");
    std::fs::write(&tz, &z[..z.len() / 2]).unwrap();
    let (_, _, fatal) = scan_file(&tz);
    let fatal = fatal.expect("truncated zstd must fail");
    assert!(fatal.contains(&tz) && fatal.contains("zstd"), "{fatal}");
    // Corrupt zstd.
    let mut zb = z.clone();
    let zm = zb.len() / 2;
    for b in &mut zb[zm..zm + 16] {
        *b ^= 0xa5;
    }
    let cz = p(dir.path(), "corrupt.jsonl.zst");
    std::fs::write(&cz, &zb).unwrap();
    assert!(scan_file(&cz).2.is_some());
    // Truncated Parquet.
    let pq = p(dir.path(), "t.parquet");
    let mut w = DocumentWriter::create(&LocalStorage, &pq).unwrap();
    w.write(&Document::new("a", "b")).unwrap();
    w.finish().unwrap();
    let bytes = std::fs::read(&pq).unwrap();
    std::fs::write(&pq, &bytes[..bytes.len() - 10]).unwrap();
    let (_, _, fatal) = scan_file(&pq);
    assert!(fatal.expect("truncated parquet must fail").contains(&pq));
}

#[test]
fn empty_files_and_unknown_extensions_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["e.jsonl", "e.jsonl.gz", "e.jsonl.zst"] {
        let path = p(dir.path(), name);
        let data: Vec<u8> = match name {
            "e.jsonl.gz" => gz(b""),
            "e.jsonl.zst" => zstd::encode_all(&b""[..], 3).unwrap(),
            _ => Vec::new(),
        };
        std::fs::write(&path, data).unwrap();
        let (_, _, fatal) = scan_file(&path);
        let f = fatal.unwrap_or_else(|| panic!("{name}: empty file must fail"));
        assert!(f.contains("empty file") && f.contains(&path), "{f}");
    }
    let path = p(dir.path(), "x.txt");
    std::fs::write(&path, "{\"id\":\"a\",\"text\":\"b\"}\n").unwrap();
    let err = DocumentReader::open(&LocalStorage, &path).err().unwrap();
    assert!(matches!(err, ReadError::Format(_)));
    assert!(err.to_string().contains("x.txt"));
}

/// What a scan reported and what it handed on, in order.
type Seen = (String, Vec<(u64, String)>);

fn seen_by_scan(path: &str, fail_at: Option<&str>) -> Seen {
    let mut got = Vec::new();
    let r = scan(&LocalStorage, path, |line, d| {
        if Some(d.id.as_str()) == fail_at {
            return Err(format!("work failed at {line}"));
        }
        got.push((line, d.id.clone()));
        Ok(())
    });
    (format!("{r:?}"), got)
}

fn seen_by_blocks(path: &str, fail_at: Option<&str>) -> Seen {
    let mut got = Vec::new();
    let work = |line: u64, d: &Document| match Some(d.id.as_str()) == fail_at {
        true => Err(format!("work failed at {line}")),
        false => Ok(d.text.len()),
    };
    let r = loam_pipeline::shard::scan_blocks(&LocalStorage, path, work, |line, d, n| {
        assert_eq!(n, d.text.len());
        got.push((line, d.id.clone()));
        Ok(())
    });
    (format!("{r:?}"), got)
}

#[test]
fn scan_blocks_reports_and_hands_on_the_same_on_any_pool_as_off_one() {
    let dir = tempfile::tempdir().unwrap();
    let docs = sample_docs();
    let mut lines = String::new();
    for d in &docs {
        lines.push_str(&d.to_json());
        lines.push('\n');
    }
    let good = p(dir.path(), "good.jsonl.gz");
    std::fs::write(&good, gz(lines.as_bytes())).unwrap();
    // Bad lines spread over several blocks.
    let mut bad = String::new();
    for (i, l) in lines.lines().enumerate() {
        bad.push_str(if i % 700 == 3 { "not json" } else { l });
        bad.push('\n');
    }
    let badp = p(dir.path(), "bad.jsonl");
    std::fs::write(&badp, &bad).unwrap();
    let full = gz(lines.as_bytes());
    let trunc = p(dir.path(), "trunc.jsonl.gz");
    std::fs::write(&trunc, &full[..full.len() / 2]).unwrap();
    let pq = p(dir.path(), "docs.parquet");
    let mut w = DocumentWriter::create(&LocalStorage, &pq).unwrap();
    for d in &docs {
        w.write(d).unwrap();
    }
    w.finish().unwrap();
    let cases = [
        (good.as_str(), None),
        (good.as_str(), Some("doc-1500")),
        (badp.as_str(), None),
        (badp.as_str(), Some("doc-2000")),
        (trunc.as_str(), None),
        (pq.as_str(), None),
        (pq.as_str(), Some("doc-7")),
    ];
    for (path, fail_at) in cases {
        let want = seen_by_scan(path, fail_at);
        assert!(!want.1.is_empty(), "{path}");
        assert_eq!(seen_by_blocks(path, fail_at), want, "{path}, off a pool");
        for threads in [1, 2, 3] {
            let exec = loam_pipeline::executor::Executor::new(threads).unwrap();
            let got = exec.install(|| seen_by_blocks(path, fail_at));
            assert_eq!(
                got, want,
                "{path}, {threads} thread(s), failing at {fail_at:?}"
            );
        }
    }
}
