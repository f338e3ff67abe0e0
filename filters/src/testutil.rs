//! Helpers for unit tests.

use loam_pipeline::document::Document;
use loam_pipeline::tagger::{Signals, Tagger};

/// Runs a tagger on a text; panics on a tag error.
pub fn run(t: &dyn Tagger, text: &str) -> Signals {
    let mut s = Signals::default();
    t.tag(&Document::new("d", text), &mut s).expect("tag");
    s
}

/// The spans of one signal as tuples (empty when absent).
pub fn spans(s: &Signals, key: &str) -> Vec<(usize, usize, f64)> {
    s.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.iter().map(|x| (x.start, x.end, x.score)).collect())
        .unwrap_or_default()
}

/// The one score of a document-level signal.
pub fn score(s: &Signals, key: &str) -> f64 {
    let v = spans(s, key);
    assert_eq!(v.len(), 1, "{key}: {v:?}");
    v[0].2
}

/// A 10 MB single line of varied words (deterministic).
pub fn ten_mb_line() -> String {
    let words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "lazy",
        "dog",
        "naïve",
        "数据",
        "#tag",
        "e-mail",
        "x@y.com",
        "555-123-4567",
        "10.0.0.1",
    ];
    let mut s = String::with_capacity(10_500_000);
    let mut x: u64 = 42;
    while s.len() < 10_000_000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        s.push_str(words[(x >> 33) as usize % words.len()]);
        s.push(' ');
    }
    s
}

/// Awkward inputs every tagger must handle without panicking (the 10 MB line is separate).
pub fn bad_inputs() -> Vec<String> {
    vec![
        String::new(),
        " ".into(),
        " \t\n\r\n\u{a0}\u{3000}\u{1c}\n".into(),
        "\n\n\n".into(),
        "English, русский, 中文文本, العربية, हिन्दी, 日本語テキスト — mixed scripts!\nΣΑΣ İstanbul"
            .into(),
        "ctrl\u{0}\u{1}\u{7}\u{8}\u{1b}[0m\u{7f}\u{85}\u{feff}\u{200b} chars\r\nend\u{fffd}".into(),
        "😀😀😀😀 🖕 \u{10ffff}\u{e000}".into(),
    ]
}
