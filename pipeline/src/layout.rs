//! Dolma's directory layout: `<root>/documents/<rel>` ↔ `<root>/attributes/<name>/<rel>`,
//! names that become parts of output paths ([`contained_name`]), and expansion of the glob
//! patterns configs use to name inputs.

use crate::format::{Format, UnknownFormat};
use crate::storage::{Storage, StorageError};
use globset::GlobBuilder;

/// A name from a config (experiment, dedupe name, stream name, …) that would not stay inside
/// the output root once joined to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` {reason}; names become parts of output paths and must stay inside the output directory")]
pub struct UnsafeName {
    /// The name.
    pub name: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Checks that `name` is a relative path that stays below the directory it is joined to:
/// not empty, not absolute, no URL scheme, no empty, `.` or `..` component, no backslash or
/// control character. `/` between ordinary components is allowed (dolma names may nest).
/// Every command checks its config's path-forming names here, so the rule is one rule.
pub fn contained_name(name: &str) -> Result<(), UnsafeName> {
    let bad = |reason| {
        Err(UnsafeName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("is empty");
    }
    if name.starts_with('/') {
        return bad("is an absolute path");
    }
    if name.contains("://") {
        return bad("is a URL");
    }
    if name.contains('\\') {
        return bad("contains a backslash");
    }
    if name.chars().any(char::is_control) {
        return bad("contains a control character");
    }
    for c in name.split('/') {
        match c {
            "" => return bad("has an empty path component (`//` or a trailing `/`)"),
            "." | ".." => return bad("has a `.` or `..` path component"),
            _ => {}
        }
    }
    Ok(())
}

/// A problem mapping or expanding paths.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// A document path without a `documents` directory to map from.
    #[error("{path}: not under a `documents/` directory, cannot place its attributes (dolma layout is <root>/documents/… ↔ <root>/attributes/<name>/…)")]
    NotUnderDocuments {
        /// The path.
        path: String,
    },
    /// An invalid glob pattern.
    #[error("invalid glob pattern `{pattern}`: {message}")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// A pattern that matched nothing (dolma would silently do nothing).
    #[error("`{pattern}` matched no files")]
    NoMatch {
        /// The pattern.
        pattern: String,
    },
    /// An attribute name that would leave the `attributes/` directory.
    #[error(transparent)]
    UnsafeName(#[from] UnsafeName),
    /// A document file of no supported format (named: it is the input that is wrong).
    #[error(transparent)]
    Format(#[from] UnknownFormat),
    /// Listing failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn documents_split(path: &str) -> Option<(&str, &str)> {
    if let Some(i) = path.rfind("/documents/") {
        // The root keeps its trailing `/`.
        return path.get(..=i).zip(path.get(i + "/documents/".len()..));
    }
    path.strip_prefix("documents/").map(|rest| ("", rest))
}

/// The attribute file for a document file: `…/documents/<rel>` → `…/attributes/<name>/<rel>`
/// (with [`attribute_rel`]'s name for Parquet documents). The document must have a supported
/// format and `name` must pass [`contained_name`].
pub fn attribute_path(document_path: &str, name: &str) -> Result<String, LayoutError> {
    contained_name(name)?;
    let (root, rel) =
        documents_split(document_path).ok_or_else(|| LayoutError::NotUnderDocuments {
            path: document_path.to_string(),
        })?;
    Format::from_path(document_path)?;
    Ok(format!("{root}attributes/{name}/{}", attribute_rel(rel)))
}

/// The directory [`attribute_path`] puts `name`'s files in for documents under the same
/// `documents/` directory as `document_path`: `…/attributes/<name>`.
pub fn attribute_root(document_path: &str, name: &str) -> Result<String, LayoutError> {
    contained_name(name)?;
    let (root, _) =
        documents_split(document_path).ok_or_else(|| LayoutError::NotUnderDocuments {
            path: document_path.to_string(),
        })?;
    Ok(format!("{root}attributes/{name}"))
}

/// The attribute file's path relative to `attributes/<name>/` for a document file's path
/// relative to `documents/`. Attribute files are always JSON lines: a Parquet document
/// `<stem>.parquet` gets `<stem>.jsonl.gz` (dolma reads no Parquet and has no rule for it);
/// every other name is kept, as dolma does.
pub fn attribute_rel(document_rel: &str) -> std::borrow::Cow<'_, str> {
    let n = document_rel.len();
    match document_rel.get(n.saturating_sub(".parquet".len())..) {
        Some(ext) if n > ".parquet".len() && ext.eq_ignore_ascii_case(".parquet") => {
            let stem = document_rel
                .get(..n - ".parquet".len())
                .unwrap_or(document_rel);
            std::borrow::Cow::Owned(format!("{stem}.jsonl.gz"))
        }
        _ => std::borrow::Cow::Borrowed(document_rel),
    }
}

/// The path of a document file relative to its `documents/` directory.
pub fn relative_to_documents(document_path: &str) -> Result<&str, LayoutError> {
    documents_split(document_path)
        .map(|(_, rel)| rel)
        .ok_or_else(|| LayoutError::NotUnderDocuments {
            path: document_path.to_string(),
        })
}

fn is_glob(s: &str) -> bool {
    s.contains(['*', '?', '[', '{'])
}

/// Expands patterns (plain files, directories listed recursively, or globs where `*` stays
/// within one directory and `**` crosses them) into a sorted, de-duplicated file list. A
/// pattern that matches nothing is an error.
pub fn expand(storage: &dyn Storage, patterns: &[String]) -> Result<Vec<String>, LayoutError> {
    let mut out = Vec::new();
    for pattern in patterns {
        let before = out.len();
        if !is_glob(pattern) {
            out.extend(storage.list(pattern)?.into_iter().map(|o| o.path));
        } else {
            // List from the deepest directory without glob characters.
            let literal = pattern
                .split(['*', '?', '[', '{'])
                .next()
                .unwrap_or(pattern);
            let base = literal.rsplit_once('/').map_or(".", |(dir, _)| dir);
            let glob = GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| LayoutError::BadGlob {
                    pattern: pattern.clone(),
                    message: e.to_string(),
                })?
                .compile_matcher();
            for o in storage.list(base)? {
                let candidate = if base == "." {
                    o.path.strip_prefix("./").unwrap_or(&o.path).to_string()
                } else {
                    o.path.clone()
                };
                if glob.is_match(&candidate) {
                    out.push(candidate);
                }
            }
        }
        if out.len() == before {
            return Err(LayoutError::NoMatch {
                pattern: pattern.clone(),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalStorage;

    #[test]
    fn maps_documents_to_attributes() {
        assert_eq!(
            attribute_path("s3://b/x/documents/a/000.json.gz", "pii").unwrap(),
            "s3://b/x/attributes/pii/a/000.json.gz"
        );
        assert_eq!(
            attribute_path("documents/000.jsonl", "t").unwrap(),
            "attributes/t/000.jsonl"
        );
        assert!(attribute_path("data/000.jsonl", "t").is_err());
        assert_eq!(
            attribute_path("x/documents/a/b.parquet", "t").unwrap(),
            "x/attributes/t/a/b.jsonl.gz"
        );
        assert!(matches!(
            attribute_path("x/documents/b.txt", "t"),
            Err(LayoutError::Format(e)) if e.path == "x/documents/b.txt"
        ));
        assert!(matches!(
            attribute_path("x/documents/b.jsonl", "../../up"),
            Err(LayoutError::UnsafeName(_))
        ));
    }

    #[test]
    fn names_must_stay_inside() {
        for ok in ["exp", "a/b", "v1.2", "dup-url_x"] {
            assert_eq!(contained_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".",
            "../x",
            "a/../../b",
            "/abs",
            "a//b",
            "a/",
            "s3://b/x",
            "a\\b",
            "a\nb",
        ] {
            assert!(contained_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(attribute_rel("a/b.parquet"), "a/b.jsonl.gz");
        assert_eq!(attribute_rel("b.PARQUET"), "b.jsonl.gz");
        assert_eq!(attribute_rel("b.json.gz"), "b.json.gz");
    }

    #[test]
    fn expands_globs_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        for p in [
            "documents/b.jsonl",
            "documents/a.jsonl.gz",
            "documents/sub/c.jsonl",
        ] {
            let f = dir.path().join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, "x").unwrap();
        }
        let got = expand(&LocalStorage, &[format!("{root}/documents/*")]).unwrap();
        assert_eq!(
            got,
            [
                format!("{root}/documents/a.jsonl.gz"),
                format!("{root}/documents/b.jsonl")
            ]
        );
        let all = expand(&LocalStorage, &[format!("{root}/documents/**/*.jsonl")]).unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert!(matches!(
            expand(&LocalStorage, &[format!("{root}/nothing/*.gz")]),
            Err(LayoutError::NoMatch { .. })
        ));
    }
}
