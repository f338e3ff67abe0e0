//! dolma's Adblock Plus URL taggers (`oisd_*_abp_v1`, `brave_*_abp_v1`; `AdbUrlTagger` in
//! `python/dolma/taggers/url.py`, `UrlBlocker` in `src/urls.rs`): a document whose
//! `metadata.url` a network rule of the lists blocks gets a `url` span.
//!
//! dolma matches with Brave's `adblock` crate 0.8.8; loam uses the same crate and version, so
//! rule semantics are the engine's, not a re-implementation. Without its `object-pooling` and
//! `unsync-regex-caching` features (caches that make the engine single-threaded; matching is
//! the same) one engine serves every thread. As dolma: the rules are every line of the lists
//! not starting with `!`, stripped, deduplicated and sorted; the URL is `BaseUrlTagger`'s
//! cleaned `host[:port]path`, given `http://` when urllib3 finds no scheme in it, checked as a
//! request with no source URL and no request type. Where dolma fails the whole file (a URL the
//! engine cannot parse as a request), loam writes no span for that document.

//!
//! The engine is behind `loam-filters`' feature `abp` (on by default); a build without it
//! knows the names and refuses to build the taggers, saying so.

#[cfg(feature = "abp")]
use crate::url::{clean_link, py_lines, read_list, url_scheme, UrlListError};
#[cfg(feature = "abp")]
use adblock::{lists::ParseOptions, request::Request, Engine};
#[cfg(feature = "abp")]
use loam_pipeline::document::Document;
#[cfg(feature = "abp")]
use loam_pipeline::tagger::{Signals, TagError, Tagger};
use std::path::PathBuf;

#[cfg(test)]
const OISD: &str = "blocklist_oisd/blocklist_oisd-20240205/";
#[cfg(test)]
const BRAVE: &str = "blocklist_brave/blocklist_brave-20240206/";

/// The taggers and dolma's files (below `https://dolma-artifacts.org/`).
pub const TAGGERS: &[(&str, &[&str])] = &[
    (
        "oisd_small_abp_v1",
        &["blocklist_oisd/blocklist_oisd-20240205/oisd_small_abp.txt.gz"],
    ),
    (
        "oisd_big_abp_v1",
        &["blocklist_oisd/blocklist_oisd-20240205/oisd_big_abp.txt.gz"],
    ),
    (
        "oisd_nsfw_abp_v1",
        &["blocklist_oisd/blocklist_oisd-20240205/oisd_nsfw_abp.txt.gz"],
    ),
    (
        "brave_core_abp_v1",
        &[
            "blocklist_brave/blocklist_brave-20240206/brave_ad_block_first_party_filters.txt",
            "blocklist_brave/blocklist_brave-20240206/brave_ad_block_updater.txt",
        ],
    ),
    (
        "brave_nsfw_abp_v1",
        &["blocklist_brave/blocklist_brave-20240206/blocklists_anti_porn.txt"],
    ),
];

/// Every Adblock Plus tagger's name.
pub fn names() -> impl Iterator<Item = &'static str> {
    TAGGERS.iter().map(|t| t.0)
}

/// dolma's files of `name`; `None` for other names.
pub fn files(name: &str) -> Option<&'static [&'static str]> {
    TAGGERS.iter().find(|t| t.0 == name).map(|t| t.1)
}

/// The lists loam reads for `name` without `tagger_options.<name>.lists`:
/// `$LOAM_MODELS_DIR/<path below https://dolma-artifacts.org/>`.
pub fn default_lists(name: &str) -> Option<Vec<PathBuf>> {
    let dir = crate::langid::models_dir();
    files(name).map(|f| f.iter().map(|p| dir.join(p)).collect())
}

/// An Adblock Plus URL tagger.
#[cfg(feature = "abp")]
pub struct AbpTagger {
    name: &'static str,
    lists: Vec<PathBuf>,
    engine: Engine,
}

#[cfg(feature = "abp")]
impl AbpTagger {
    /// Loads `name` with the given lists, or its default files; `None` for a name that is
    /// not one of [`TAGGERS`].
    pub fn load(name: &str, lists: Option<&[PathBuf]>) -> Option<Result<AbpTagger, UrlListError>> {
        let &(name, _) = TAGGERS.iter().find(|t| t.0 == name)?;
        let lists = match lists {
            Some(l) => l.to_vec(),
            None => default_lists(name)?,
        };
        Some((|| {
            let mut rules = Vec::new();
            for path in &lists {
                let text = read_list(name, path)?;
                rules.extend(
                    py_lines(&text)
                        .filter(|l| !l.starts_with('!'))
                        .map(|l| crate::pytext::py_strip(l).to_string()),
                );
            }
            // `sorted(set(rules))`: code-point order is UTF-8 byte order.
            rules.sort_unstable();
            rules.dedup();
            if rules.iter().all(String::is_empty) {
                return Err(UrlListError::Empty {
                    tagger: name.to_string(),
                    paths: lists,
                });
            }
            let engine = Engine::from_rules(&rules, ParseOptions::default());
            Ok(AbpTagger {
                name,
                lists,
                engine,
            })
        })())
    }

    /// Whether dolma's tagger writes a `url` span for this `metadata.url`.
    pub fn blocks(&self, url: &str) -> bool {
        let Some(cleaned) = clean_link(url) else {
            return false;
        };
        let full = if url_scheme(&cleaned).is_none() {
            format!("http://{cleaned}")
        } else {
            cleaned
        };
        Request::new(&full, "", "")
            .map(|r| self.engine.check_network_request(&r).matched)
            .unwrap_or(false)
    }
}

#[cfg(feature = "abp")]
impl Tagger for AbpTagger {
    fn name(&self) -> &str {
        self.name
    }

    fn tag(&self, doc: &Document, out: &mut Signals) -> Result<(), TagError> {
        crate::url::tag_url(doc, out, |u| self.blocks(u));
        Ok(())
    }

    fn models(&self) -> Vec<PathBuf> {
        self.lists.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_files_share_dolmas_prefixes() {
        for (name, files) in TAGGERS {
            assert!(
                files
                    .iter()
                    .all(|f| f.starts_with(OISD) || f.starts_with(BRAVE)),
                "{name}"
            );
        }
    }

    #[test]
    #[cfg(feature = "abp")]
    fn network_rules_block_hosts_and_paths_and_exceptions_win() {
        let dir = std::env::temp_dir().join(format!("loam-abp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let list = dir.join("rules.txt");
        std::fs::write(
            &list,
            "! comment\n||ads.example.com^\n/banner/*\n@@||ads.example.com/ok^\n",
        )
        .unwrap();
        let t = AbpTagger::load("oisd_small_abp_v1", Some(&[list]))
            .unwrap()
            .unwrap();
        assert!(t.blocks("https://ads.example.com/x"));
        assert!(t.blocks("sub.ads.example.com"));
        assert!(t.blocks("http://news.example.org/banner/1.png"));
        assert!(!t.blocks("https://ads.example.com/ok"));
        assert!(!t.blocks("https://example.com/"));
        assert!(!t.blocks(""));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
