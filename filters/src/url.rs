//! URL block/allow-list taggers: dolma 1.2.1's `python/dolma/taggers/url.py`.
//!
//! Each tagger reads the document's `metadata.url`, cleans it as dolma does, and writes one
//! `url` span `[0, len, 1]` when a cleaned form is on its list (nothing otherwise). dolma
//! downloads its lists from `dolma-artifacts.org` at run time; loam never downloads: the files
//! are given in the tag config (`tagger_options: {<tagger>: {lists: [...]}}`) or found under
//! `$LOAM_MODELS_DIR` (else `models/`) by the path dolma downloads them from, below
//! `https://dolma-artifacts.org/` (see [`default_lists`] and docs/taggers.md).
//!
//! Three families, as in dolma:
//!
//! - **domain** taggers (`blocklist_hosts_*_v1`, `blocklist_project_*_v1`,
//!   `blocklist_firebog_*_v1`, `domain_blocklist_*_v1`): a URL is cleaned to
//!   `host[:port]/path` (see below), then reparsed to its host, then `str.lstrip("www.")`
//!   (which strips any leading `w` and `.` characters, so `web.com` becomes `eb.com`: dolma's
//!   behaviour, kept) and both that host and `www.` + it are looked up. List lines are parsed by
//!   dolma's `BaseUrlTagger.parse_line` (hosts-file lines `IP host`, plain hosts, and
//!   `||host^`), and their hosts are cleaned the same way;
//! - **link** taggers (`link_blocklist_phishing_v1`): each lowercased, stripped line is an
//!   entry (blank lines too), looked up by the cleaned `host[:port]/path`;
//! - **wikidata** allow-lists (`allowlist_wikidata_v1`, `allowlist_wikidata_cleaned_v1`): each
//!   line of the list is a JSON array of `{"url", "description"}` rows; a row's URL, its host
//!   forms and their "base domains" (the last two dot-separated parts when there are more than
//!   two dots) are the entries. A row that fails anywhere stops at that point (dolma's
//!   `try/except` around a generator). dolma's `allowlist_wikidata_cleaned_v1` defines a row
//!   filter (`is_valid_row`: no description, NSFW words or TLDs) that nothing calls, so it
//!   gives exactly `allowlist_wikidata_v1`'s values; loam does the same.
//!
//! Cleaning a URL is urllib3 1.26's `parse_url` (dolma's dependency): a scheme-less URL gets
//! `//` in front, the authority's `host[:port]` is split by urllib3's regex, an ASCII host is
//! lowercased (an IPv4 address is kept), and the path of an `http`/`https`/scheme-less URL has
//! its dot segments removed and invalid characters percent-encoded. The result is
//! `f"{host}{':' + port if port else ''}{path or ''}"`, right-stripped of `/`, lowercased. A
//! URL without a host gives `none…` (Python's `f"{None}"`), as in dolma.
//!
//! Differences from dolma, all on URLs dolma cannot handle: dolma fails the whole file when a
//! document's URL does not parse (`LocationParseError`: a port above 65535, an unbalanced
//! `[`) or its `metadata.url` is not a string; loam writes no span for that document. A
//! non-ASCII host is IDNA-encoded by urllib3 (`xn--…`); loam does not encode it and never
//! matches such a host.
//!
//! dolma's Adblock Plus taggers (`oisd_*_abp_v1`, `brave_*_abp_v1`) match with dolma's Rust
//! `UrlBlocker` (the `adblock` crate's network rules) and are not reproduced here.

use crate::pytext::{char_len, py_lower, py_strip, PY_SPACE_CLASS};
use loam_pipeline::document::{Document, Span};
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use regex::Regex;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Why a URL tagger could not be built.
#[derive(Debug, thiserror::Error)]
pub enum UrlListError {
    /// A list file does not exist.
    #[error("tagger `{tagger}`: list file {} not found (give it in `tagger_options.{tagger}.lists`, or put dolma's file there; docs/taggers.md says where each is published)", path.display())]
    Missing {
        /// The tagger.
        tagger: String,
        /// The file looked for.
        path: PathBuf,
    },
    /// A list file could not be read (or is not UTF-8, or a gzip file is corrupt).
    #[error("tagger `{tagger}`: cannot read list file {}: {source}", path.display())]
    Read {
        /// The tagger.
        tagger: String,
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// A wikidata list line that is not JSON, or not an array (dolma fails there too).
    #[error("tagger `{tagger}`: {}:{line}: {message}", path.display())]
    BadLine {
        /// The tagger.
        tagger: String,
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The lists hold no entry (dolma asserts a non-empty list).
    #[error("tagger `{tagger}`: its lists ({}) hold no entry", paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    Empty {
        /// The tagger.
        tagger: String,
        /// The files read.
        paths: Vec<PathBuf>,
    },
}

/// How a tagger cleans URLs and parses its list lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `BaseDomainTagger`.
    Domain,
    /// `LinkBlocklistPhishingTagger`.
    Link,
    /// `AllowlistWikidataTagger` (and its `_cleaned` subclass).
    Wikidata,
}

