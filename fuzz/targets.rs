//! The fuzz targets' bodies, shared by the coverage-guided `cargo fuzz` binaries
//! (`fuzz/fuzz_targets/`, nightly) and the stable smoke run CI does on every change
//! (`tests/fuzz.rs`: seeds from real files, seeded mutations). Each target must never panic,
//! hang or grow memory with its input; errors are the expected answer to bad bytes.
#![allow(dead_code)]

use loam_pipeline::reader::DocumentReader;
use loam_pipeline::storage::{AtomicWrite, ObjectInfo, Storage, StorageError};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One object held in memory: readers see `path` holding `bytes`, as on a store without
/// local paths (so Parquet goes through ranged reads, as on S3).
pub struct Mem {
    path: String,
    bytes: Vec<u8>,
}

impl Storage for Mem {
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        Ok(match self.path.starts_with(prefix) {
            true => vec![ObjectInfo {
                path: self.path.clone(),
                size: self.bytes.len() as u64,
            }],
            false => Vec::new(),
        })
    }
    fn open(&self, path: &str) -> Result<Box<dyn Read + Send>, StorageError> {
        match path == self.path {
            true => Ok(Box::new(std::io::Cursor::new(self.bytes.clone()))),
            false => Err(StorageError::new(path, std::io::ErrorKind::NotFound.into())),
        }
    }
    fn create(&self, path: &str) -> Result<Box<dyn AtomicWrite>, StorageError> {
        Err(StorageError::new(
            path,
            std::io::Error::other("read-only store"),
        ))
    }
    fn size(&self, path: &str) -> Result<Option<u64>, StorageError> {
        Ok((path == self.path).then_some(self.bytes.len() as u64))
    }
    fn delete(&self, _path: &str) -> Result<(), StorageError> {
        Ok(())
    }
    fn local_path(&self, _path: &str) -> Option<PathBuf> {
        None
    }
}

/// The document formats, by the selector byte that starts a `documents` input.
pub const FORMATS: [&str; 5] = [
    "s.jsonl",
    "s.jsonl.gz",
    "s.jsonl.zst",
    "s.parquet",
    "s.json.gz",
];

/// Document shards in every input format: the first byte picks the format
/// ([`FORMATS`]), the rest is the file. Read to the end (or the first fatal error), then
/// finished (the whole-file digest).
pub fn documents(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let path = FORMATS[sel as usize % FORMATS.len()];
    let st = Mem {
        path: path.to_string(),
        bytes: body.to_vec(),
    };
    let Ok(mut r) = DocumentReader::open(&st, path) else {
        return;
    };
    while let Some(item) = r.next_document() {
        match item {
            Ok((_, doc)) => {
                // What the pipeline does with every document it keeps.
                let back = doc.to_json();
                assert!(
                    loam_pipeline::Document::from_json(&back).is_ok(),
                    "a document read does not read back: {back}"
                );
            }
            Err(e) if e.is_fatal() => break,
            Err(_) => {}
        }
    }
    let _ = r.finish();
}

