//! Dolma's directory layout: `<root>/documents/<rel>` ↔ `<root>/attributes/<name>/<rel>`,
//! and expansion of the glob patterns configs use to name inputs.

use crate::storage::{Storage, StorageError};
use globset::GlobBuilder;

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

/// The attribute file for a document file: `…/documents/<rel>` → `…/attributes/<name>/<rel>`.
pub fn attribute_path(document_path: &str, name: &str) -> Result<String, LayoutError> {
    let (root, rel) =
        documents_split(document_path).ok_or_else(|| LayoutError::NotUnderDocuments {
            path: document_path.to_string(),
        })?;
    Ok(format!("{root}attributes/{name}/{rel}"))
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
