//! Extracts text from HTML files (plain or `.gz`) for the extraction benchmark:
//! `html2text main|full FILE…` prints one JSON line per file: `{"file", "text", "seconds"}`.
//! `seconds` covers charset detection, parsing and extraction (not reading the file).

// An example program: a panic with a message is enough error handling.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use loam_extract::{charset, dom, text, Mode};
use std::io::{Read, Write};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("main") => Mode::Main,
        Some("full") => Mode::Full,
        _ => {
            eprintln!("usage: html2text main|full FILE…");
            std::process::exit(2);
        }
    };
    let out = std::io::stdout();
    let mut out = out.lock();
    for f in args {
        let raw = std::fs::read(&f).unwrap_or_else(|e| panic!("{f}: {e}"));
        let bytes = if f.ends_with(".gz") {
            let mut v = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut v)
                .unwrap_or_else(|e| panic!("{f}: {e}"));
            v
        } else {
            raw
        };
        let t = std::time::Instant::now();
        let txt = match charset::decode(&bytes, None) {
            Ok(d) => match dom::parse(&d.text) {
                Ok(dom) => text::extract(&dom, mode),
                Err(_) => String::new(),
            },
            Err(_) => String::new(),
        };
        let secs = t.elapsed().as_secs_f64();
        let line = serde_json::json!({"file": f, "text": txt, "seconds": secs});
        writeln!(out, "{line}").unwrap();
    }
}