/// One attribute-file line checked against a document id, as the mixer reads it: the input
/// is `<id>\n<line>`.
pub fn attributes(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (id, line) = s.split_once('\n').unwrap_or(("d", s));
    let check = |wanted: Option<&std::collections::BTreeSet<String>>| {
        let mut out = Vec::new();
        let read = loam_mixes::align::AttrRead::Line(1, line.to_string());
        let r = loam_mixes::align::check_line(
            "docs.jsonl",
            "attrs.jsonl",
            id,
            1,
            read,
            wanted,
            &mut out,
        );
        r.map(|()| out)
    };
    // The lean read (one attribute's value wanted) agrees with the full one: the same
    // outcome, the same names, the wanted value equal, the others null.
    let wanted: std::collections::BTreeSet<String> = ["a".to_string()].into();
    match (check(None), check(Some(&wanted))) {
        (Ok(all), Ok(lean)) => {
            assert_eq!(all.len(), 1);
            assert_eq!(lean.len(), 1);
            assert!(all[0].keys().eq(lean[0].keys()));
            for (k, v) in &lean[0] {
                let want = if k == "a" {
                    &all[0][k]
                } else {
                    &serde_json::Value::Null
                };
                assert_eq!(v, want);
            }
            for v in all[0].values() {
                let _ = loam_mixes::rules::attribute_value(v);
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("full {a:?}, lean {b:?}"),
    }
}

/// The code taggers on source text: the first byte picks `metadata.ext` (Python, Java,
/// JavaScript, HTML or none), the rest is the text (invalid UTF-8 replaced). Every tagger
/// answers (no error: the star count is absent) with its document signals, and
/// `code_starcoder_taggers_v2`'s ratios stay where dolma's can be.
pub fn code_taggers(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let ext = ["py", "java", "js", "html", "c"][usize::from(sel) % 5];
    let text = String::from_utf8_lossy(body).into_owned();
    let doc = loam_pipeline::document::Document::from_json(
        &serde_json::json!({"id": "d", "text": text, "metadata": {"ext": ext}}).to_string(),
    )
    .expect("a document built from a string");
    for name in [
        "code_starcoder_taggers_v2",
        "code_copyright_comments_v1",
        "code_redpajama_taggers_v1",
        "code_secrets_v1",
    ] {
        let tagger = loam_filters::registry::build(name).expect("a registered tagger");
        let mut out = loam_pipeline::tagger::Signals::default();
        tagger
            .tag(&doc, &mut out)
            .expect("code taggers accept any text");
        if name == "code_starcoder_taggers_v2" {
            for (key, spans) in out.iter() {
                let score = spans[0].score;
                match key.as_str() {
                    "code_to_comment_ratio_doc" | "code_to_text_ratio_html_doc" => {
                        assert!(
                            score == -1.0 || (0.0..=1.0).contains(&score),
                            "{key} {score}"
                        )
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Config text for every config loam reads: the first byte picks YAML or JSON; the text is
/// parsed once and deserialized and validated as each config type.
pub fn configs(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let name = if sel % 2 == 0 { "c.yaml" } else { "c.json" };
    let Ok(value) = loam_pipeline::config::parse_text(text, Some(Path::new(name))) else {
        return;
    };
    // dolma's `${…}` interpolations, resolved as every dolma command resolves them (key
    // references included: a cycle must be an error, not a hang).
    let value = loam_pipeline::config::dolma::resolve_interpolations(&value).unwrap_or(value);
    use loam_pipeline::config::from_value_validated as check;
    let _ = check::<loam_runner::pipeline_config::PipelineConfig>(&value);
    let _ = check::<loam_filters::config::TagConfig>(&value);
    let _ = check::<loam_dedup::config::DedupeConfig>(&value);
    let _ = check::<loam_mixes::config::MixerConfig>(&value);
    let _ = check::<loam_tokens::config::TokensConfig>(&value);
    let _ = check::<loam_extract::config::WarcConfig>(&value);
}

/// loam's own binary dedup files, as the phases read them back: the first byte picks the kind
/// (suffix file, substring match file, exact-dedup key file, MinHash signature file, Bloom
/// dedup plan file, Bloom dedup bit file), the rest
/// is the file without its trailing checksum, which is added here so that mutations reach the
/// parsers behind it (a checksum proves bytes unchanged, not written right).
pub fn dedup_files(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let mut b = body.to_vec();
    let check = xxhash_rust::xxh3::xxh3_64(&b);
    b.extend_from_slice(&check.to_le_bytes());
    match sel % 6 {
        0 => {
            use loam_dedup::substr;
            let Ok(v) = substr::SuffixView::new(&b, "f.sfx") else {
                return;
            };
            let _ = v.ids();
            for parts in [1, 3] {
                for p in 0..parts {
                    let runs = substr::matches(&[v], 8, parts, p);
                    let mine: Vec<(u32, u32)> = runs.iter().map(|&(_, f, l)| (f, l)).collect();
                    let cfg = substr::SubstringConfig {
                        attribute_name: "r".into(),
                        min_length: 8,
                        merge_gap: 2,
                        snap: substr::Snap::Line,
                        partitions: None,
                    };
                    let _ = substr::spans_of_shard(&v, "f.sfx", &mine, &cfg);
                }
            }
        }
        1 => {
            for shards in 1..4 {
                for shard in 0..shards {
                    let _ = loam_dedup::substr::match_runs(&b, "m.ssm", shards, shard);
                }
            }
        }
        2 => {
            use loam_dedup::exact::{tasks, Keep};
            let _ = tasks::key_file_lines(&b, "k.keys");
            for parts in [1, 4] {
                for p in 0..parts {
                    if let Ok(pairs) = tasks::survivors(&[(&b, "k.keys")], parts, p, &Keep::First) {
                        let _ = tasks::flags(&pairs, 16, 2);
                    }
                }
            }
        }
        3 => {
            let _ = loam_dedup::minhash::Signatures::from_bytes(&b, "s.sig");
        }
        4 => {
            let _ = loam_dedup::bloom_tasks::validate_plan(&b, "p.plan");
        }
        _ => {
            for i in 0..3 {
                for keys in [0, 5, 64] {
                    let _ = loam_dedup::bloom_tasks::shard_bits(&b, "b.bits", i, keys);
                }
            }
        }
    }
}
