//! Pieces every dolma command's config shares: the `work_dir` section (dolma's
//! `WorkDirConfig`, `python/dolma/cli/shared.py`) and the check for OmegaConf interpolations.

use super::{index, join, omega, Problems};
use serde::{Deserialize, Serialize};

/// Scratch directories (dolma `WorkDirConfig`: Python `input`/`output: Optional[str] = None`;
/// the Rust side requires both). dolma stages `s3://` inputs and outputs there; loam streams
/// from object stores and accepts the section without using it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkDirConfig {
    /// Input scratch directory.
    #[serde(default, deserialize_with = "omega::opt")]
    pub input: Option<String>,
    /// Output scratch directory.
    #[serde(default, deserialize_with = "omega::opt")]
    pub output: Option<String>,
}

/// Reports strings holding an OmegaConf interpolation (`${oc.env:HOME}`, `${d.procs:}`, …).
/// dolma's Python CLI resolves them (`om.resolve`, `python/dolma/cli/__init__.py`); loam does
/// not, and would otherwise take them as literal paths.
pub fn report_interpolations(value: &serde_json::Value, path: &str, problems: &mut Problems) {
    match value {
        serde_json::Value::String(s) => {
            let unescaped = s
                .match_indices("${")
                .any(|(i, _)| i == 0 || s.as_bytes()[i - 1] != b'\\');
            if unescaped {
                problems.push(
                    path,
                    format!(
                        "OmegaConf interpolation in {s:?} is not supported; write the value out"
                    ),
                );
            }
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                report_interpolations(item, &index(path, i), problems);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                report_interpolations(v, &join(path, k), problems);
            }
        }
        _ => {}
    }
}
