//! dolma's command-line forms for `loam tag|dedupe|mix|tokens`: the flags dolma's CLI builds
//! from its config dataclasses (`--documents a b`, `--experiment e`, `--dedupe.name n`,
//! `--dryrun` / `--no-dryrun`), taken as argparse takes them, merged over the `-c` file with
//! dolma's precedence (flags win; mappings merge key by key, lists and scalars are replaced),
//! then OmegaConf interpolations resolved ([`ConfigSource`]).
//!
//! The flags are dolma 1.2.1's, exactly (`python/dolma/cli/__init__.py` `make_parser` over
//! `TaggerConfig`, `DeduperConfig`, `MixerConfig`, `TokenizationConfig`): a list field takes
//! any number of values (`nargs="*"`), any other field one optional value (`nargs="?"`: no
//! value is null), a bool field is a switch with its `--no-` form. As argparse does, a value
//! may follow `=`, an unambiguous prefix names a flag (`--exp` is `--experiment`), the last
//! of a repeated flag wins, and an argument starting with `-` ends a flag's values unless it
//! is a negative number. What dolma's argparse rejects (`--streams.0.name x`,
//! `experiment=x`) is rejected here too (by the argument parser, exit 2).

use crate::error::{Error, Result};
use loam_pipeline::config::{self, ConfigErrors, ConfigProblem, Validate};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How a dolma flag takes values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// A list field: any number of values.
    List,
    /// Any other field: one optional value (none is null).
    Scalar,
    /// A bool field: `--x` is true, `--no-x` false.
    Bool,
}

use FlagKind::{Bool, List, Scalar};

const TAG: &[(&str, FlagKind)] = &[
    ("documents", List),
    ("destination", List),
    ("tagger_modules", List),
    ("taggers", List),
    ("experiment", Scalar),
    ("processes", Scalar),
    ("ignore_existing", Bool),
    ("debug", Bool),
    ("profile.enable", Bool),
    ("profile.output", Scalar),
    ("profile.steps", Scalar),
    ("profile.sort_key", Scalar),
    ("profile.lines", Scalar),
    ("work_dir.input", Scalar),
    ("work_dir.output", Scalar),
    ("dryrun", Bool),
];

const DEDUPE: &[(&str, FlagKind)] = &[
    ("documents", List),
    ("work_dir.input", Scalar),
    ("work_dir.output", Scalar),
    ("dedupe.name", Scalar),
    ("dedupe.documents.attribute_name", Scalar),
    ("dedupe.documents.key", Scalar),
    ("dedupe.paragraphs.attribute_name", Scalar),
    ("dedupe.paragraphs.by_ngram.ngram_length", Scalar),
    ("dedupe.paragraphs.by_ngram.stride", Scalar),
    ("dedupe.paragraphs.by_ngram.overlap_threshold", Scalar),
    ("dedupe.paragraphs.by_ngram.skip_short_paragraphs", Bool),
    ("dedupe.paragraphs.paragraph_separator", Scalar),
    ("dedupe.skip_empty", Bool),
    ("dedupe.min_length", Scalar),
    ("dedupe.min_words", Scalar),
    ("dedupe.num_partitions", Scalar),
    ("dedupe.partition_index", Scalar),
    ("dedupe.file_partition", Bool),
    ("dedupe.document_dir", Scalar),
    ("bloom_filter.file", Scalar),
    ("bloom_filter.size_in_bytes", Scalar),
    ("bloom_filter.read_only", Bool),
    ("bloom_filter.estimated_doc_count", Scalar),
    ("bloom_filter.desired_false_positive_rate", Scalar),
    ("processes", Scalar),
    ("compression.input", Scalar),
    ("compression.output", Scalar),
    ("dryrun", Bool),
    ("is_s3_volume", Bool),
];

const MIX: &[(&str, FlagKind)] = &[
    ("streams", List),
    ("work_dir.input", Scalar),
    ("work_dir.output", Scalar),
    ("processes", Scalar),
    ("shuffle", Bool),
    ("dryrun", Bool),
];

const TOKENS: &[(&str, FlagKind)] = &[
    ("documents", List),
    ("destination", Scalar),
    ("tokenizer_name_or_path", Scalar),
    ("tokenizer.name_or_path", Scalar),
    ("tokenizer.bos_token_id", Scalar),
    ("tokenizer.eos_token_id", Scalar),
    ("tokenizer.pad_token_id", Scalar),
    ("tokenizer.segment_before_tokenization", Bool),
    ("tokenizer.refresh", Scalar),
    ("tokenizer.fast", Bool),
    ("tokenizer.encode_special_tokens", Bool),
    ("processes", Scalar),
    ("files_per_process", Scalar),
    ("batch_size", Scalar),
    ("ring_size", Scalar),
    ("fields.text_field_name", Scalar),
    ("fields.text_field_type", Scalar),
    ("fields.id_field_name", Scalar),
    ("fields.id_field_type", Scalar),
    ("sample_ring_prop", Bool),
    ("max_size", Scalar),
    ("dtype", Scalar),
    ("debug", Bool),
    ("seed", Scalar),
    ("work_dir.input", Scalar),
    ("work_dir.output", Scalar),
    ("dryrun", Bool),
];

