//! Helpers shared by the modules of the `e2e` test binary (beside `tests/common`).

use std::path::{Path, PathBuf};

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
