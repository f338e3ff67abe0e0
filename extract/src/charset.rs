//! Charset detection and decoding: byte-order mark, then the HTTP `Content-Type` charset,
//! then a `<meta>` declaration in the first bytes, then statistical detection
//! (`chardetng`, Firefox's detector). A declared charset whose decoding has errors falls
//! through to detection (as dolma does); a payload that decodes to mostly replacement
//! characters, or looks binary, is refused.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

/// How many bytes are scanned for a `<meta charset>` declaration (the HTML standard's
/// prescan looks at 1024; real pages put it later, behind long `<head>`s).
pub const META_PRESCAN_BYTES: usize = 4096;

/// Most bytes handed to the statistical detector.
pub const DETECT_BYTES: usize = 64 * 1024;

/// Where the charset came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsetSource {
    /// A byte-order mark.
    Bom,
    /// The HTTP `Content-Type` header.
    Http,
    /// A `<meta>` tag.
    Meta,
    /// Statistical detection.
    Detected,
}

/// A payload that is not text in any charset we can tell.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Undecodable {
    /// NUL bytes or other control bytes: binary data.
    #[error("binary payload ({0} control bytes in the first 4096)")]
    Binary(usize),
    /// Too many replacement characters after the best decoding.
    #[error("{bad} undecodable sequences in {chars} characters (as {encoding})")]
    Garbled {
        /// The best encoding tried.
        encoding: &'static str,
        /// Replacement characters.
        bad: usize,
        /// Characters decoded.
        chars: usize,
    },
}

/// Decoded text and how its charset was found.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text.
    pub text: String,
    /// The encoding used.
    pub encoding: &'static Encoding,
    /// Where it came from.
    pub source: CharsetSource,
}

/// The `charset` parameter of a `Content-Type` value.
pub fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).trim())
    })
}

/// The encoding a `<meta charset>` or `<meta http-equiv content="…charset=…">` in the first
/// [`META_PRESCAN_BYTES`] declares.
pub fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_PRESCAN_BYTES)];
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&lower[from..], b"charset") {
        let at = from + i;
        from = at + 7;
        // Must sit inside a <meta …> tag.
        let tag_start = match memchr::memrchr(b'<', &lower[..at]) {
            Some(s) => s,
            None => continue,
        };
        if !lower[tag_start..].starts_with(b"<meta") || lower[tag_start..at].contains(&b'>') {
            continue;
        }
        let mut j = at + 7;
        while j < lower.len() && lower[j].is_ascii_whitespace() {
            j += 1;
        }
        if j >= lower.len() || lower[j] != b'=' {
            continue;
        }
        j += 1;
        while j < lower.len()
            && (lower[j].is_ascii_whitespace() || lower[j] == b'"' || lower[j] == b'\'')
        {
            j += 1;
        }
        let s = j;
        while j < lower.len()
            && (lower[j].is_ascii_alphanumeric() || matches!(lower[j], b'-' | b'_' | b':' | b'.'))
        {
            j += 1;
        }
        if let Some(e) = Encoding::for_label(&lower[s..j]) {
            // The standard: a meta tag claiming UTF-16 means UTF-8 (the bytes are ASCII-compatible).
            if e == UTF_16LE || e == UTF_16BE {
                return Some(UTF_8);
            }
            if e.name() == "x-user-defined" {
                return Some(WINDOWS_1252);
            }
            return Some(e);
        }
    }
    None
}

fn strict(enc: &'static Encoding, bytes: &[u8]) -> Option<String> {
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .map(|c| c.into_owned())
}

fn lossy(enc: &'static Encoding, bytes: &[u8]) -> (String, usize) {
    let (text, _) = enc.decode_without_bom_handling(bytes);
    let bad = text.chars().filter(|&c| c == '\u{FFFD}').count();
    (text.into_owned(), bad)
}

/// Decodes a payload. `http_charset` is the label from the HTTP header, if any.
pub fn decode(bytes: &[u8], http_charset: Option<&str>) -> Result<Decoded, Undecodable> {
    let probe = &bytes[..bytes.len().min(4096)];
    let controls = probe
        .iter()
        .filter(|&&b| b == 0 || (b < 0x09) || (0x0e..0x1a).contains(&b))
        .count();
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return Ok(Decoded {
            text: text.into_owned(),
            encoding: enc,
            source: CharsetSource::Bom,
        });
    }
    if controls > probe.len() / 100 + 2 {
        return Err(Undecodable::Binary(controls));
    }
    let declared = http_charset
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .map(|e| (e, CharsetSource::Http))
        .or_else(|| meta_charset(bytes).map(|e| (e, CharsetSource::Meta)));
    if let Some((enc, source)) = declared {
        // UTF-16 without a BOM in a web page is almost always a mislabel.
        if enc != UTF_16LE && enc != UTF_16BE {
            if let Some(text) = strict(enc, bytes) {
                return Ok(Decoded {
                    text,
                    encoding: enc,
                    source,
                });
            }
        }
    }
    // Plain UTF-8 is by far the most common undeclared charset: check it before guessing.
    if let Some(text) = strict(UTF_8, bytes) {
        return Ok(Decoded {
            text,
            encoding: UTF_8,
            source: CharsetSource::Detected,
        });
    }
    let mut det = chardetng::EncodingDetector::new();
    let sample = &bytes[..bytes.len().min(DETECT_BYTES)];
    det.feed(sample, sample.len() == bytes.len());
    let guess = det.guess(None, true);
    let (text, bad) = lossy(guess, bytes);
    let chars = text.chars().count().max(1);
    // A few stray bytes are common (truncated multi-byte characters, one bad copy-paste);
    // more than 1% means we are reading the wrong charset or not text at all.
    if bad * 100 > chars {
        return Err(Undecodable::Garbled {
            encoding: guess.name(),
            bad,
            chars,
        });
    }
    Ok(Decoded {
        text,
        encoding: guess,
        source: CharsetSource::Detected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_then_meta_then_detection() {
        assert_eq!(
            charset_param("text/html; charset=\"ISO-8859-1\""),
            Some("ISO-8859-1")
        );
        let latin = b"<html><head><meta charset=iso-8859-1></head><body>caf\xe9</body></html>";
        let d = decode(latin, None).unwrap();
        assert_eq!(d.source, CharsetSource::Meta);
        assert!(d.text.contains("café"));
        let d = decode(latin, Some("utf-8")).unwrap();
        // Declared UTF-8 fails strictly: detection takes over.
        assert!(d.text.contains("café"), "{}", d.text);
        let koi = encoding_rs::KOI8_R
            .encode("<p>Привет, как дела? Это тестовая страница на русском языке.</p>")
            .0
            .into_owned();
        let d = decode(&koi, None).unwrap();
        assert!(
            d.text.contains("Привет"),
            "{} {}",
            d.encoding.name(),
            d.text
        );
        let meta = br#"<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">"#;
        assert_eq!(meta_charset(meta).unwrap().name(), "windows-1251");
    }

    #[test]
    fn refuses_binary() {
        let mut b = vec![0u8; 1000];
        b.extend_from_slice(b"<html>");
        assert!(matches!(decode(&b, None), Err(Undecodable::Binary(_))));
    }
}