/// dolma's flags for a command (`tag`, `dedupe`, `mix`, `tokens`), by config key.
pub fn flags_of(command: &str) -> Option<&'static [(&'static str, FlagKind)]> {
    match command {
        "tag" => Some(TAG),
        "dedupe" => Some(DEDUPE),
        "mix" => Some(MIX),
        "tokens" => Some(TOKENS),
        _ => None,
    }
}

/// A command line dolma's argparse would refuse.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// A prefix of several flags.
    #[error("loam {command}: ambiguous option {arg} could match {}", candidates.join(", "))]
    Ambiguous {
        /// The command.
        command: String,
        /// The argument as given.
        arg: String,
        /// The flags it could be.
        candidates: Vec<String>,
    },
    /// `--switch=value`.
    #[error("loam {command}: {flag} takes no value (given {arg})")]
    SwitchValue {
        /// The command.
        command: String,
        /// The switch.
        flag: String,
        /// The argument as given.
        arg: String,
    },
    /// A dolma flag's value that is not UTF-8.
    #[error("loam {command}: the value of {flag} is not UTF-8")]
    NotUtf8 {
        /// The command.
        command: String,
        /// The flag.
        flag: String,
    },
}

/// The long and short options loam itself has for a command (they come first: a dolma
/// flag never shadows one), and whether each takes a value.
#[derive(Debug, Default, Clone)]
pub struct LoamOptions {
    /// `--name` → takes a value.
    pub long: Vec<(String, bool)>,
    /// `-x` → takes a value.
    pub short: Vec<(char, bool)>,
}

impl LoamOptions {
    fn long(&self, name: &str) -> Option<bool> {
        self.long.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
    fn short(&self, c: char) -> Option<bool> {
        self.short.iter().find(|(s, _)| *s == c).map(|(_, v)| *v)
    }
}

/// argparse's test for an argument that is a value, not an option: it does not start with
/// `-`, is `-` alone, is a negative number, or has a space in it.
fn is_value(arg: &str) -> bool {
    if !arg.starts_with('-') || arg == "-" || arg.contains(' ') {
        return true;
    }
    // argparse's `^-\d+$|^-\d*\.\d+$`
    let rest = arg.get(1..).unwrap_or_default();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match rest.split_once('.') {
        None => digits(rest),
        Some((int, frac)) => (int.is_empty() || digits(int)) && digits(frac),
    }
}

/// Which dolma flag (config key and kind, and the value of a switch) a long option names.
enum Named {
    Loam(bool),
    Dolma(&'static str, FlagKind, bool),
    Unknown,
}

fn name_option(
    command: &str,
    name: &str,
    arg: &str,
    flags: &'static [(&'static str, FlagKind)],
    loam: &LoamOptions,
) -> Result<Named, FlagError> {
    if let Some(v) = loam.long(name) {
        return Ok(Named::Loam(v));
    }
    let exact = |n: &str| -> Option<Named> {
        flags.iter().find_map(|(key, kind)| {
            if *key == n {
                Some(Named::Dolma(key, *kind, true))
            } else if *kind == Bool && n.strip_prefix("no-") == Some(key) {
                Some(Named::Dolma(key, *kind, false))
            } else {
                None
            }
        })
    };
    if let Some(n) = exact(name) {
        return Ok(n);
    }
    // argparse's abbreviations: a prefix of exactly one option (loam's included).
    let mut all: Vec<String> = Vec::new();
    for (key, kind) in flags {
        all.push((*key).to_string());
        if *kind == Bool {
            all.push(format!("no-{key}"));
        }
    }
    all.extend(loam.long.iter().map(|(n, _)| n.clone()));
    let hits: Vec<&String> = all.iter().filter(|n| n.starts_with(name)).collect();
    match hits.as_slice() {
        [] => Ok(Named::Unknown),
        [one] => match loam.long(one) {
            Some(v) => Ok(Named::Loam(v)),
            None => Ok(exact(one).unwrap_or(Named::Unknown)),
        },
        many => Err(FlagError::Ambiguous {
            command: command.to_string(),
            arg: arg.to_string(),
            candidates: many.iter().map(|n| format!("--{n}")).collect(),
        }),
    }
}

