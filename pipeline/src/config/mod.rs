//! Config loading that reports *every* problem at once, each with its field path.
//!
//! Configs are YAML or JSON (dolma ships both). They are parsed into a
//! [`serde_json::Value`] tree first; typed structs (all `deny_unknown_fields`) are then
//! deserialized from that tree. serde stops at the first error, so [`from_value`] records the
//! error with its path, prunes the offending node and tries again until the tree parses or
//! nothing is left to prune. Semantic checks run afterwards through [`Validate`].

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

pub mod dolma;
pub mod omega;

/// One problem in a config, located by its field path (`streams[0].filter.include[2]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Field path from the document root; empty for the root itself.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "(root): {}", self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// All problems found in one config file.
#[derive(Debug, Clone)]
pub struct ConfigErrors {
    /// The config file, when it came from one.
    pub file: Option<PathBuf>,
    /// Every problem found, in document order where possible.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        match &self.file {
            Some(p) => write!(f, "{} problem(s) in config {}", n, p.display())?,
            None => write!(f, "{n} problem(s) in config")?,
        }
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl ConfigErrors {
    fn single(file: Option<&Path>, path: &str, message: impl Into<String>) -> Self {
        ConfigErrors {
            file: file.map(Path::to_path_buf),
            problems: vec![ConfigProblem {
                path: path.to_string(),
                message: message.into(),
            }],
        }
    }
}

/// Collects semantic problems while validating a parsed config.
#[derive(Debug, Default)]
pub struct Problems {
    items: Vec<ConfigProblem>,
}

impl Problems {
    /// Records a problem at `path`.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.items.push(ConfigProblem {
            path: path.into(),
            message: message.into(),
        });
    }
    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The recorded problems.
    pub fn into_vec(self) -> Vec<ConfigProblem> {
        self.items
    }
}

/// Semantic checks that serde cannot express (ranges, exclusive options, references).
pub trait Validate {
    /// Records every problem found; `path` is this value's own field path.
    fn validate(&self, problems: &mut Problems);
}

/// Joins a parent field path and a child key.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// Whether `path` is a dotted field path (`metadata.topic`): non-empty names between dots.
pub fn is_dotted_path(path: &str) -> bool {
    !path.split('.').any(str::is_empty)
}

/// Sets the dotted `path` (`a.b.c`) of a JSON object to `value`, making objects on the way
/// (a non-object in the way becomes an object), as dolma's `_make_nested_dict` merges flags.
pub fn set_dotted(map: &mut serde_json::Map<String, Value>, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = map;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(part.to_string(), value);
            return;
        }
        let next = cur
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if !next.is_object() {
            *next = Value::Object(serde_json::Map::new());
        }
        match next {
            Value::Object(m) => cur = m,
            _ => return,
        }
    }
}

/// Joins a parent field path and a sequence index.
pub fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// Parses config text: JSON when `path` ends in `.json`, YAML otherwise (YAML 1.2 also reads
/// most JSON).
pub fn parse_text(text: &str, path: Option<&Path>) -> Result<Value, ConfigErrors> {
    let is_json = path
        .and_then(|p| p.extension())
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        serde_json::from_str(text).map_err(|e| {
            ConfigErrors::single(
                path,
                "",
                format!(
                    "not valid JSON (line {}, column {}): {e}",
                    e.line(),
                    e.column()
                ),
            )
        })
    } else {
        let v: Value = serde_norway::from_str(text)
            .map_err(|e| ConfigErrors::single(path, "", format!("not valid YAML: {e}")))?;
        Ok(if v.is_null() {
            Value::Object(Default::default())
        } else {
            v
        })
    }
}

/// Reads and parses a config file into a value tree.
pub fn read_value(path: &Path) -> Result<Value, ConfigErrors> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigErrors::single(Some(path), "", format!("cannot read: {e}")))?;
    parse_text(&text, Some(path))
}

/// Loads, deserializes and validates a config file, reporting all problems at once.
/// Returns the typed config and the raw value tree (for fingerprints and manifests).
pub fn load<T: DeserializeOwned + Validate>(path: &Path) -> Result<(T, Value), ConfigErrors> {
    let value = read_value(path)?;
    let typed = from_value_validated::<T>(&value).map_err(|problems| ConfigErrors {
        file: Some(path.to_path_buf()),
        problems,
    })?;
    Ok((typed, value))
}