const ARTIFACTS: &str = "https://dolma-artifacts.org/";
const PROJECT: &str = "blocklist_project/blocklist_project-20240207/";
const FIREBOG: &str = "blocklist_firebog/blocklist_firebog-20240208/";
const HOSTS: &str = "blocklist_hosts/blocklist_hosts-20240208/";
const PHISHING: &str = "blocklist_phishing_db/blocklist_phishing_db-20240205/domains.txt.gz";
const WIKIDATA: &[&str] = &[
    "wikidata/wikidata-20220208/periodical-Q1002697/response.json",
    "wikidata/wikidata-20220208/website-Q35127/response.json",
];

/// Every URL tagger: dolma's name, family, and the files dolma downloads (relative to
/// `https://dolma-artifacts.org/`; loam's default paths relative to `$LOAM_MODELS_DIR`).
pub const TAGGERS: &[(&str, Family, &[&str])] = &[
    (
        "domain_blocklist_utp_v1",
        Family::Domain,
        &["blocklist_utp/blocklist_utp-20240205/adult/domains"],
    ),
    ("link_blocklist_phishing_v1", Family::Link, &[PHISHING]),
    ("domain_blocklist_phishing_v1", Family::Domain, &[PHISHING]),
    (
        "blocklist_project_nsfw_v1",
        Family::Domain,
        &["blocklist_project/blocklist_project-20240207/porn.txt"],
    ),
    (
        "blocklist_project_social_v1",
        Family::Domain,
        &[
            "blocklist_project/blocklist_project-20240207/facebook.txt",
            "blocklist_project/blocklist_project-20240207/fortnite.txt",
            "blocklist_project/blocklist_project-20240207/tiktok.txt",
            "blocklist_project/blocklist_project-20240207/twitter.txt",
            "blocklist_project/blocklist_project-20240207/whatsapp.txt",
            "blocklist_project/blocklist_project-20240207/youtube.txt",
        ],
    ),
    (
        "blocklist_project_crime_v1",
        Family::Domain,
        &[
            "blocklist_project/blocklist_project-20240207/abuse.txt",
            "blocklist_project/blocklist_project-20240207/fraud.txt",
            "blocklist_project/blocklist_project-20240207/malware.txt",
            "blocklist_project/blocklist_project-20240207/phishing.txt",
            "blocklist_project/blocklist_project-20240207/piracy.txt",
            "blocklist_project/blocklist_project-20240207/ransomware.txt",
            "blocklist_project/blocklist_project-20240207/scam.txt",
            "blocklist_project/blocklist_project-20240207/redirect.txt",
        ],
    ),
    (
        "blocklist_project_vice_v1",
        Family::Domain,
        &[
            "blocklist_project/blocklist_project-20240207/crypto.txt",
            "blocklist_project/blocklist_project-20240207/drugs.txt",
            "blocklist_project/blocklist_project-20240207/gambling.txt",
            "blocklist_project/blocklist_project-20240207/vaping.txt",
        ],
    ),
    (
        "blocklist_project_ads_v1",
        Family::Domain,
        &[
            "blocklist_project/blocklist_project-20240207/adobe.txt",
            "blocklist_project/blocklist_project-20240207/ads.txt",
            "blocklist_project/blocklist_project-20240207/basic.txt",
            "blocklist_project/blocklist_project-20240207/smart-tv.txt",
            "blocklist_project/blocklist_project-20240207/tracking.txt",
        ],
    ),
    (
        "blocklist_firebog_ads_v1",
        Family::Domain,
        &[
            "blocklist_firebog/blocklist_firebog-20240208/ads/blue/hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/AdguardDNS.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/Admiral.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/adservers.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/Easylist-2.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/hosts-2.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/hosts-3.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/serverlist.txt",
            "blocklist_firebog/blocklist_firebog-20240208/ads/green/simple_ad.txt",
        ],
    ),
    (
        "blocklist_firebog_crypto_v1",
        Family::Domain,
        &["blocklist_firebog/blocklist_firebog-20240208/crypto/green/hosts_browser.txt"],
    ),
    (
        "blocklist_firebog_malicious_v1",
        Family::Domain,
        &[
            "blocklist_firebog/blocklist_firebog-20240208/malicious/blue/phishing-filter-hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/blue/Prigent-Malware.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/AntiMalwareHosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/hostfile.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/hosts-2.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/latestdomains.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/main-blacklist.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/Mandiant_APT1_Report_Appendix_D.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/notrack-malware.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/phishing_army_blocklist_extended.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/Prigent-Crypto.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/RPiList-Malware.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/RPiList-Phishing.txt",
            "blocklist_firebog/blocklist_firebog-20240208/malicious/green/simple_malvertising.txt",
        ],
    ),
    (
        "blocklist_firebog_nsfw_v1",
        Family::Domain,
        &[
            "blocklist_firebog/blocklist_firebog-20240208/nsfw/blue/pi_blocklist_porn_top1m.list.txt",
            "blocklist_firebog/blocklist_firebog-20240208/nsfw/blue/Prigent-Adult.txt",
        ],
    ),
    (
        "blocklist_firebog_social_v1",
        Family::Domain,
        &["blocklist_firebog/blocklist_firebog-20240208/social/blue/facebook.txt"],
    ),
    (
        "blocklist_firebog_suspicious_v1",
        Family::Domain,
        &[
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/hosts-2.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/hosts-3.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/hosts-4.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/hosts-file.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/neohostsbasic.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/SNAFU.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/blue/spammers.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/green/hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/green/KADhosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/suspicious/green/w3kbl.txt",
        ],
    ),
    (
        "blocklist_firebog_trackers_v1",
        Family::Domain,
        &[
            "blocklist_firebog/blocklist_firebog-20240208/trackers/blue/ads-and-tracking-extended.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/blue/AmazonFireTV.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/blue/android-tracking.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/blue/notrack-blocklist.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/blue/SmartTV.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/green/Easyprivacy.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/green/firstparty-trackers-hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/green/hosts.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/green/Prigent-Ads.txt",
            "blocklist_firebog/blocklist_firebog-20240208/trackers/green/spy.txt",
        ],
    ),
    (
        "blocklist_hosts_adware_malware_v1",
        Family::Domain,
        &["blocklist_hosts/blocklist_hosts-20240208/adware_malware.txt"],
    ),
    (
        "blocklist_hosts_fakenews_v1",
        Family::Domain,
        &["blocklist_hosts/blocklist_hosts-20240208/fakenews.txt"],
    ),
    (
        "blocklist_hosts_gambling_v1",
        Family::Domain,
        &["blocklist_hosts/blocklist_hosts-20240208/gambling.txt"],
    ),
    (
        "blocklist_hosts_porn_v1",
        Family::Domain,
        &["blocklist_hosts/blocklist_hosts-20240208/porn.txt"],
    ),
    (
        "blocklist_hosts_social_v1",
        Family::Domain,
        &["blocklist_hosts/blocklist_hosts-20240208/social.txt"],
    ),
    ("allowlist_wikidata_v1", Family::Wikidata, WIKIDATA),
    ("allowlist_wikidata_cleaned_v1", Family::Wikidata, WIKIDATA),
];

