//! Checks `loam validate` and the commands that run share, so that a config that validates
//! runs and one that `run` refuses does not validate: attribute names against the signals
//! their taggers write, dolma keys loam does not act on, inputs that match nothing.

use crate::dolma::usage;
use crate::error::Result;
use loam_mixes::config::MixerConfig;
use loam_pipeline::config::{ConfigErrors, ConfigProblem, Problems};
use serde_json::Value;
use std::path::Path;

/// `<experiment>__<tagger>__<signal>` split in three; `None` for other names (dedupe
/// attributes, hand-made ones).
pub(crate) fn split_key(key: &str) -> Option<(&str, &str, &str)> {
    let (experiment, rest) = key.split_once("__")?;
    let (tagger, signal) = rest.split_once("__")?;
    Some((experiment, tagger, signal))
}

/// The problem with an attribute key that names a built-in tagger but not one of its
/// signals (with the closest signal); `None` when the key is fine or cannot be checked
/// (not `<experiment>__<tagger>__<signal>`, a tagger loam does not know, language labels).
pub(crate) fn attribute_problem(key: &str) -> Option<String> {
    let (_, tagger, signal) = split_key(key)?;
    loam_filters::registry::check_signal(tagger, signal)
        .err()
        .map(|e| format!("`{key}`: {e}"))
}

/// Every attribute a dolma mixer config's filters and span replacements read, checked
/// against the signals of its tagger when loam knows the tagger.
pub(crate) fn mix_attribute_problems(cfg: &MixerConfig, problems: &mut Problems) {
    for (field, key) in cfg.attribute_refs() {
        if let Some(m) = attribute_problem(&key) {
            problems.push(field, m);
        }
    }
}

/// [`mix_attribute_problems`] as a usage error naming the file.
pub(crate) fn mix_attributes(path: &Path, cfg: &MixerConfig) -> Result<()> {
    let mut p = Problems::default();
    mix_attribute_problems(cfg, &mut p);
    problems_to_error(path, p)
}

/// A usage error (exit 2) listing `problems`, or `Ok` when there are none.
pub(crate) fn problems_to_error(path: &Path, problems: Problems) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    let problems: Vec<ConfigProblem> = problems.into_vec();
    Err(usage(ConfigErrors {
        file: Some(path.to_path_buf()),
        problems,
    }))
}

/// dolma keys loam accepts but does not act on, and why. `dryrun` is not here: it is
/// honoured.
const IGNORED: &[(&str, &str)] = &[
    ("profile", "loam does not run dolma's Python profiler"),
    (
        "work_dir",
        "loam streams inputs and outputs and needs no scratch directories",
    ),
    (
        "debug",
        "loam always runs on its thread pool (set -j 1 for one thread)",
    ),
    ("is_s3_volume", "loam reads object stores directly"),
];

/// One warning line per dolma key in `raw` that loam accepts but ignores, by name. Keys at
/// their default value (`debug: false`, `processes: 1`) are not reported.
pub(crate) fn ignored_keys(raw: &Value) -> Vec<String> {
    let Some(map) = raw.as_object() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, why) in IGNORED {
        let Some(v) = map.get(*key) else { continue };
        let inert = match *key {
            "debug" | "is_s3_volume" => matches!(v, Value::Bool(false) | Value::Null),
            "profile" => v
                .get("enable")
                .is_none_or(|e| matches!(e, Value::Bool(false) | Value::Null)),
            "work_dir" => v.as_object().is_none_or(|o| o.values().all(Value::is_null)),
            _ => false,
        };
        if !inert {
            out.push(format!("`{key}` is ignored: {why}"));
        }
    }
    out
}

/// Prints [`ignored_keys`] to stderr, one `warning:` line each.
pub(crate) fn warn_ignored(path: &Path, raw: &Value) {
    for w in ignored_keys(raw) {
        eprintln!("warning: {}: {w}", path.display());
    }
}

/// The files the taggers need: models, tokenizers, lists and libraries (given in
/// `tagger_options` or dolma's default names under `$LOAM_MODELS_DIR`) and each classifier's
/// model. A missing one is a usage error naming the tagger, the file and the option.
pub(crate) fn models_present(
    path: &Path,
    taggers: &[String],
    classifiers: &[loam_filters::classifier::ClassifierSpec],
    options: &std::collections::BTreeMap<String, loam_filters::registry::TaggerOptions>,
) -> Result<()> {
    for t in taggers {
        for file in loam_filters::registry::resource_paths(t, options.get(t)) {
            if !file.exists() {
                let e = loam_filters::registry::missing_resource(t, &file);
                return Err(usage(format!("{}: {e}", path.display())));
            }
        }
    }
    for c in classifiers {
        if !Path::new(&c.model).exists() {
            return Err(usage(format!(
                "{}: classifier `{}`: model {} not found",
                path.display(),
                c.name,
                c.model
            )));
        }
    }
    Ok(())
}

/// Says that a dry run (`dryrun: true`) checked the config and found `inputs` input files,
/// and wrote nothing.
pub(crate) fn say_dry_run(path: &Path, inputs: usize) {
    eprintln!(
        "{}: dryrun: true: config checked, {inputs} input file(s) found; nothing written",
        path.display()
    );
}

/// Expands every pattern; one matching nothing is a usage error naming it and the
/// directory paths are relative to.
pub(crate) fn check_inputs(path: &Path, field: &str, patterns: &[String]) -> Result<usize> {
    let first = patterns.first().map_or(".", |s| s.as_str());
    let storage = loam_pipeline::storage::storage_for(first)?;
    let mut n = 0;
    for p in patterns {
        match loam_pipeline::layout::expand(storage, std::slice::from_ref(p)) {
            Ok(v) => n += v.len(),
            Err(e) => {
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|_| ".".into());
                return Err(usage(format!(
                    "{}: {field}: {e} (paths are relative to the working directory, {cwd})",
                    path.display()
                )));
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_split_and_check() {
        assert_eq!(
            split_key("exp__gopher_v1__word_count"),
            Some(("exp", "gopher_v1", "word_count"))
        );
        assert_eq!(split_key("bff_duplicate_spans"), None);
        assert!(attribute_problem("exp__gopher_v1__word_count").is_none());
        let m = attribute_problem("exp__gopher_v1__symbol_to_word_ratios").unwrap();
        assert!(m.contains("symbol_to_word_ratio`?"), "{m}");
        assert!(attribute_problem("exp__my_model__hq").is_none());
    }

    #[test]
    fn ignored_keys_are_named_once_each() {
        let w = ignored_keys(&json!({
            "debug": true, "profile": {"enable": true}, "work_dir": {"input": "/tmp/a"},
            "dryrun": true
        }));
        assert_eq!(w.len(), 3, "{w:?}");
        for k in ["`debug`", "`profile`", "`work_dir`"] {
            assert!(w.iter().any(|l| l.starts_with(k)), "{k}: {w:?}");
        }
        assert!(ignored_keys(&json!({"debug": false, "work_dir": {}})).is_empty());
    }
}
