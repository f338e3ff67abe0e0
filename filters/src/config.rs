//! Typed config for `loam tag`, accepting Ai2 dolma 1.2.1's `dolma tag` config files.
//!
//! The shape, key names and defaults are exactly those of dolma's `TaggerConfig` dataclass
//! (`python/dolma/cli/tagger.py`, with `WorkDirConfig` from `python/dolma/cli/shared.py`). The
//! tagger has no Rust-side config in dolma: the Python CLI hands these values to
//! `dolma.core.runtime.create_and_run_tagger` (`python/dolma/core/runtime.py`).
//!
//! dolma merges the file into an OmegaConf structured config, which rejects unknown keys (so do
//! we, `deny_unknown_fields`) and converts scalars (see [`loam_pipeline::config::omega`]).
//!
//! Note: `skip_on_failure`, `retries_on_error` and `seed` are parameters of
//! `create_and_run_tagger` but **not** keys of dolma 1.2.1's `TaggerConfig`, so `dolma tag`
//! rejects them in a config file; so does this struct.

pub use loam_pipeline::config::dolma::WorkDirConfig;
use loam_pipeline::config::{index, join, omega, Problems, Validate};
use serde::{Deserialize, Serialize};

/// The experiment name dolma reserves for "no experiment given"
/// (`EXPERIMENT_PLACEHOLDER_NAME`, `python/dolma/core/runtime.py:37`).
pub const EXPERIMENT_PLACEHOLDER_NAME: &str = "_______EXPERIMENT_PLACEHOLDER_NAME_______";

/// Sort keys `pstats` accepts (`pstats.SortKey._value2member_map_`, the `choices` of dolma's
/// `ProfilerConfig.sort_key`).
pub const PROFILE_SORT_KEYS: &[&str] = &[
    "calls",
    "ncalls",
    "cumulative",
    "cumtime",
    "filename",
    "module",
    "line",
    "name",
    "nfl",
    "pcalls",
    "stdname",
    "time",
    "tottime",
];

fn default_processes() -> usize {
    1
}

fn default_sort_key() -> String {
    "tottime".to_string()
}

fn default_profile_lines() -> i64 {
    100
}

/// Config of `dolma tag` (dolma `TaggerConfig`, `python/dolma/cli/tagger.py`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TagConfig {
    /// Document paths or globs to tag, local or `s3://` (`documents: List[str] = []`). dolma
    /// fails when they match no file.
    #[serde(default, deserialize_with = "omega::req")]
    pub documents: Vec<String>,
    /// Attribute destinations, one per entry of `documents` (`destination: Optional[List[str]]
    /// = None`). When absent, each destination is the document path with its `documents`
    /// directory replaced by `attributes/<experiment>` (`_make_paths_from_substitution`,
    /// `python/dolma/core/runtime.py:40`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub destination: Option<Vec<String>>,
    /// Extra Python modules to import taggers from (`tagger_modules: List[str] = []`).
    #[serde(default, deserialize_with = "omega::req")]
    pub tagger_modules: Vec<String>,
    /// Names of the taggers to run (`taggers: List[str] = []`).
    #[serde(default, deserialize_with = "omega::req")]
    pub taggers: Vec<String>,
    /// fastText classifiers to run as taggers, beside `taggers` (a loam extension: dolma has
    /// no such key and rejects it). Each is `{name, model, granularity}`; with no
    /// `experiment` a classifier's attributes go under its own name, like a tagger's.
    #[serde(default)]
    pub classifiers: Vec<crate::classifier::ClassifierSpec>,
    /// Options of individual taggers, by tagger name (a loam extension): the list files of
    /// the URL taggers, `{blocklist_hosts_porn_v1: {lists: [porn.txt]}}`. Unknown option
    /// names are refused.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tagger_options: std::collections::BTreeMap<String, crate::registry::TaggerOptions>,
    /// Experiment name: prefix of attribute names and the `attributes/<experiment>` directory
    /// (`experiment: Optional[str] = None`). When absent, each tagger's own name is used.
    #[serde(default, deserialize_with = "omega::opt")]
    pub experiment: Option<String>,
    /// Number of parallel processes (`processes: int = 1`).
    #[serde(default = "default_processes", deserialize_with = "omega::req")]
    pub processes: usize,
    /// Re-run taggers even where outputs already exist (`ignore_existing: bool = False`).
    #[serde(default, deserialize_with = "omega::req")]
    pub ignore_existing: bool,
    /// Debug mode: no multiprocessing (`debug: bool = False`).
    #[serde(default, deserialize_with = "omega::req")]
    pub debug: bool,
    /// Profiling options (`profile: ProfilerConfig = ProfilerConfig()`).
    #[serde(default)]
    pub profile: ProfilerConfig,
    /// Scratch directories (`work_dir: WorkDirConfig = WorkDirConfig()`,
    /// `python/dolma/cli/shared.py`).
    #[serde(default)]
    pub work_dir: WorkDirConfig,
    /// Only print the config and exit (`dryrun: bool = False`).
    #[serde(default, deserialize_with = "omega::req")]
    pub dryrun: bool,
}

