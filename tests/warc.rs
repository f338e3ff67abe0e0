//! End-to-end tests of `loam warc`: real WARC/WET files, and bad input of every kind the
//! issue lists (each skipped with a counted reason, never a panic, bounded memory).

use flate2::write::GzEncoder;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/warc")
}

fn loam(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loam"))
        .args(args)
        .env("LOAM_LOG", "error")
        .output()
        .expect("run loam")
}

fn config(dir: &Path, docs: &[String], extra: &str) -> PathBuf {
    let p = dir.join("warc.yaml");
    let docs: Vec<String> = docs.iter().map(|d| format!("  - {d}\n")).collect();
    std::fs::write(
        &p,
        format!(
            "documents:\n{}destination:\n  - {}\nsource_name: test\n{extra}",
            docs.concat(),
            dir.join("out").display()
        ),
    )
    .unwrap();
    p
}

fn read_docs(path: &Path) -> Vec<serde_json::Value> {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn real_warc_and_wet_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixtures();
    let docs = vec![
        format!("{}/*.warc.gz", f.display()),
        format!("{}/whirlwind.warc.wet.gz", f.display()),
    ];
    let cfg = config(dir.path(), &docs, "");
    let out = loam(&["warc", "-c", cfg.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // dolma's own test expects 22 documents from this file.
    let sample = read_docs(&dir.path().join("out/sample-0000.jsonl.gz"));
    assert_eq!(sample.len(), 22, "{stdout}");
    for d in &sample {
        let m = &d["metadata"];
        for k in [
            "warc_url",
            "url",
            "warc_date",
            "warc_filename",
            "content_type",
        ] {
            assert!(m[k].is_string(), "{k} missing in {m}");
        }
        assert!(m["uncompressed_offset"].is_u64());
        assert_eq!(d["source"], "test");
        assert_eq!(d["version"], "v0");
        assert!(d["text"].as_str().unwrap().len() > 50);
        let id = d["id"].as_str().unwrap();
        assert_eq!(id.len(), 32, "{id}");
        assert_eq!(id, id.to_lowercase());
    }
    assert_eq!(sample[0]["id"], "lgevyoxkufjkdtk5u4ieq4xrynud3p4h");
    assert_eq!(
        sample[0]["metadata"]["warc_filename"],
        "sample-0000.warc.gz"
    );
    assert_eq!(
        sample[0]["metadata"]["url"],
        "semanticscholar.org/research/research-team"
    );
    // Common Crawl's whirlwind: one HTML response in the WARC, one conversion in the WET.
    let warc = read_docs(&dir.path().join("out/whirlwind.jsonl.gz"));
    assert_eq!(warc.len(), 1);
    assert_eq!(
        warc[0]["metadata"]["warc_url"],
        "https://an.wikipedia.org/wiki/Escopete"
    );
    let wet = read_docs(&dir.path().join("out/whirlwind.wet.jsonl.gz"));
    assert_eq!(wet.len(), 1);
    assert!(wet[0]["text"].as_str().unwrap().starts_with("Escopete"));
    assert_eq!(wet[0]["metadata"]["content_type"], "text/plain");
    // The main text of the WARC page is inside the WET's whole text.
    let main = warc[0]["text"].as_str().unwrap();
    assert!(main.contains("Escopete"));
    assert!(main.len() < wet[0]["text"].as_str().unwrap().len());

    // Deterministic whatever the thread count; a rerun skips finished files.
    let first = std::fs::read(dir.path().join("out/sample-0000.jsonl.gz")).unwrap();
    let again = loam(&[
        "warc",
        "-j",
        "1",
        "--overwrite",
        "-c",
        cfg.to_str().unwrap(),
    ]);
    assert!(again.status.success());
    assert_eq!(
        first,
        std::fs::read(dir.path().join("out/sample-0000.jsonl.gz")).unwrap()
    );
    let rerun = loam(&["warc", "-c", cfg.to_str().unwrap()]);
    assert!(rerun.status.success());
    assert!(String::from_utf8_lossy(&rerun.stdout).contains("0/3"));
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn record(
    n: usize,
    content_type: &str,
    payload: &[u8],
    lie_about_length: Option<usize>,
) -> Vec<u8> {
    let mut http = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n\r\n").into_bytes();
    http.extend_from_slice(payload);
    let len = lie_about_length.unwrap_or(http.len());
    let mut r = format!(
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://example.com/{n}\r\n\
         WARC-Date: 2024-01-01T00:00:00Z\r\nWARC-Record-ID: <urn:uuid:{n}>\r\n\
         WARC-Payload-Digest: sha1:DIGEST{n}\r\nContent-Type: application/http;msgtype=response\r\n\
         Content-Length: {len}\r\n\r\n"
    )
    .into_bytes();
    r.extend_from_slice(&http);
    r.extend_from_slice(b"\r\n\r\n");
    r
}

fn page(words: &str) -> Vec<u8> {
    let p = format!(
        "<p>{words}, with enough words and commas, to be kept as the main text of a page.</p>"
    );
    format!(
        "<html><head><title>t</title></head><body><article>{}</article></body></html>",
        p.repeat(6)
    )
    .into_bytes()
}

fn max_child_rss_kb() -> i64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru);
        ru.ru_maxrss
    }
}