// The path prefixes above are spelled out in full in `TAGGERS` so that each entry reads as
// dolma's; these keep the shared prefixes checked by the test.
#[allow(dead_code)]
const PREFIXES: &[&str] = &[PROJECT, FIREBOG, HOSTS];

/// Every URL tagger's name.
pub fn names() -> impl Iterator<Item = &'static str> {
    TAGGERS.iter().map(|t| t.0)
}

/// The family and dolma's files of a URL tagger; `None` for other names.
pub fn lookup(name: &str) -> Option<(Family, &'static [&'static str])> {
    TAGGERS
        .iter()
        .find(|t| t.0 == name)
        .map(|&(_, f, files)| (f, files))
}

/// Where loam looks for a URL tagger's lists when the config names none:
/// `$LOAM_MODELS_DIR/<path below https://dolma-artifacts.org/>` (else `models/…`).
pub fn default_lists(name: &str) -> Option<Vec<PathBuf>> {
    let dir = crate::langid::models_dir();
    lookup(name).map(|(_, files)| files.iter().map(|f| dir.join(f)).collect())
}

/// Where dolma downloads a URL tagger's lists from.
pub fn dolma_urls(name: &str) -> Option<Vec<String>> {
    lookup(name).map(|(_, files)| files.iter().map(|f| format!("{ARTIFACTS}{f}")).collect())
}