/// Profiling options of `dolma tag` (dolma `ProfilerConfig`, `python/dolma/cli/tagger.py`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilerConfig {
    /// Enable profiling; dolma then also forces debug mode, i.e. one process
    /// (`enable: bool = False`; `debug=debug or profile_enable`, `runtime.py:468`).
    #[serde(default, deserialize_with = "omega::req")]
    pub enable: bool,
    /// Where to write the profile; stdout when absent (`output: Optional[str] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub output: Option<String>,
    /// Number of steps to profile; all when absent (`steps: Optional[int] = None`).
    #[serde(default, deserialize_with = "omega::opt")]
    pub steps: Option<i64>,
    /// `pstats` sort key, one of [`PROFILE_SORT_KEYS`] (`sort_key: str = "tottime"`).
    #[serde(default = "default_sort_key", deserialize_with = "omega::req")]
    pub sort_key: String,
    /// Rows of profile output (`lines: int = 100`). dolma's CLI never passes it on, so the
    /// runtime's own default of 100 always applies (`python/dolma/cli/tagger.py`, `run`).
    #[serde(default = "default_profile_lines", deserialize_with = "omega::req")]
    pub lines: i64,
}

impl Default for ProfilerConfig {
    fn default() -> Self {
        ProfilerConfig {
            enable: false,
            output: None,
            steps: None,
            sort_key: default_sort_key(),
            lines: default_profile_lines(),
        }
    }
}

impl TagConfig {
    /// Top-level keys that do not change the bytes written, left out of config fingerprints.
    pub fn runtime_keys() -> &'static [&'static str] {
        &[
            "processes",
            "ignore_existing",
            "debug",
            "profile",
            "work_dir",
            "dryrun",
        ]
    }

    /// Whether dolma runs without multiprocessing (`debug`, or `profile.enable`, which forces
    /// it).
    pub fn single_process(&self) -> bool {
        self.debug || self.profile.enable
    }
}

/// Checks `tagger_options` against the taggers run: each key must be one of them, and each
/// option one that tagger takes. Shared by loam's pipeline config (`tag.tagger_options`).
pub fn check_tagger_options(
    taggers: &[String],
    options: &std::collections::BTreeMap<String, crate::registry::TaggerOptions>,
    field: &str,
    problems: &mut Problems,
) {
    if taggers.iter().any(|t| t == crate::datamap::NAME)
        && !options.contains_key(crate::datamap::NAME)
    {
        crate::datamap::check(None, &join(field, crate::datamap::NAME), problems);
    }
    for (name, o) in options {
        let at = join(field, name);
        if !taggers.contains(name) {
            problems.push(
                &at,
                format!("options for `{name}`, which is not in `taggers`"),
            );
        }
        for opt in o.names_set() {
            if crate::registry::accepts_option(name, opt) {
                continue;
            }
            match opt {
                "steps" | "datamap_bugs" => problems.push(
                    join(&at, opt),
                    format!("only `{}` takes `{opt}`", crate::datamap::NAME),
                ),
                // Said below, with the list check.
                "lists" => {}
                _ => problems.push(
                    join(&at, opt),
                    format!("tagger `{name}` takes no option `{opt}`"),
                ),
            }
        }
        if name == crate::datamap::NAME {
            crate::datamap::check(o.steps.as_deref(), &at, problems);
        }
        if let Some(lists) = &o.lists {
            if !crate::registry::accepts_option(name, "lists") {
                problems.push(
                    join(&at, "lists"),
                    format!("tagger `{name}` reads no list files"),
                );
            } else if lists.is_empty() {
                problems.push(join(&at, "lists"), "no list files given");
            }
        }
    }
}

