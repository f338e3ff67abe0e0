//! Helpers shared by the modules of the `e2e` test binary (beside `tests/common`).

use crate::common::{loam, text};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs loam in `dir`, asserting success; its output (stdout and stderr).
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = loam(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o));
    text(&o)
}

/// The same files with the same bytes.
pub fn assert_same(want: &BTreeMap<String, Vec<u8>>, got: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>(),
        "{what}: the files differ"
    );
    for (k, v) in want {
        assert!(got[k] == *v, "{what}: {k} differs");
    }
}

pub const PIPELINE: &str = r#"
name: t
documents: [documents/*]
output: out
tag:
  experiment: exp
  taggers: [char_length_v1, whitespace_tokenizer_v1]
dedupe:
  name: dd
  documents: {attribute_name: dup, key: $.text}
mix:
  name: m
  version: v1
  drop:
    - {rule: duplicate, attribute: dup, op: exists}
    - {rule: short, attribute: exp__whitespace_tokenizer_v1__length, op: lt, value: THRESHOLD}
"#;

pub fn write_config(dir: &Path, threshold: u32) -> PathBuf {
    let p = dir.join("pipeline.yaml");
    std::fs::write(&p, PIPELINE.replace("THRESHOLD", &threshold.to_string())).unwrap();
    p
}

/// Copies `src` into `dst` recursively.
pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let to = dst.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_tree(&p, &to);
        } else {
            std::fs::copy(&p, &to).unwrap();
        }
    }
}

/// The lines of a JSONL file, decompressed by its extension (`.gz`, `.zst`, or plain).
pub fn text_lines(path: &Path) -> Vec<String> {
    use std::io::Read;
    let f = std::fs::File::open(path).unwrap();
    let mut s = String::new();
    let name = path.to_string_lossy();
    if name.ends_with(".gz") {
        flate2::read::MultiGzDecoder::new(f).read_to_string(&mut s)
    } else if name.ends_with(".zst") {
        zstd::stream::read::Decoder::new(f)
            .unwrap()
            .read_to_string(&mut s)
    } else {
        std::io::BufReader::new(f).read_to_string(&mut s)
    }
    .unwrap();
    s.lines().map(str::to_string).collect()
}

/// Files whose names end with `ext` under `root`, sorted, outside run state (`.loam`).
pub fn files_under(root: &Path, ext: &str) -> Vec<PathBuf> {
    walk(root, ext, false)
}

/// Files with this extension under `root`, in `.loam` folders too when `state`.
pub fn walk(root: &Path, ext: &str, state: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if state || !p.ends_with(".loam") {
                    stack.push(p);
                }
            } else if p.to_string_lossy().ends_with(ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every file under `root` (relative path → bytes), run-state markers included.
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}