/// Splits a command's arguments (those after its name) into loam's own, for the argument
/// parser, and dolma's flags, as the nested tree dolma's `namespace_to_nested_omegaconf`
/// builds (`{"dedupe": {"name": "x"}}`); the tree is empty when there are none.
pub fn split(
    command: &str,
    args: &[OsString],
    loam: &LoamOptions,
) -> Result<(Vec<OsString>, Value), FlagError> {
    let mut tree = Value::Object(Map::new());
    let Some(flags) = flags_of(command) else {
        return Ok((args.to_vec(), tree));
    };
    let mut rest = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        let Some(s) = arg.to_str() else {
            rest.push(arg.clone());
            continue;
        };
        if s == "--" {
            rest.extend(args[i - 1..].iter().cloned());
            break;
        }
        if let Some(long) = s.strip_prefix("--") {
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            match name_option(command, name, s, flags, loam)? {
                Named::Loam(takes) => {
                    rest.push(arg.clone());
                    if takes && inline.is_none() && i < args.len() {
                        rest.push(args[i].clone());
                        i += 1;
                    }
                }
                Named::Unknown => rest.push(arg.clone()),
                Named::Dolma(key, kind, on) => {
                    let value = match kind {
                        Bool => {
                            if inline.is_some() {
                                return Err(FlagError::SwitchValue {
                                    command: command.to_string(),
                                    flag: format!("--{}{key}", if on { "" } else { "no-" }),
                                    arg: s.to_string(),
                                });
                            }
                            Value::Bool(on)
                        }
                        Scalar => match inline {
                            Some(v) => Value::String(v.to_string()),
                            None => match args.get(i).and_then(|a| a.to_str()) {
                                Some(v) if is_value(v) => {
                                    i += 1;
                                    Value::String(v.to_string())
                                }
                                Some(_) => Value::Null,
                                None if i < args.len() => {
                                    return Err(FlagError::NotUtf8 {
                                        command: command.to_string(),
                                        flag: format!("--{key}"),
                                    })
                                }
                                None => Value::Null,
                            },
                        },
                        List => match inline {
                            Some(v) => Value::Array(vec![Value::String(v.to_string())]),
                            None => {
                                let mut items = Vec::new();
                                while i < args.len() {
                                    let Some(v) = args[i].to_str() else {
                                        return Err(FlagError::NotUtf8 {
                                            command: command.to_string(),
                                            flag: format!("--{key}"),
                                        });
                                    };
                                    if !is_value(v) {
                                        break;
                                    }
                                    items.push(Value::String(v.to_string()));
                                    i += 1;
                                }
                                Value::Array(items)
                            }
                        },
                    };
                    set(&mut tree, key, value);
                }
            }
            continue;
        }
        if let Some(shorts) = s.strip_prefix('-').filter(|r| !r.is_empty()) {
            // `-c FILE`, `-cFILE`, `-j4`: loam's own; the next argument is the value when the
            // option takes one and none is attached.
            let mut chars = shorts.chars();
            let first = chars.next();
            rest.push(arg.clone());
            if let Some(true) = first.and_then(|c| loam.short(c)) {
                if chars.as_str().is_empty() && i < args.len() {
                    rest.push(args[i].clone());
                    i += 1;
                }
            }
            continue;
        }
        rest.push(arg.clone());
    }
    Ok((rest, tree))
}

/// `_make_nested_dict`: `a.b.c` → `{"a": {"b": {"c": value}}}`, merged into `tree`.
fn set(tree: &mut Value, key: &str, value: Value) {
    if let Value::Object(m) = tree {
        loam_pipeline::config::set_dotted(m, key, value);
    }
}

/// Where a dolma command's config comes from: dolma's `-c FILE`, its flags, or both.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// The config file (`-c`).
    pub file: Option<PathBuf>,
    /// dolma's flags, as a nested tree (empty when none).
    pub flags: Value,
}

