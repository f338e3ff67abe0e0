//! URL ban lists as Dolma 3 applied them: datamap-rs's `url_substring_filter` (its kwargs, its
//! modes), which ports the URL filters of RefinedWeb (Penedo et al. 2023, §G.1: banned domains,
//! "strict", "hard" and "soft" word lists) and of FineWeb (datatrove's `URLFilter`: domains,
//! subdomains, URLs, banned words, soft words, subwords).
//!
//! One filter reads the document's URL (`url_key`, else `alt_url_key`; dotted paths into the
//! document, e.g. `metadata.url`), lowercases it unless `case_sensitive`, deletes every string of
//! `ignore_chars`, and bans the document when, by mode:
//! - `exact_domain_match`: the URL's host is listed;
//! - `exact_subdomain_match`: the URL's full host (`sub.example.com`) is listed — FineWeb's
//!   `fqdn` check;
//! - `exact_url_match`: the whole URL is listed;
//! - `exact_part_match`: one of the URL's alphanumeric runs (split at `[^a-zA-Z0-9]+`) is listed;
//! - otherwise (substring search): at least `num_banned_substrs` list entries occur in the URL —
//!   anywhere when `match_substrings` (the default), else only between non-alphanumeric
//!   characters (whole words).
//!
//! Where datamap-rs differs from those definitions, loam follows the definitions and
//! `datamap_bugs` gives datamap-rs's behaviour:
//! - `case_sensitive` is inverted for the list: datamap-rs lowercases the *list* only when
//!   `case_sensitive` is true and the *URL* only when it is false, so by default a list entry
//!   with an upper-case letter never matches. loam lowercases both, or neither.
//! - `exact_subdomain_match` compares only the host's first label (`sub` of `sub.example.com`,
//!   and nothing for a host of fewer than three labels) with the list, where FineWeb compares
//!   the full host.
//! - A URL without a scheme (`example.com/page`, as dolma's `metadata.url` often is) does not
//!   parse for the host modes in datamap-rs (an error); loam reads it as `http://…`.
//!
//! Blank lines of a list are skipped (in datamap-rs a blank line in a substring list matches
//! every URL). Substring matches are counted as the `aho-corasick` crate's standard,
//! non-overlapping search finds them over the list in sorted order (datamap-rs builds the
//! automaton from a hash set, in an order that changes between runs).

use aho_corasick::AhoCorasick;
use loam_pipeline::document::Document;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;

/// A list as matching needs it: for the exact modes, the xxh3-128 digests of its entries,
/// sorted (a domain list has millions of entries: one array of 16-byte keys, hashed in
/// parallel and sorted, instead of millions of strings to allocate, hash and free; two entries
/// sharing a digest is as unlikely as in exact dedup's keys); for the substring mode, the
/// entries themselves, sorted.
#[derive(Debug, Default)]
struct BanList {
    digests: Vec<u128>,
    sorted: Vec<String>,
}

impl BanList {
    fn len(&self) -> usize {
        self.digests.len().max(self.sorted.len())
    }

    fn contains(&self, s: &str) -> bool {
        self.digests
            .binary_search(&xxhash_rust::xxh3::xxh3_128(s.as_bytes()))
            .is_ok()
    }
}

/// An entry of a list as read: a line without its `\r`, lowercased when `lower`; `None` for
/// a blank line unless `keep_blank` (datamap-rs keeps them).
fn entry(line: &str, lower: bool, keep_blank: bool) -> Option<std::borrow::Cow<'_, str>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() && !keep_blank {
        return None;
    }
    Some(
        if lower && line.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
            std::borrow::Cow::Owned(line.to_lowercase())
        } else {
            std::borrow::Cow::Borrowed(line)
        },
    )
}