/// A URL block/allow-list tagger.
#[derive(Debug, Clone)]
pub struct UrlListTagger {
    name: &'static str,
    family: Family,
    lists: Vec<PathBuf>,
    entries: HashSet<String>,
}

impl UrlListTagger {
    /// Loads the tagger `name` (a URL tagger's dolma name) with the given list files, or its
    /// default files when `lists` is `None`. `None` for a name that is not a URL tagger.
    pub fn load(
        name: &str,
        lists: Option<&[PathBuf]>,
    ) -> Option<Result<UrlListTagger, UrlListError>> {
        let &(name, family, _) = TAGGERS.iter().find(|t| t.0 == name)?;
        let lists = match lists {
            Some(l) => l.to_vec(),
            None => default_lists(name)?,
        };
        Some(Self::load_files(name, family, lists))
    }

    fn load_files(
        name: &'static str,
        family: Family,
        lists: Vec<PathBuf>,
    ) -> Result<UrlListTagger, UrlListError> {
        let mut entries = HashSet::new();
        for path in &lists {
            let text = read_list(name, path)?;
            for (i, line) in py_lines(&text).enumerate() {
                match family {
                    Family::Link => {
                        let ln = py_lower(py_strip(line));
                        if !ln.starts_with('#') {
                            entries.insert(ln);
                        }
                    }
                    Family::Domain => {
                        // dolma logs and skips lines it cannot parse.
                        let _ = parse_line(family, line, &mut entries);
                    }
                    Family::Wikidata => wikidata_line(line, &mut entries).map_err(|message| {
                        UrlListError::BadLine {
                            tagger: name.to_string(),
                            path: path.clone(),
                            line: i + 1,
                            message,
                        }
                    })?,
                }
            }
        }
        if entries.is_empty() {
            return Err(UrlListError::Empty {
                tagger: name.to_string(),
                paths: lists,
            });
        }
        Ok(UrlListTagger {
            name,
            family,
            lists,
            entries,
        })
    }

    /// Whether dolma's tagger writes a `url` span for a document with this `metadata.url`.
    pub fn matches(&self, url: &str) -> bool {
        let mut cleaned = Vec::new();
        clean(self.family, url, &mut cleaned);
        match self.family {
            Family::Wikidata => cleaned.iter().any(|c| {
                let mut again = Vec::new();
                clean(Family::Wikidata, c, &mut again);
                again.iter().any(|a| self.entries.contains(a))
            }),
            _ => cleaned.iter().any(|c| self.entries.contains(c)),
        }
    }
}

impl Tagger for UrlListTagger {
    fn name(&self) -> &str {
        self.name
    }
    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        tag_url(doc, out, |u| self.matches(u));
        Ok(())
    }
    fn models(&self) -> Vec<PathBuf> {
        self.lists.clone()
    }
}

/// `BaseUrlTagger.predict`: a `url` span over the whole text when `matches` holds for the
/// document's `metadata.url` (dolma: `doc.metadata.get("url") or ""`; a non-string URL makes
/// dolma fail the file, loam treats it as no URL).
pub(crate) fn tag_url(doc: &Document, out: &mut Signals, matches: impl Fn(&str) -> bool) {
    let url = doc
        .metadata()
        .and_then(|m| m.get("url"))
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if matches(url) {
        out.push("url", Span::new(0, char_len(&doc.text), 1.0));
    }
}