/// [`from_value`] followed by [`Validate::validate`].
pub fn from_value_validated<T: DeserializeOwned + Validate>(
    value: &Value,
) -> Result<T, Vec<ConfigProblem>> {
    let typed: T = from_value(value)?;
    let mut problems = Problems::default();
    typed.validate(&mut problems);
    if problems.is_empty() {
        Ok(typed)
    } else {
        Err(problems.into_vec())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn render(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Deserializes `T` from a value tree, collecting every structural problem (unknown keys,
/// wrong types, missing fields) with its path instead of stopping at the first.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T, Vec<ConfigProblem>> {
    let mut work = value.clone();
    let mut problems: Vec<ConfigProblem> = Vec::new();
    // Nodes pruned so far, in original coordinates: used to map indices back after removals
    // and to silence "missing field" errors caused by our own pruning.
    let mut removed: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..256 {
        let err = match serde_path_to_error::deserialize::<_, T>(&work) {
            Ok(t) if problems.is_empty() => return Ok(t),
            Ok(_) => return Err(problems),
            Err(e) => e,
        };
        let mut cur: Vec<Seg> = err
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                serde_path_to_error::Segment::Enum { .. } => None,
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = err.inner().to_string();
        // serde reports unknown/missing fields at the parent struct; point at the field.
        let unknown = backticked(&message, "unknown field `");
        let missing = backticked(&message, "missing field `");
        if let Some(k) = unknown.as_ref() {
            if lookup(&work, &cur).is_some_and(|v| v.get(k).is_some()) {
                cur.push(Seg::Key(k.clone()));
            }
        }
        let orig = to_original(&cur, &removed);
        if let Some(field) = missing.as_ref() {
            let mut child = orig.clone();
            child.push(Seg::Key(field.clone()));
            if !removed.contains(&child) {
                problems.push(ConfigProblem {
                    path: render(&child),
                    message: format!("missing required field `{field}`"),
                });
            }
        } else {
            let message = match unknown {
                Some(_) => message
                    .split_once(", expected")
                    .map(|(a, b)| format!("{a} (expected{b})"))
                    .unwrap_or(message),
                None => message,
            };
            problems.push(ConfigProblem {
                path: render(&orig),
                message,
            });
        }
        if cur.is_empty() || !remove(&mut work, &cur) {
            return Err(problems);
        }
        removed.push(orig);
    }
    Err(problems)
}

fn backticked(message: &str, prefix: &str) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next().map(str::to_string)
}

fn lookup<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = match seg {
            Seg::Key(k) => cur.get(k)?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    Some(cur)
}

fn remove(v: &mut Value, path: &[Seg]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut cur = v;
    for seg in parent {
        let next = match seg {
            Seg::Key(k) => cur.get_mut(k.as_str()),
            Seg::Index(i) => cur.get_mut(*i),
        };
        match next {
            Some(n) => cur = n,
            None => return false,
        }
    }
    match (last, cur) {
        (Seg::Key(k), Value::Object(m)) => m.remove(k).is_some(),
        (Seg::Index(i), Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

/// Maps a path in the pruned tree back to the original tree's indices.
fn to_original(cur: &[Seg], removed: &[Vec<Seg>]) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::with_capacity(cur.len());
    for seg in cur {
        match seg {
            Seg::Key(k) => out.push(Seg::Key(k.clone())),
            Seg::Index(j) => {
                // The j-th surviving index under this parent.
                let mut gone: Vec<usize> = removed
                    .iter()
                    .filter(|r| r.len() == out.len() + 1 && r[..out.len()] == out[..])
                    .filter_map(|r| match r.last() {
                        Some(Seg::Index(i)) => Some(*i),
                        _ => None,
                    })
                    .collect();
                gone.sort_unstable();
                let mut idx = *j;
                for g in gone {
                    if g <= idx {
                        idx += 1;
                    }
                }
                out.push(Seg::Index(idx));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Filter {
        #[serde(default)]
        include: Vec<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Stream {
        name: String,
        #[serde(default)]
        filter: Option<Filter>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Top {
        streams: Vec<Stream>,
        #[serde(default)]
        processes: Option<usize>,
    }

    #[test]
    fn reports_every_problem_with_its_path() {
        let v = parse_text(
            "streams:\n  - name: a\n    filter: {include: [x, 3, y, {}]}\n  - nme: b\n  - name: c\n    bogus: 1\nprocesses: many\nextra: 1\n",
            None,
        )
        .unwrap();
        let errs = from_value::<Top>(&v).unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"streams[0].filter.include[1]"), "{errs:?}");
        assert!(paths.contains(&"streams[0].filter.include[3]"), "{errs:?}");
        assert!(paths.contains(&"streams[1].nme"), "{errs:?}");
        assert!(paths.contains(&"streams[1].name"), "{errs:?}");
        assert!(paths.contains(&"streams[2].bogus"), "{errs:?}");
        assert!(paths.contains(&"processes"), "{errs:?}");
        assert!(paths.contains(&"extra"), "{errs:?}");
    }

    #[test]
    fn valid_config_parses() {
        let v = parse_text(
            "{\"streams\": [{\"name\": \"a\"}]}",
            Some(Path::new("x.json")),
        )
        .unwrap();
        let t: Top = from_value(&v).unwrap();
        assert_eq!(t.streams.len(), 1);
    }
}