/// Python's `glob` check on one path (`is_glob`, `python/dolma/core/paths.py:372`): an
/// unescaped `*`, `?`, `[` or `]`.
fn is_glob(path: &str) -> bool {
    let b = path.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, c)| matches!(c, b'*' | b'?' | b'[' | b']') && (i == 0 || b[i - 1] != b'\\'))
}

/// Path components as `pathlib` gives them after dolma's `split_path`
/// (`python/dolma/core/paths.py:190`): the scheme (`s3://`) is dropped, the bucket is the first
/// component, empty and `.` components vanish.
fn path_parts(path: &str) -> Vec<&str> {
    let rest = match path.split_once("://") {
        Some((_, rest)) => rest,
        None => path,
    };
    rest.split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect()
}

/// The directory components dolma searches for `documents` when it derives a tagger
/// destination: everything before the first glob component, or, without a glob, everything but
/// the file name (`split_glob` then `_make_paths_from_substitution`, `paths.py:379`,
/// `runtime.py:40`).
fn destination_search_parts(path: &str) -> Vec<&str> {
    if !is_glob(path) {
        let mut parts = path_parts(path);
        parts.pop();
        return parts;
    }
    if path.starts_with('*') {
        return Vec::new();
    }
    let parts = path_parts(path);
    let first_glob = parts.iter().position(|p| is_glob(p)).unwrap_or(parts.len());
    parts[..first_glob].to_vec()
}