/// Reads a list: one entry per line ([`entry`]). `exact`: kept as digests, else as sorted
/// strings.
fn read_list(
    path: &std::path::Path,
    lower: bool,
    keep_blank: bool,
    exact: bool,
) -> Result<BanList, UrlBanError> {
    use rayon::prelude::*;
    let text = crate::url::read_text(path).map_err(|e| UrlBanError::List {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut list = BanList::default();
    if exact {
        // Cut at line ends into pieces hashed on every thread, then joined in order: rayon's
        // `par_lines().collect()` gathers an unknown count through linked lists of vectors,
        // which took twice as long on a 4.5M-line list.
        let bytes = text.as_bytes();
        let pieces = 64usize;
        let mut cuts = vec![0usize];
        for k in 1..pieces {
            let at = bytes.len() * k / pieces;
            let cut = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1);
            if cut > cuts.last().copied().unwrap_or(0) && cut < bytes.len() {
                cuts.push(cut);
            }
        }
        cuts.push(bytes.len());
        let hashed: Vec<Vec<u128>> = cuts
            .par_windows(2)
            .map(|w| {
                text.get(w[0]..w[1])
                    .unwrap_or("")
                    .lines()
                    .filter_map(|l| entry(l, lower, keep_blank))
                    .map(|e| xxhash_rust::xxh3::xxh3_128(e.as_bytes()))
                    .collect()
            })
            .collect();
        list.digests = hashed.concat();
        list.digests.par_sort_unstable();
        list.digests.dedup();
    } else {
        list.sorted = text
            .lines()
            .filter_map(|l| entry(l, lower, keep_blank))
            .map(std::borrow::Cow::into_owned)
            .collect();
        list.sorted.sort_unstable();
        list.sorted.dedup();
    }
    Ok(list)
}

/// One `url_substring_filter` step: datamap-rs's kwargs, by their names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UrlBanConfig {
    /// Dotted path of the URL in the document (`metadata.url`, `metadata.WARC-Target-URI`).
    pub url_key: String,
    /// Where the URL is when `url_key` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt_url_key: Option<String>,
    /// The list: one entry per line (`.gz` read gunzipped).
    pub banlist_file: PathBuf,
    /// Ban when the host is listed.
    #[serde(default)]
    pub exact_domain_match: bool,
    /// Ban when the full host is listed (datamap-rs: the first label; see the module docs).
    #[serde(default)]
    pub exact_subdomain_match: bool,
    /// Ban when the whole URL is listed.
    #[serde(default)]
    pub exact_url_match: bool,
    /// Ban when an alphanumeric run of the URL is listed.
    #[serde(default)]
    pub exact_part_match: bool,
    /// Substring mode: entries match anywhere (true) or only as whole words (false).
    #[serde(default = "yes")]
    pub match_substrings: bool,
    /// Compare without lowercasing.
    #[serde(default)]
    pub case_sensitive: bool,
    /// Strings deleted from the URL (or host) before matching.
    #[serde(default)]
    pub ignore_chars: Vec<String>,
    /// Substring mode: matches needed to ban.
    #[serde(default = "one")]
    pub num_banned_substrs: usize,
}

fn yes() -> bool {
    true
}

fn one() -> usize {
    1
}

/// A ban list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlBanError {
    /// The list file cannot be read.
    #[error("{path}: the ban list of url_substring_filter: {message} (loam never downloads)")]
    List {
        /// The list file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Contradictory modes.
    #[error("url_substring_filter: {0}")]
    Config(String),
}

/// What one filter says about one document.
#[derive(Debug, Clone, PartialEq)]
pub enum UrlVerdict {
    /// Not banned.
    Kept,
    /// Banned; for substring modes, how many matches.
    Banned(usize),
    /// Neither URL key holds a string (datamap-rs removes such documents).
    MissingUrl,
    /// A host mode found no host in the URL.
    NoHost,
}

/// A loaded filter.
pub struct UrlBan {
    cfg: UrlBanConfig,
    datamap_bugs: bool,
    list: std::sync::Arc<BanList>,
    ac: Option<AhoCorasick>,
    url_key: Vec<String>,
    alt_key: Option<Vec<String>>,
    parts: Regex,
}

impl std::fmt::Debug for UrlBan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlBan")
            .field("cfg", &self.cfg)
            .field("entries", &self.list.len())
            .finish()
    }
}

