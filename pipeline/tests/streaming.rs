//! Reading is streaming: peak memory does not grow with the file size.
//! (Its own test binary, so no other test shares the process's peak-RSS counter.)

// A panic is a test failure; clippy.toml's allow-*-in-tests covers `#[test]` fns, not helpers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_pipeline::shard::scan;
use loam_pipeline::storage::LocalStorage;
use std::io::Write;

fn peak_rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn memory_does_not_grow_with_file_size() {
    if !std::path::Path::new("/proc/self/status").exists() {
        return; // Peak RSS is only observable this way on Linux.
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.jsonl.zst");
    let filler = "lorem ipsum dolor sit amet ".repeat(40);
    let mut enc = zstd::stream::write::Encoder::new(std::fs::File::create(&path).unwrap(), 1)
        .unwrap()
        .auto_finish();
    // ~250 MB of JSON lines, written in a streaming way too.
    let n = 220_000u64;
    for i in 0..n {
        writeln!(enc, "{{\"id\":\"d{i}\",\"text\":\"{i} {filler}\"}}").unwrap();
    }
    drop(enc);
    let before = peak_rss_kib();
    let rep = scan(&LocalStorage, path.to_str().unwrap(), |_, _| Ok(()));
    assert_eq!(rep.documents, n);
    assert!(!rep.failed());
    let grew_mib = (peak_rss_kib().saturating_sub(before)) / 1024;
    assert!(
        grew_mib < 64,
        "peak RSS grew by {grew_mib} MiB reading a ~250 MB file"
    );
}