impl Validate for TagConfig {
    fn validate(&self, problems: &mut Problems) {
        // `TaggerCli.run` raises DolmaConfigError when the paths match nothing at all.
        if self.documents.is_empty() {
            problems.push(
                "documents",
                "no document paths given; dolma tags nothing and fails",
            );
        }
        for (i, d) in self.documents.iter().enumerate() {
            if d.trim().is_empty() {
                problems.push(index("documents", i), "empty document path");
            }
        }
        // With no taggers dolma walks every file and writes nothing useful.
        if self.taggers.is_empty() && self.classifiers.is_empty() {
            problems.push("taggers", "no taggers given; nothing would be tagged");
        }
        let known = crate::registry::names();
        for (i, c) in self.classifiers.iter().enumerate() {
            let at = index("classifiers", i);
            if c.name.trim().is_empty() || c.name.contains("__") || c.name.contains('/') {
                problems.push(
                    join(&at, "name"),
                    "a classifier needs a name without `__` or `/` (it is part of attribute keys)",
                );
            }
            if known.contains(&c.name.as_str())
                || self.taggers.contains(&c.name)
                || self.classifiers[..i].iter().any(|o| o.name == c.name)
            {
                problems.push(
                    join(&at, "name"),
                    format!("`{}` is already the name of a tagger or classifier", c.name),
                );
            }
            if c.model.trim().is_empty() {
                problems.push(join(&at, "model"), "empty path");
            }
        }
        for (i, t) in self.taggers.iter().enumerate() {
            if t.trim().is_empty() {
                problems.push(index("taggers", i), "empty tagger name");
            } else if !known.contains(&t.as_str()) {
                // `loam tag` would refuse it; `validate` shares this check.
                let hint = crate::registry::closest(t, known.iter().copied())
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                problems.push(
                    index("taggers", i),
                    format!("unknown tagger `{t}` (`loam taggers` lists them){hint}"),
                );
            }
        }
        check_tagger_options(
            &self.taggers,
            &self.tagger_options,
            "tagger_options",
            problems,
        );
        // `attributes/<experiment>/` (or a classifier's name without one) must stay under
        // its root.
        if let Some(e) = &self.experiment {
            if let Err(e) = loam_pipeline::layout::contained_name(e) {
                problems.push("experiment", e.to_string());
            }
        }
        for (i, c) in self.classifiers.iter().enumerate() {
            if let Err(e) = loam_pipeline::layout::contained_name(&c.name) {
                problems.push(join(&index("classifiers", i), "name"), e.to_string());
            }
        }
        if !self.tagger_modules.is_empty() {
            problems.push(
                "tagger_modules",
                "loam cannot load Python tagger modules; use built-in taggers (`loam taggers`) or `classifiers`",
            );
        }
        if self.experiment.as_deref() == Some(EXPERIMENT_PLACEHOLDER_NAME) {
            problems.push(
                "experiment",
                "this experiment name is reserved by dolma for internal use",
            );
        }
        match &self.destination {
            // `BaseParallelProcessor.__init__` (`python/dolma/core/parallel.py:153,173`).
            Some(dst) => {
                if dst.len() != self.documents.len() {
                    problems.push(
                        "destination",
                        format!(
                            "{} destination(s) for {} document path(s); dolma needs one per document path",
                            dst.len(),
                            self.documents.len()
                        ),
                    );
                }
                for (i, d) in dst.iter().enumerate() {
                    if d.contains('*') {
                        problems.push(
                            index("destination", i),
                            "destination paths cannot contain wildcards",
                        );
                    }
                }
            }
            // `_make_paths_from_substitution` (`runtime.py:40`): `list.index("documents")`.
            None => {
                for (i, d) in self.documents.iter().enumerate() {
                    if !destination_search_parts(d).contains(&"documents") {
                        problems.push(
                            index("documents", i),
                            "no `documents` directory before the file name or first wildcard, so \
                             dolma cannot derive the attributes destination; set `destination`",
                        );
                    }
                }
            }
        }
        // `multiprocessing.Pool(processes=0)` raises unless debug mode skips the pool.
        if self.processes == 0 && !self.single_process() {
            problems.push("processes", "must be at least 1");
        }
        if self.profile.enable && !PROFILE_SORT_KEYS.contains(&self.profile.sort_key.as_str()) {
            problems.push(
                join("profile", "sort_key"),
                format!(
                    "unknown pstats sort key {:?}; expected one of {}",
                    self.profile.sort_key,
                    PROFILE_SORT_KEYS.join(", ")
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loam_pipeline::config::{from_value_validated, parse_text, ConfigProblem};
    use std::path::Path;

    fn load(text: &str, file: &str) -> Result<TagConfig, Vec<ConfigProblem>> {
        let value = parse_text(text, Some(Path::new(file))).expect("config text parses");
        from_value_validated::<TagConfig>(&value)
    }

    fn paths(problems: &[ConfigProblem]) -> Vec<&str> {
        problems.iter().map(|p| p.path.as_str()).collect()
    }

    /// Structural errors come in the order serde meets them (map keys sorted).
    fn sorted_paths(problems: &[ConfigProblem]) -> Vec<&str> {
        let mut p = paths(problems);
        p.sort_unstable();
        p
    }

    /// dolma's `configs/c4-replication/tagger.yaml` plus every documented key
    /// (`docs/taggers.md`).
    const REALISTIC_YAML: &str = r#"
# dolma tag -c tagger.yaml
documents:
  - s3://ai2-llm/experimental/dcnlp_beta_ai2/v0/documents/*.gz
  - s3://ai2-llm/pretraining-data/sources/c4/v0/documents/train/*.gz

taggers:
  - c4_v2
  - ft_lang_id_en_doc_v2
  - char_length_with_paragraphs_v1

experiment: c4_replication
tagger_modules: []
processes: 8
ignore_existing: false
debug: false
dryrun: false
profile:
  enable: false
  sort_key: cumulative
work_dir:
  input: /tmp/dolma/input
  output: /tmp/dolma/output
"#;

    #[test]
    fn realistic_yaml_parses() {
        let c = load(REALISTIC_YAML, "tagger.yaml").unwrap();
        assert_eq!(c.documents.len(), 2);
        assert_eq!(
            c.taggers,
            [
                "c4_v2",
                "ft_lang_id_en_doc_v2",
                "char_length_with_paragraphs_v1"
            ]
        );
        assert_eq!(c.experiment.as_deref(), Some("c4_replication"));
        assert_eq!(c.processes, 8);
        assert!(c.destination.is_none());
        assert!(!c.profile.enable);
        assert_eq!(c.profile.sort_key, "cumulative");
        assert_eq!(c.profile.lines, 100);
        assert_eq!(c.work_dir.input.as_deref(), Some("/tmp/dolma/input"));
    }

    #[test]
    fn dolma_defaults_apply() {
        let c = load(
            "documents: [data/documents/a.jsonl.gz]\ntaggers: [c4_v2]\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(c.processes, 1);
        assert!(!c.ignore_existing && !c.debug && !c.dryrun);
        assert!(c.tagger_modules.is_empty());
        assert!(c.experiment.is_none() && c.destination.is_none());
        assert!(!c.profile.enable);
        assert_eq!(c.profile.sort_key, "tottime");
        assert_eq!(c.profile.lines, 100);
        assert!(c.profile.output.is_none() && c.profile.steps.is_none());
        assert!(c.work_dir.input.is_none() && c.work_dir.output.is_none());
        // an empty file is an empty mapping: every default, but no documents nor taggers
        let errs = load("", "t.yaml").unwrap_err();
        assert_eq!(paths(&errs), ["documents", "taggers"], "{errs:?}");
    }

    #[test]
    fn json_shape_parses() {
        let c = load(
            r#"{"documents": ["s3://b/x/documents/*.gz"], "taggers": ["pii_regex_v1"],
                "destination": ["s3://b/x/attributes/pii"], "experiment": null,
                "processes": 4, "profile": {"enable": true, "output": "prof.txt", "steps": 10}}"#,
            "t.json",
        )
        .unwrap();
        assert_eq!(
            c.destination.as_deref(),
            Some(&["s3://b/x/attributes/pii".to_string()][..])
        );
        assert!(c.experiment.is_none());
        assert!(c.profile.enable && c.single_process());
        assert_eq!(c.profile.steps, Some(10));
    }

    #[test]
    fn omegaconf_scalar_coercion() {
        // PyYAML + OmegaConf accept these; so do we.
        // A number is a (here unknown) tagger name.
        let errs = load("documents: [a/documents/x.gz]\ntaggers: [2023]\n", "t.yaml").unwrap_err();
        assert_eq!(paths(&errs), ["taggers[0]"], "{errs:?}");
        assert!(errs[0].message.contains("`2023`"), "{errs:?}");
        let c = load(
            "documents: [a/documents/x.gz]\ntaggers: [c4_v1]\nprocesses: '1_6'\nignore_existing: 'yes'\ndebug: 0\nexperiment: 1.5e-07\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(c.taggers, ["c4_v1"]);
        assert_eq!(c.processes, 16);
        assert!(c.ignore_existing);
        assert!(!c.debug);
        assert_eq!(c.experiment.as_deref(), Some("1.5e-07"));
        // but not floats for ints, nor lists for strings
        let errs = load(
            "documents: [a/documents/x.gz]\ntaggers: [c4_v2]\nprocesses: 2.5\nexperiment: [a]\n",
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(sorted_paths(&errs), ["experiment", "processes"], "{errs:?}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_path() {
        let errs = load(
            "documents: [a/documents/x.gz]\ntaggers: [c4_v2]\nprofile: {enabel: true}\nskip_on_failure: true\n",
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            ["profile.enabel", "skip_on_failure"],
            "{errs:?}"
        );
        assert!(errs[0].message.contains("unknown field"), "{errs:?}");
    }

    #[test]
    fn wrong_types_are_reported_with_their_path() {
        let errs = load(
            "documents: a/documents/x.gz\ntaggers: [c4_v2, [x]]\nprocesses: many\nwork_dir: {input: [1]}\n",
            "t.yaml",
        )
        .unwrap_err();
        let p = paths(&errs);
        for want in ["documents", "taggers", "processes", "work_dir.input"] {
            assert!(p.contains(&want), "{want} missing from {errs:?}");
        }
    }

    #[test]
    fn semantic_problems_are_reported_together() {
        let errs = load(
            r#"
documents: [s3://bucket/raw/*.gz, data/documents/a.gz]
destination: ["s3://bucket/attributes/*"]
taggers: []
experiment: _______EXPERIMENT_PLACEHOLDER_NAME_______
processes: 0
profile: {enable: false, sort_key: bogus}
"#,
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(
            paths(&errs),
            [
                "taggers",
                "experiment",
                "destination",
                "destination[0]",
                "processes"
            ],
            "{errs:?}"
        );
        // processes 0 is fine in debug/profile mode; a bad sort key only matters when profiling
        let errs = load(
            "documents: [s3://b/raw/*.gz]\ntaggers: [c4_v2]\nprocesses: 0\nprofile: {sort_key: bogus}\n",
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["documents[0]", "processes"], "{errs:?}");
        let errs = load(
            "documents: [s3://b/documents/*.gz]\ntaggers: [c4_v2]\nprocesses: 0\nprofile: {enable: true, sort_key: bogus}\n",
            "t.yaml",
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["profile.sort_key"], "{errs:?}");
    }

    #[test]
    fn destination_derivation_follows_dolma() {
        for ok in [
            "s3://ai2-llm/pretraining-data/sources/c4/v0/documents/train/*.gz",
            "data/documents/a.jsonl.gz",
            "/abs/documents/**/*.json.gz",
            "data/documents/*",
        ] {
            assert!(destination_search_parts(ok).contains(&"documents"), "{ok}");
        }
        for bad in [
            // no glob: the last component is the file name, even when it is a directory
            "data/documents",
            // the `documents` component is at or after the first wildcard
            "data/doc*/a.gz",
            "*/documents/a.gz",
            "s3://bucket/raw/a.gz",
        ] {
            assert!(
                !destination_search_parts(bad).contains(&"documents"),
                "{bad}"
            );
        }
    }

    #[test]
    fn omegaconf_interpolations_resolve_before_the_typed_config() {
        std::env::set_var("LOAM_TEST_TAG_HOME", "/home/u");
        std::env::set_var("LOAM_TEST_TAG_PROCS", "3");
        let raw = parse_text(
            "documents: ['${oc.env:LOAM_TEST_TAG_HOME}/data/documents/*.gz']\ntaggers: [c4_v2]\nprocesses: ${oc.env:LOAM_TEST_TAG_PROCS}\n",
            Some(Path::new("t.yaml")),
        )
        .unwrap();
        let resolved = loam_pipeline::config::dolma::resolve_interpolations(&raw).unwrap();
        let c = from_value_validated::<TagConfig>(&resolved).unwrap();
        assert_eq!(c.documents, ["/home/u/data/documents/*.gz"]);
        // `oc.env` gives a string; the int field converts it, as OmegaConf's typed node does.
        assert_eq!(c.processes, 3);
        let errs = loam_pipeline::config::dolma::resolve_interpolations(
            &parse_text("processes: ${d.procs:}\n", None).unwrap(),
        )
        .unwrap_err();
        assert_eq!(paths(&errs), ["processes"], "{errs:?}");
    }

    #[test]
    fn runtime_keys_are_top_level_fields() {
        let c = load(REALISTIC_YAML, "tagger.yaml").unwrap();
        let v = serde_json::to_value(&c).unwrap();
        for k in TagConfig::runtime_keys() {
            assert!(v.get(k).is_some(), "{k}");
        }
        // round trip through our own serialization
        let back: TagConfig = serde_json::from_value(v).unwrap();
        assert_eq!(back.taggers, c.taggers);
    }
}