fn split_key(key: &str) -> Vec<String> {
    key.trim_start_matches("$.")
        .split('.')
        .map(str::to_string)
        .collect()
}

impl UrlBan {
    /// Reads the list and builds the matcher.
    pub fn load(cfg: &UrlBanConfig, datamap_bugs: bool) -> Result<UrlBan, UrlBanError> {
        let modes = [
            cfg.exact_domain_match,
            cfg.exact_subdomain_match,
            cfg.exact_url_match,
            cfg.exact_part_match,
        ];
        if modes.iter().filter(|m| **m).count() > 1 {
            return Err(UrlBanError::Config(
                "at most one of exact_domain_match, exact_subdomain_match, exact_url_match, exact_part_match".into(),
            ));
        }
        if cfg.num_banned_substrs == 0 {
            return Err(UrlBanError::Config(
                "num_banned_substrs must be at least 1 (0 would ban every URL)".into(),
            ));
        }
        // datamap-rs: the list is lowercased when `case_sensitive` (inverted); loam: when not.
        let lower = if datamap_bugs {
            cfg.case_sensitive
        } else {
            !cfg.case_sensitive
        };
        // One copy of a list per file and reading (a domain list has millions of entries,
        // and several steps and every thread's tagger use it).
        static LISTS: crate::shared::PerFile<BanList, (PathBuf, bool, bool, bool)> =
            crate::shared::PerFile::new();
        let canonical =
            std::fs::canonicalize(&cfg.banlist_file).unwrap_or_else(|_| cfg.banlist_file.clone());
        let exact = modes.iter().any(|m| *m);
        let list = LISTS.get_or_load((canonical, lower, datamap_bugs, exact), || {
            read_list(&cfg.banlist_file, lower, datamap_bugs, exact)
        })?;
        let ac = if exact {
            None
        } else {
            // Sorted: the matches counted do not depend on a set's order.
            Some(
                AhoCorasick::new(&list.sorted).map_err(|e| UrlBanError::List {
                    path: cfg.banlist_file.clone(),
                    message: e.to_string(),
                })?,
            )
        };
        Ok(UrlBan {
            url_key: split_key(&cfg.url_key),
            alt_key: cfg.alt_url_key.as_deref().map(split_key),
            cfg: cfg.clone(),
            datamap_bugs,
            list,
            ac,
            parts: Regex::new(r"[^a-zA-Z0-9]+").map_err(|e| UrlBanError::Config(e.to_string()))?,
        })
    }