/// Reads a list file, gunzipping `.gz` files (smart_open does by extension).
pub(crate) fn read_list(tagger: &str, path: &Path) -> Result<String, UrlListError> {
    read_text(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            UrlListError::Missing {
                tagger: tagger.to_string(),
                path: path.to_path_buf(),
            }
        } else {
            UrlListError::Read {
                tagger: tagger.to_string(),
                path: path.to_path_buf(),
                source: e,
            }
        }
    })
}

/// A resource list's text (URL lists, ban lists, cursed lists): `.gz` files gunzipped, UTF-8
/// required (`InvalidData` otherwise).
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    let f = std::fs::File::open(path)?;
    // Sized once (lists run to 100+ MB): no regrowing and copying as it fills.
    let size = f.metadata().map_or(0, |m| m.len());
    let mut text = String::with_capacity(usize::try_from(size).unwrap_or(0));
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(f).read_to_string(&mut text)?;
    } else {
        std::io::BufReader::new(f).read_to_string(&mut text)?;
    }
    Ok(text)
}

/// Lines as Python's text mode reads them (universal newlines: `\n`, `\r\n`, `\r`).
pub(crate) fn py_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or("");
        let mut next = end;
        if rest.get(end..).is_some_and(|r| r.starts_with("\r\n")) {
            next += 2;
        } else if end < rest.len() {
            next += 1;
        }
        rest = rest.get(next..).unwrap_or("");
        Some(line)
    })
}

struct Patterns {
    scheme: Regex,
    uri: Regex,
    host_port: Regex,
    ipv4: Regex,
    ipv6_addrz: Regex,
    percent: Regex,
    maybe_ip_and_url: Regex,
    only_url: Regex,
    adp: Regex,
}

// Every pattern is a constant (the unit tests compile them all): `Regex::new` cannot fail.
#[allow(clippy::expect_used)]
fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let build = |p: &str| Regex::new(p).expect("static regex");
        // urllib3 1.26 `util/url.py`, pattern for pattern.
        let ipv4 = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}";
        let hex = "[0-9A-Fa-f]{1,4}";
        let ls32 = format!("(?:{hex}:{hex}|{ipv4})");
        let ipv6 = [
            format!("(?:{hex}:){{6}}{ls32}"),
            format!("::(?:{hex}:){{5}}{ls32}"),
            format!("(?:{hex})?::(?:{hex}:){{4}}{ls32}"),
            format!("(?:(?:{hex}:)?{hex})?::(?:{hex}:){{3}}{ls32}"),
            format!("(?:(?:{hex}:){{0,2}}{hex})?::(?:{hex}:){{2}}{ls32}"),
            format!("(?:(?:{hex}:){{0,3}}{hex})?::{hex}:{ls32}"),
            format!("(?:(?:{hex}:){{0,4}}{hex})?::{ls32}"),
            format!("(?:(?:{hex}:){{0,5}}{hex})?::{hex}"),
            format!("(?:(?:{hex}:){{0,6}}{hex})?::"),
        ]
        .join("|");
        let unreserved = r"A-Za-z0-9._\-~";
        let zone = format!("(?:%25|%)(?:[{unreserved}]|%[a-fA-F0-9]{{2}})+");
        let addrz = format!(r"\[(?:{ipv6})(?:{zone})?\]");
        let reg_name = r"(?:[^\[\]%:/?#]|%[a-fA-F0-9]{2})*";
        // Python's `$` also matches before a final `\n`.
        let host_port = format!(r"(?s)^({reg_name}|{ipv4}|{addrz})(?::0*?(|0|[1-9][0-9]{{0,4}}))?\n?$");
        let url = r"(?:[a-z0-9\-_]+\.?){2,}|localhost|localdomain";
        let s = PY_SPACE_CLASS;
        Patterns {
            scheme: build(r"^(?:[a-zA-Z][a-zA-Z0-9+\-]*:|/)"),
            uri: build(
                r"(?s)^(?:([a-zA-Z][a-zA-Z0-9+.\-]*):)?(?://([^\\/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$",
            ),
            host_port: build(&host_port),
            ipv4: build(&format!(r"^{ipv4}\n?$")),
            ipv6_addrz: build(&format!(r"^{addrz}\n?$")),
            percent: build("%[a-fA-F0-9]{2}"),
            maybe_ip_and_url: build(&format!(r"^([0-9a-f.:]+)[{s}]+({url})")),
            only_url: build(&format!("^(?:{url})")),
            adp: build(&format!(r"^\|+({url})\^")),
        }
    })
}