#[test]
fn bad_records_are_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    // Written straight to disk so this test process stays small (its children's peak memory
    // is measured below, and a child starts from its parent's peak).
    let input = dir.path().join("bad.warc.gz");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    file.write_all(&gz(&record(
        1,
        "text/html; charset=utf-8",
        &page("good one"),
        None,
    )))
    .unwrap();
    file.write_all(&gz(&record(
        2,
        "image/png",
        b"\x89PNG\r\n\x1a\n\0\0\0",
        None,
    )))
    .unwrap();
    file.write_all(&gz(&record(
        3,
        "text/html",
        &[0u8, 1, 2, 3, 0, 0, 0, 0, 0xff, 0xfe, 0, 0].repeat(100),
        None,
    )))
    .unwrap();
    // Undecodable: an unknown charset label, and bytes no text encoding produces.
    let garbage: Vec<u8> = (0..4000u32)
        .map(|i| {
            if i % 10 == 0 {
                0x01
            } else {
                0x80 + (i * 7 % 0x7f) as u8
            }
        })
        .collect();
    let mut g = b"<html><body>".to_vec();
    g.extend(&garbage);
    file.write_all(&gz(&record(
        4,
        "text/html; charset=x-no-such-charset",
        &g,
        None,
    )))
    .unwrap();
    // Wrong Content-Length (too short): the rest of the block is junk before the next record.
    file.write_all(&gz(&record(
        5,
        "text/html",
        &page("short length"),
        Some(60),
    )))
    .unwrap();
    // Deeply nested.
    let deep = format!("<html><body>{}deep</body></html>", "<div>".repeat(100_000));
    file.write_all(&gz(&record(6, "text/html", deep.as_bytes(), None)))
        .unwrap();
    // A 50 MB page, streamed into its gzip member.
    {
        let size = 50 * 1024 * 1024;
        let head = record(7, "text/html", b"", Some(0));
        let head = String::from_utf8(head).unwrap();
        let http = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n";
        let head = head
            .replace(
                "Content-Length: 0",
                &format!("Content-Length: {}", http.len() + size),
            )
            .replace(&format!("{http}\r\n\r\n"), http);
        let mut e = GzEncoder::new(&mut file, flate2::Compression::fast());
        e.write_all(head.as_bytes()).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..50 {
            e.write_all(&chunk).unwrap();
        }
        e.write_all(b"\r\n\r\n").unwrap();
        e.finish().unwrap();
    }
    file.write_all(&gz(&record(8, "text/html", &page("good two"), None)))
        .unwrap();
    // Truncated: the last record is cut in the middle of its gzip member.
    let last = gz(&record(9, "text/html", &page("cut short"), None));
    file.write_all(&last[..last.len() / 2]).unwrap();
    file.flush().unwrap();
    drop(file);
    // Plain .warc too: same records uncompressed, with a wrong length and a truncated end.
    let mut plain = record(10, "text/html", &page("plain good"), None);
    plain.extend(record(
        11,
        "text/html",
        &page("plain wrong length"),
        Some(10_000_000),
    ));
    std::fs::write(dir.path().join("bad2.warc"), &plain).unwrap();

    let cfg = config(dir.path(), &[format!("{}/bad*", dir.path().display())], "");
    let out = loam(&["warc", "-c", cfg.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let line = stdout.lines().find(|l| l.contains("bad.warc.gz:")).unwrap();
    for reason in [
        "not_html=1",
        "undecodable=2",
        "too_deep=1",
        "too_large=1",
        "wrong_content_length=1",
        "truncated=1",
    ] {
        assert!(line.contains(reason), "{reason} not in {line}");
    }
    assert!(
        stderr.contains("bad.warc.gz") && stderr.contains("offset"),
        "{stderr}"
    );
    let docs = read_docs(&dir.path().join("out/bad.jsonl.gz"));
    let ids: Vec<&str> = docs.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["digest1", "digest8"]);
    let plain_docs = read_docs(&dir.path().join("out/bad2.jsonl.gz"));
    assert_eq!(plain_docs.len(), 1, "{stdout}");
    let line2 = stdout.lines().find(|l| l.contains("bad2.warc:")).unwrap();
    assert!(line2.contains("truncated=1"), "{line2}");
    // The 50 MB record was drained, never held: the process stayed small.
    let rss_mb = max_child_rss_kb() / 1024;
    assert!(rss_mb < 150, "max RSS {rss_mb} MB");
}

/// `loam warc -c` takes its destination's lock like every other command: a second run on
/// the same destination is refused (exit 2) naming the holder, before any work.
#[test]
fn a_second_warc_run_on_the_same_destination_is_refused() {
    use loam_pipeline::lock::{lock_outputs, LockMode};
    let dir = tempfile::tempdir().unwrap();
    let docs = vec![format!("{}/whirlwind.warc.wet.gz", fixtures().display())];
    let cfg = config(dir.path(), &docs, "");
    let out = dir.path().join("out").to_string_lossy().to_string();
    let held = lock_outputs(std::slice::from_ref(&out), LockMode::Exclusive, "").unwrap();
    let o = loam(&["warc", "-c", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    let written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != ".loam")
        .collect();
    assert!(written.is_empty(), "refused before any work: {written:?}");
    drop(held);
    let o = loam(&["warc", "-c", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