impl ConfigSource {
    /// A config file alone.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        ConfigSource {
            file: Some(path.into()),
            flags: Value::Object(Map::new()),
        }
    }

    /// Whether any dolma flag was given.
    pub fn has_flags(&self) -> bool {
        self.flags.as_object().is_some_and(|m| !m.is_empty())
    }

    /// How messages name this config: the file, `FILE + flags`, or `command-line flags`.
    pub fn label(&self) -> PathBuf {
        match (&self.file, self.has_flags()) {
            (Some(f), false) => f.clone(),
            (Some(f), true) => PathBuf::from(format!("{} + flags", f.display())),
            (None, _) => PathBuf::from("command-line flags"),
        }
    }

    /// The config tree as dolma's CLI builds it: the file (none: an empty mapping), the
    /// flags merged over it, then every interpolation resolved.
    pub fn value(&self) -> Result<Value> {
        let mut tree = match &self.file {
            Some(f) => config::read_value(f).map_err(Error::usage)?,
            None => Value::Object(Map::new()),
        };
        if !tree.is_object() {
            return Err(Error::usage(ConfigErrors {
                file: Some(self.label()),
                problems: vec![ConfigProblem {
                    path: String::new(),
                    message: "a dolma config is a mapping of keys to values".into(),
                }],
            }));
        }
        config::dolma::merge(&mut tree, &self.flags);
        config::dolma::resolve_interpolations(&tree).map_err(|problems| {
            Error::usage(ConfigErrors {
                file: Some(self.label()),
                problems,
            })
        })
    }

    /// Loads, deserializes and validates the config, reporting every problem at once;
    /// returns the typed config and its tree (for fingerprints and manifests).
    pub fn load<T: DeserializeOwned + Validate>(&self) -> Result<(T, Value)> {
        let tree = self.value()?;
        let typed = config::from_value_validated::<T>(&tree).map_err(|problems| {
            Error::usage(ConfigErrors {
                file: Some(self.label()),
                problems,
            })
        })?;
        Ok((typed, tree))
    }

    /// The bytes a manifest's config record hashes: the file's when the file alone is the
    /// config, else the config tree as JSON (what ran).
    pub fn bytes(&self) -> Result<Vec<u8>> {
        match (&self.file, self.has_flags()) {
            (Some(f), false) => {
                std::fs::read(f).map_err(|e| Error::usage(format!("reading {}: {e}", f.display())))
            }
            _ => Ok(serde_json::to_vec_pretty(&self.value()?)?),
        }
    }

    /// The config file's path, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.file.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn loam() -> LoamOptions {
        LoamOptions {
            long: vec![
                ("config".into(), true),
                ("dolma-bugs".into(), false),
                ("threads".into(), true),
                ("json".into(), false),
            ],
            short: vec![('c', true), ('j', true), ('h', false)],
        }
    }

    #[test]
    fn argparse_forms() {
        let (rest, tree) = split(
            "tag",
            &os(&[
                "--documents",
                "a/documents/*",
                "b/documents/*",
                "-c",
                "t.yaml",
                "--exp=e",
                "--processes",
                "-j",
                "2",
                "--dolma-bugs",
                "--no-dryrun",
                "--work_dir.input",
                "-1",
                "--taggers",
                "x",
                "--taggers",
                "y",
                "z",
            ]),
            &loam(),
        )
        .unwrap();
        assert_eq!(rest, os(&["-c", "t.yaml", "-j", "2", "--dolma-bugs"]));
        assert_eq!(
            tree,
            json!({
                "documents": ["a/documents/*", "b/documents/*"],
                "experiment": "e",
                "processes": null,
                "dryrun": false,
                "work_dir": {"input": "-1"},
                "taggers": ["y", "z"],
            })
        );
        let (_, tree) = split(
            "dedupe",
            &os(&[
                "--dedupe.name",
                "d",
                "--dedupe.paragraphs.attribute_name",
                "p",
                "--bloom_filter.read_only",
            ]),
            &loam(),
        )
        .unwrap();
        assert_eq!(
            tree,
            json!({"dedupe": {"name": "d", "paragraphs": {"attribute_name": "p"}}, "bloom_filter": {"read_only": true}})
        );
    }

    #[test]
    fn what_argparse_refuses() {
        // Not dolma flags: left for the argument parser, which refuses them.
        let (rest, tree) = split(
            "mix",
            &os(&["--streams.0.name", "x", "experiment=x"]),
            &loam(),
        )
        .unwrap();
        assert_eq!(rest, os(&["--streams.0.name", "x", "experiment=x"]));
        assert_eq!(tree, json!({}));
        let e = split("tag", &os(&["--d", "x"]), &loam()).unwrap_err();
        assert!(matches!(e, FlagError::Ambiguous { .. }), "{e}");
        assert!(e.to_string().contains("--documents"), "{e}");
        let e = split("tag", &os(&["--dryrun=yes"]), &loam()).unwrap_err();
        assert!(matches!(e, FlagError::SwitchValue { .. }), "{e}");
    }

    #[test]
    fn negative_numbers_are_values() {
        for v in ["-1", "-1.5", "-.5", "x", "-", "- a"] {
            assert!(is_value(v), "{v}");
        }
        for v in ["-c", "--x", "-1.", "-1a", "--"] {
            assert!(!is_value(v), "{v}");
        }
    }
}