/// The parts of urllib3's `Url` that dolma uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedUrl {
    /// The host (lowercased for `http`, `https` and scheme-less URLs).
    pub host: Option<String>,
    /// The port.
    pub port: Option<u32>,
    /// The path (normalized for `http`, `https` and scheme-less URLs).
    pub path: Option<String>,
}

/// A URL urllib3 refuses (`LocationParseError`) or whose host loam cannot IDNA-encode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unparsed;

/// urllib3 1.26's `parse_url`, for the parts dolma uses.
pub fn parse_url(url: &str) -> Result<ParsedUrl, Unparsed> {
    if url.is_empty() {
        return Ok(ParsedUrl::default());
    }
    let p = patterns();
    let owned;
    let url = if p.scheme.is_match(url) {
        url
    } else {
        owned = format!("//{url}");
        &owned
    };
    let c = p.uri.captures(url).ok_or(Unparsed)?;
    let scheme = c.get(1).map(|m| m.as_str().to_ascii_lowercase());
    let normalize = matches!(scheme.as_deref(), None | Some("http") | Some("https"));
    let (mut host, mut port) = (None, None);
    if let Some(authority) = c.get(2).map(|m| m.as_str()).filter(|a| !a.is_empty()) {
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
        let hp = p.host_port.captures(host_port).ok_or(Unparsed)?;
        host = hp.get(1).map(|m| m.as_str().to_string());
        if let Some(digits) = hp.get(2).map(|m| m.as_str()).filter(|d| !d.is_empty()) {
            let n: u32 = digits.parse().map_err(|_| Unparsed)?;
            if n > 65535 {
                return Err(Unparsed);
            }
            port = Some(n);
        }
    }
    if let Some(h) = host.as_mut().filter(|h| !h.is_empty()) {
        if normalize {
            if p.ipv6_addrz.is_match(h) {
                *h = h.to_lowercase();
            } else if !p.ipv4.is_match(h) {
                if !h.is_ascii() {
                    // urllib3 IDNA-encodes non-ASCII labels (`xn--…`); not reproduced.
                    return Err(Unparsed);
                }
                *h = h.to_ascii_lowercase();
            }
        }
    }
    let query = c.get(4);
    let fragment = c.get(5);
    let mut path = c.get(3).map(|m| m.as_str().to_string());
    if normalize {
        if let Some(pth) = path.as_mut().filter(|p| !p.is_empty()) {
            *pth = encode_invalid_chars(&remove_dot_segments(pth));
        }
    }
    if path.as_deref().is_none_or(str::is_empty) {
        path = (query.is_some() || fragment.is_some()).then(String::new);
    }
    Ok(ParsedUrl { host, port, path })
}

/// The scheme urllib3 1.26's `parse_url` finds in `url` (`None` when it has none: the URL is
/// then read as `//url`).
pub fn url_scheme(url: &str) -> Option<String> {
    let p = patterns();
    if url.is_empty() || !p.scheme.is_match(url) {
        return None;
    }
    let c = p.uri.captures(url)?;
    c.get(1).map(|m| m.as_str().to_ascii_lowercase())
}

/// urllib3's `_remove_path_dot_segments`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    if path.starts_with('/') && out.first().is_none_or(|f| !f.is_empty()) {
        out.insert(0, "");
    }
    if path.ends_with("/.") || path.ends_with("/..") {
        out.push("");
    }
    out.join("/")
}

