//! A run killed with SIGKILL at random points resumes to exactly the bytes of an
//! uninterrupted run: nothing duplicated, nothing lost, no temporary files left behind.

mod common;
use common::*;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("documents");
    std::fs::create_dir_all(&docs).unwrap();
    // More shards than threads, so a kill lands between units as well as inside them.
    for e in std::fs::read_dir(repo().join("examples/quickstart/documents")).unwrap() {
        let e = e.unwrap();
        for k in 0..3 {
            std::fs::copy(
                e.path(),
                docs.join(format!("{k}_{}", e.file_name().to_string_lossy())),
            )
            .unwrap();
        }
    }
    std::fs::write(
        dir.path().join("p.yaml"),
        "name: r\ndocuments: [documents/*]\noutput: out\n\
         tag: {experiment: e, taggers: [char_length_v1, whitespace_tokenizer_v1, gopher_v1]}\n\
         dedupe: {name: d, documents: {attribute_name: dup, key: $.text}}\n\
         mix: {name: m, version: v1, drop: [{rule: dup, attribute: dup, op: exists}, {rule: short, attribute: e__whitespace_tokenizer_v1__length, op: lt, value: 100}]}\n",
    )
    .unwrap();
    dir
}

fn run(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(["run", "p.yaml", "--threads", "2"])
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn killed_runs_resume_to_identical_bytes() {
    let reference = setup();
    let t0 = Instant::now();
    let o = run(reference.path());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let full = t0.elapsed();
    let want = snapshot(&reference.path().join("out"), false);
    // Kill points spread over the run (fixed fractions: the test is repeatable).
    for frac in [0.15, 0.4, 0.65, 0.9] {
        let dir = setup();
        let mut child = Command::new(env!("CARGO_BIN_EXE_loam"))
            .args(["run", "p.yaml", "--threads", "2"])
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * frac));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let o = run(dir.path());
        assert!(
            o.status.success(),
            "resume after a kill at {frac}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let got = snapshot(&dir.path().join("out"), false);
        let stray: Vec<&String> = got.keys().filter(|k| k.contains(".loam-tmp.")).collect();
        assert!(stray.is_empty(), "temporary files left: {stray:?}");
        assert_eq!(
            want.keys().collect::<Vec<_>>(),
            got.keys().collect::<Vec<_>>(),
            "kill at {frac}"
        );
        for (k, v) in &want {
            assert!(got[k] == *v, "{k} differs after a kill at {frac}");
        }
    }
}