    /// Entries in the list.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    /// The document's URL, from `url_key` or `alt_url_key`.
    pub fn url_of<'a>(&self, doc: &'a Document) -> Option<&'a str> {
        let get = |parts: &[String]| -> Option<&'a str> {
            let mut cur: &Value = doc.fields.get(parts.first()?)?;
            for k in &parts[1..] {
                cur = cur.get(k)?;
            }
            cur.as_str()
        };
        get(&self.url_key).or_else(|| self.alt_key.as_deref().and_then(get))
    }

    /// The verdict on a document.
    pub fn check(&self, doc: &Document) -> UrlVerdict {
        match self.url_of(doc) {
            Some(url) => self.check_url(url),
            None => UrlVerdict::MissingUrl,
        }
    }

    fn host(&self, url: &str) -> Option<String> {
        let parsed = match ::url::Url::parse(url) {
            Ok(u) => u,
            Err(::url::ParseError::RelativeUrlWithoutBase) if !self.datamap_bugs => {
                ::url::Url::parse(&format!("http://{url}")).ok()?
            }
            Err(_) => return None,
        };
        parsed.host_str().map(str::to_string)
    }

    /// The verdict on a URL.
    pub fn check_url(&self, url: &str) -> UrlVerdict {
        let c = &self.cfg;
        let mut s = if c.exact_domain_match {
            match self.host(url) {
                Some(h) => h,
                None => return UrlVerdict::NoHost,
            }
        } else if c.exact_subdomain_match {
            let Some(host) = self.host(url) else {
                return if self.datamap_bugs {
                    UrlVerdict::Kept
                } else {
                    UrlVerdict::NoHost
                };
            };
            if self.datamap_bugs {
                let labels: Vec<&str> = host.split('.').collect();
                if labels.len() < 3 {
                    return UrlVerdict::Kept;
                }
                labels[0].to_string()
            } else {
                host
            }
        } else {
            url.to_string()
        };
        if !c.case_sensitive {
            s = s.to_lowercase();
        }
        for ignored in &c.ignore_chars {
            if !ignored.is_empty() {
                s = s.replace(ignored.as_str(), "");
            }
        }
        if c.exact_domain_match || c.exact_subdomain_match || c.exact_url_match {
            return if self.list.contains(&s) {
                UrlVerdict::Banned(1)
            } else {
                UrlVerdict::Kept
            };
        }
        if c.exact_part_match {
            return if self
                .parts
                .split(&s)
                .any(|p| !p.is_empty() && self.list.contains(p))
            {
                UrlVerdict::Banned(1)
            } else {
                UrlVerdict::Kept
            };
        }
        let Some(ac) = &self.ac else {
            return UrlVerdict::Kept;
        };
        let n = ac
            .find_iter(&s)
            .filter(|m| {
                c.match_substrings || {
                    // Match bounds are character boundaries (the patterns are UTF-8).
                    let before = s.get(..m.start()).and_then(|p| p.chars().next_back());
                    let after = s.get(m.end()..).and_then(|p| p.chars().next());
                    !before.is_some_and(char::is_alphanumeric)
                        && !after.is_some_and(char::is_alphanumeric)
                }
            })
            .count();
        if n >= c.num_banned_substrs {
            UrlVerdict::Banned(n)
        } else {
            UrlVerdict::Kept
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_list_read_in_pieces_holds_every_line_once() {
        // Long enough to be cut into many pieces; CRLF, blank lines, upper case, duplicates
        // and no final newline.
        let mut text = String::new();
        for i in 0..5000 {
            let e = match i % 7 {
                0 => format!("Host{i}.Example.COM\r\n"),
                1 => "\n".to_string(),
                2 => format!("host{}.example.com\n", i - 2),
                _ => format!("h{i}.example.org\n"),
            };
            text.push_str(&e);
        }
        text.push_str("last.example.net");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, &text).unwrap();
        for (lower, keep_blank) in [(true, false), (false, false), (true, true)] {
            let got = read_list(&path, lower, keep_blank, true).unwrap().digests;
            let mut want: Vec<u128> = text
                .lines()
                .filter_map(|l| entry(l, lower, keep_blank))
                .map(|e| xxhash_rust::xxh3::xxh3_128(e.as_bytes()))
                .collect();
            want.sort_unstable();
            want.dedup();
            assert_eq!(got, want, "lower {lower}, blank lines kept {keep_blank}");
        }
    }

    fn filter(list: &str, yaml: &str, bugs: bool) -> UrlBan {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.txt");
        std::fs::write(&path, list).unwrap();
        let cfg: UrlBanConfig = serde_json::from_value(serde_json::json!({
            "url_key": "metadata.url",
            "banlist_file": path,
        }))
        .unwrap();
        let mut v = serde_json::to_value(&cfg).unwrap();
        let extra: serde_json::Map<String, Value> = serde_json::from_str(yaml).unwrap();
        v.as_object_mut().unwrap().extend(extra);
        UrlBan::load(&serde_json::from_value(v).unwrap(), bugs).unwrap()
    }

    #[test]
    fn domains_and_full_hosts() {
        let f = filter(
            "bad.com\nsub.evil.org\n",
            r#"{"exact_domain_match": true}"#,
            false,
        );
        assert_eq!(f.check_url("http://BAD.com/x"), UrlVerdict::Banned(1));
        assert_eq!(f.check_url("bad.com/x"), UrlVerdict::Banned(1));
        assert_eq!(f.check_url("http://good.com/bad.com"), UrlVerdict::Kept);
        assert_eq!(f.check_url("http://[::1"), UrlVerdict::NoHost);
        let f = filter(
            "sub.evil.org\n",
            r#"{"exact_subdomain_match": true}"#,
            false,
        );
        assert_eq!(f.check_url("https://sub.evil.org/a"), UrlVerdict::Banned(1));
        assert_eq!(f.check_url("https://evil.org/a"), UrlVerdict::Kept);
        // datamap-rs: the first label only.
        let f = filter("sub\n", r#"{"exact_subdomain_match": true}"#, true);
        assert_eq!(f.check_url("https://sub.evil.org/a"), UrlVerdict::Banned(1));
        assert_eq!(f.check_url("https://sub.org/a"), UrlVerdict::Kept);
        assert_eq!(f.check_url("sub.evil.org/a"), UrlVerdict::Kept);
    }

    #[test]
    fn case_follows_the_definition_unless_asked_for_datamaps() {
        let f = filter("Casino\n", "{}", false);
        assert_eq!(f.check_url("http://x.com/CASINO"), UrlVerdict::Banned(1));
        let f = filter("Casino\n", "{}", true);
        assert_eq!(f.check_url("http://x.com/CASINO"), UrlVerdict::Kept);
        let f = filter("Casino\n", r#"{"case_sensitive": true}"#, false);
        assert_eq!(f.check_url("http://x.com/Casino"), UrlVerdict::Banned(1));
        assert_eq!(f.check_url("http://x.com/casino"), UrlVerdict::Kept);
    }

    #[test]
    fn words_substrings_parts_and_counts() {
        let f = filter(
            "sex\ncam\n",
            r#"{"match_substrings": false, "num_banned_substrs": 2}"#,
            false,
        );
        assert_eq!(
            f.check_url("http://x.com/sex-cam/live"),
            UrlVerdict::Banned(2)
        );
        assert_eq!(f.check_url("http://x.com/sussex-cam"), UrlVerdict::Kept);
        let f = filter("sex\n", r#"{"ignore_chars": ["-", "."]}"#, false);
        assert_eq!(f.check_url("http://s-e.x.com/"), UrlVerdict::Banned(1));
        let f = filter("porn\n", r#"{"exact_part_match": true}"#, false);
        assert_eq!(f.check_url("http://x.com/porn_1"), UrlVerdict::Banned(1));
        assert_eq!(f.check_url("http://x.com/pornstar"), UrlVerdict::Kept);
        let f = filter("http://x.com/a\n", r#"{"exact_url_match": true}"#, false);
        assert_eq!(f.check_url("http://x.com/a"), UrlVerdict::Banned(1));
        // A blank line is skipped (datamap-rs: matches everything).
        let f = filter("a.b\n\nzz\n", "{}", false);
        assert_eq!(f.check_url("http://x.com/"), UrlVerdict::Kept);
        assert_eq!(filter("a.b\n\nzz\n", "{}", true).len(), 3);
    }

    #[test]
    fn urls_come_from_the_key_or_the_alternate() {
        let f = filter("bad\n", r#"{"alt_url_key": "metadata.warc_url"}"#, false);
        let mut d = Document::new("1", "t");
        assert_eq!(f.check(&d), UrlVerdict::MissingUrl);
        d.fields.insert(
            "metadata".into(),
            serde_json::json!({"warc_url": "http://bad.com"}),
        );
        assert_eq!(f.check(&d), UrlVerdict::Banned(1));
    }

    #[test]
    fn contradictory_modes_are_refused() {
        let dir = std::env::temp_dir();
        let cfg: UrlBanConfig = serde_json::from_value(serde_json::json!({
            "url_key": "u", "banlist_file": dir.join("none"),
            "exact_domain_match": true, "exact_url_match": true,
        }))
        .unwrap();
        assert!(UrlBan::load(&cfg, false).is_err());
        let bad: Result<UrlBanConfig, _> = serde_json::from_value(serde_json::json!({
            "url_key": "u", "banlist_file": "x", "exact_domian_match": true,
        }));
        assert!(bad.is_err());
    }
}