/// urllib3's `_encode_invalid_chars(path, PATH_CHARS)`.
fn encode_invalid_chars(component: &str) -> String {
    let p = patterns();
    let mut upper = String::with_capacity(component.len());
    let mut last = 0;
    let mut encodings = 0;
    for m in p.percent.find_iter(component) {
        upper.push_str(component.get(last..m.start()).unwrap_or(""));
        upper.push_str(&m.as_str().to_ascii_uppercase());
        last = m.end();
        encodings += 1;
    }
    upper.push_str(component.get(last..).unwrap_or(""));
    let is_percent_encoded = encodings == upper.bytes().filter(|&b| b == b'%').count();
    let mut out = String::with_capacity(upper.len());
    for b in upper.bytes() {
        let allowed = b.is_ascii_alphanumeric() || b"._-~!$&'()*+,;=:@/".contains(&b);
        if (is_percent_encoded && b == b'%') || allowed {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `BaseUrlTagger.clean_url`: `host[:port]path`, right-stripped of `/`, lowercased.
pub(crate) fn clean_link(url: &str) -> Option<String> {
    if py_strip(url).is_empty() {
        return None;
    }
    let u = parse_url(url).ok()?;
    let host = u.host.as_deref().unwrap_or("None");
    let port = u.port.filter(|&p| p != 0).map(|p| format!(":{p}"));
    let s = format!(
        "{host}{}{}",
        port.as_deref().unwrap_or(""),
        u.path.as_deref().unwrap_or("")
    );
    Some(py_lower(s.trim_end_matches('/')))
}

/// `BaseDomainTagger.clean_url`: the host without leading `w`/`.`, and `www.` + it.
fn clean_domain(url: &str, out: &mut Vec<String>) {
    let Some(link) = clean_link(url) else { return };
    let Ok(u) = parse_url(&link) else { return };
    let Some(host) = u.host.filter(|h| !h.is_empty()) else {
        return;
    };
    let host = host.trim_start_matches(['w', '.']);
    out.push(host.to_string());
    out.push(format!("www.{host}"));
}

/// `AllowlistWikidataTagger.get_base_domain`.
fn base_domain(url: &str) -> &str {
    if url.matches('.').count() > 2 {
        let mut it = url.rsplitn(3, '.');
        let last = it.next().unwrap_or("");
        let second = it.next().unwrap_or("");
        // `".".join(url.rsplit(".", 2)[1:])`: the last two parts, borrowed from `url`.
        let start = url.len() - last.len() - second.len() - 1;
        return url.get(start..).unwrap_or(url);
    }
    url
}

/// The family's `clean_url`.
fn clean(family: Family, url: &str, out: &mut Vec<String>) {
    match family {
        Family::Link => out.extend(clean_link(url)),
        Family::Domain => clean_domain(url, out),
        Family::Wikidata => {
            let mut hosts = Vec::new();
            clean_domain(url, &mut hosts);
            for h in hosts {
                let base = base_domain(&h).to_string();
                out.push(h);
                out.push(base);
            }
        }
    }
}

/// A line dolma's `BaseUrlTagger.parse_line` refuses (`UrlNotParsedError`).
#[derive(Debug)]
struct NotParsed;

/// `BaseUrlTagger.parse_line` with the family's `clean_url`: adds the line's entries.
fn parse_line(family: Family, line: &str, out: &mut HashSet<String>) -> Result<(), NotParsed> {
    let ln = py_lower(py_strip(line));
    if ln.is_empty() || ln.starts_with(['#', ';', '!']) {
        return Ok(());
    }
    let p = patterns();
    let mut cleaned = Vec::new();
    if let Some(c) = p.maybe_ip_and_url.captures(&ln) {
        let ip = c.get(1).map_or("", |m| m.as_str());
        let url = c.get(2).map_or("", |m| m.as_str());
        if ip.parse::<std::net::Ipv6Addr>().is_err() && ip.parse::<std::net::Ipv4Addr>().is_err() {
            return Err(NotParsed);
        }
        // dolma means to skip 127.0.0.1, 0.0.0.0 and ::1 here, but its pattern is the literal
        // text `^{IGNORE_IP_REGEX.pattern}` (an f-string without the `f`): every IP is kept.
        out.insert(ip.to_string());
        if url != "localhost" && url != "localdomain" {
            clean(family, url, &mut cleaned);
        }
    } else if p.only_url.is_match(&ln) {
        clean(family, &ln, &mut cleaned);
    } else if let Some(c) = p.adp.captures(&ln) {
        out.insert(c.get(1).map_or("", |m| m.as_str()).to_string());
    } else {
        return Err(NotParsed);
    }
    out.extend(cleaned);
    Ok(())
}

/// `AllowlistWikidataTagger.parse_line`: one JSON array of `{"url", …}` rows.
fn wikidata_line(line: &str, out: &mut HashSet<String>) -> Result<(), String> {
    let data: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let rows: Vec<&serde_json::Value> = match &data {
        serde_json::Value::Array(a) => a.iter().collect(),
        // Iterating a dict gives its keys, strings, whose `["url"]` fails: nothing.
        serde_json::Value::Object(_) => Vec::new(),
        other => {
            return Err(format!(
                "a JSON {} is not a list of rows",
                loam_pipeline::document::json_type(other)
            ))
        }
    };
    for row in rows {
        let Some(url) = row.get("url").and_then(|u| u.as_str()) else {
            continue;
        };
        let mut cleaned = Vec::new();
        clean(Family::Wikidata, url, &mut cleaned);
        // Each cleaned form goes through `BaseUrlTagger.parse_line`; the first it refuses
        // ends the row (the exception leaves dolma's generator).
        for c in cleaned {
            let mut entries = HashSet::new();
            if parse_line(Family::Wikidata, &c, &mut entries).is_err() {
                break;
            }
            out.extend(entries);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(u: &str) -> Option<String> {
        clean_link(u)
    }

    #[test]
    fn urllib3_cleaning() {
        assert_eq!(
            link("http://www.Example.COM:8080/a/./b/../c/?q=1#frag").as_deref(),
            Some("www.example.com:8080/a/c")
        );
        assert_eq!(link("wsj.com").as_deref(), Some("wsj.com"));
        assert_eq!(link("/foo").as_deref(), Some("none/foo"));
        assert_eq!(link("http:///x").as_deref(), Some("none/x"));
        assert_eq!(link("localhost:8080/x").as_deref(), Some("none8080/x"));
        assert_eq!(
            link("https://a.com/ü%zz").as_deref(),
            Some("a.com/%c3%bc%25zz")
        );
        assert_eq!(link("https://a.com:0/x").as_deref(), Some("a.com/x"));
        assert_eq!(link("   "), None);
        assert_eq!(parse_url("https://example.org:99999/"), Err(Unparsed));
        assert_eq!(parse_url("http://[::1"), Err(Unparsed));
        assert_eq!(parse_url("http://bücher.de/"), Err(Unparsed));
        let u = parse_url("http://[::1]:80/").unwrap();
        assert_eq!(u.host.as_deref(), Some("[::1]"));
        assert_eq!(u.port, Some(80));
        assert_eq!(remove_dot_segments("/a/b/.."), "/a/");
        assert_eq!(base_domain("www.news.bbc.co.uk"), "co.uk");
        assert_eq!(base_domain("bbc.co.uk"), "bbc.co.uk");
    }

    #[test]
    fn domain_forms() {
        let mut v = Vec::new();
        clean_domain("https://web.com/", &mut v);
        assert_eq!(v, ["eb.com", "www.eb.com"]);
    }

    #[test]
    fn list_lines() {
        let mut set = HashSet::new();
        for l in [
            "# c",
            "127.0.0.1 localhost",
            "0.0.0.0 Ads.Example.com # x",
            "999.1.1.1 bad.example",
            "||adp.example.com^",
            "plain.example.org",
            // Any two word characters pass dolma's URL regex (a prefix match): an entry.
            "not a host",
            "-",
        ] {
            let _ = parse_line(Family::Domain, l, &mut set);
        }
        let mut got: Vec<_> = set.into_iter().collect();
        got.sort();
        assert_eq!(
            got,
            [
                "0.0.0.0",
                "127.0.0.1",
                "adp.example.com",
                "ads.example.com",
                "not a host",
                "plain.example.org",
                "www.ads.example.com",
                "www.not a host",
                "www.plain.example.org"
            ]
        );
    }

    #[test]
    fn every_tagger_has_lists_and_missing_lists_are_named() {
        for (name, _, files) in TAGGERS {
            assert!(!files.is_empty());
            let e = UrlListTagger::load(name, Some(&[PathBuf::from("/nonexistent/list.txt")]))
                .unwrap()
                .unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains(name) && msg.contains("/nonexistent/list.txt"),
                "{msg}"
            );
        }
        assert!(UrlListTagger::load("gopher_v1", None).is_none());
        assert!(PREFIXES
            .iter()
            .all(|p| TAGGERS.iter().any(|t| t.2.iter().any(|f| f.starts_with(p)))));
    }

    #[test]
    fn universal_newlines() {
        let v: Vec<_> = py_lines("a\r\nb\rc\n\nd").collect();
        assert_eq!(v, ["a", "b", "c", "", "d"]);
    }
}
