//! Resumable runs: a completion marker per output, stamped with the config fingerprint.
//!
//! Markers live in `<root>/.loam/<stage>/<output path relative to root>.json`. A unit is
//! *done* when its marker says `done` with the current fingerprint and its output exists with
//! the recorded size; such units are skipped on a rerun. A marker with another fingerprint,
//! or an output with no marker at all, means the output was made some other way: the run is
//! refused unless `--overwrite`, so old results are never silently mixed with new ones.

use crate::storage::{read_all, write_atomic, Storage, StorageError};
use crate::writer::WrittenShard;
use loam_manifests::FileDigest;
use serde::{Deserialize, Serialize};

/// Why an output cannot be (re)written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Made by a run with another config.
    #[error("{output} was made by a different config (fingerprint {found}, this config is {expected}); rerun with --overwrite to replace it")]
    Conflict {
        /// The output.
        output: String,
        /// This run's fingerprint.
        expected: String,
        /// The fingerprint on disk.
        found: String,
    },
    /// Made by this config from another set of inputs (a stage that decides over all of
    /// them at once, like exact dedup, cannot reuse any of it).
    #[error("{output} was made by this config from a different set of input shards (one was added, removed, or fixed after failing); this stage decides over all shards at once, so rerun with --overwrite to redo it over the current inputs")]
    InputsChanged {
        /// The output.
        output: String,
    },
    /// Exists but carries no marker.
    #[error("{output} already exists and was not made by loam with this config; rerun with --overwrite to replace it")]
    Foreign {
        /// The output.
        output: String,
    },
    /// Two units of one run would write the same file.
    #[error("{output}: two inputs map to this one output (e.g. `a.parquet` and `a.jsonl.gz`, whose attribute files are both `a.jsonl.gz`); rename one")]
    SameOutput {
        /// The output.
        output: String,
    },
    /// A marker that cannot be read.
    #[error("{marker}: unreadable completion marker ({message}); loam writes markers whole, so something else changed it: rerun with --overwrite to remake its output")]
    BadMarker {
        /// The marker file.
        marker: String,
        /// Why.
        message: String,
    },
    /// Storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A completion marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    /// `started` or `done`.
    pub state: String,
    /// Config fingerprint of the run that wrote it.
    pub fingerprint: String,
    /// Records in the output, once done.
    #[serde(default)]
    pub records: u64,
    /// Digest of the output, once done (`None` when the unit legitimately wrote nothing).
    #[serde(default)]
    pub digest: Option<FileDigest>,
    /// Fingerprint of the config alone, when the stage's fingerprint also covers its input
    /// set (see [`RunState::with_config_fingerprint`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<String>,
    /// Stage-specific summary of the unit (counts, input digest), so a skipped unit still
    /// contributes to reports and manifests.
    #[serde(default)]
    pub info: serde_json::Value,
}

/// What to do with one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitStatus {
    /// Needs (re)making.
    Todo,
    /// Already made by this config; the marker says what it holds.
    Done(Marker),
}

/// Completion markers for one stage under one output root.
pub struct RunState<'a> {
    storage: &'a dyn Storage,
    root: String,
    stage: String,
    fingerprint: String,
    overwrite: bool,
    /// Markers beside each output (`<output dir>/.loam/<stage>/<file>.json`) instead of
    /// under one root: dolma's configs name each output's place.
    beside: bool,
    /// The config's own fingerprint, when `fingerprint` also covers the input set.
    config: Option<String>,
}

impl<'a> RunState<'a> {
    /// Markers for `stage` under `root`, for a run with `fingerprint`.
    pub fn new(
        storage: &'a dyn Storage,
        root: &str,
        stage: &str,
        fingerprint: &str,
        overwrite: bool,
    ) -> Self {
        RunState {
            storage,
            root: root.trim_end_matches('/').to_string(),
            stage: stage.to_string(),
            fingerprint: fingerprint.to_string(),
            overwrite,
            beside: false,
            config: None,
        }
    }

    /// Also records `config`, the fingerprint of the config alone, for a stage whose
    /// fingerprint covers its set of inputs too: a refusal can then say that the inputs
    /// changed, not the config.
    pub fn with_config_fingerprint(mut self, config: &str) -> Self {
        self.config = Some(config.to_string());
        self
    }

    /// Markers for `stage` kept beside each output, in `<output dir>/.loam/<stage>/`.
    pub fn beside_outputs(
        storage: &'a dyn Storage,
        stage: &str,
        fingerprint: &str,
        overwrite: bool,
    ) -> Self {
        RunState {
            beside: true,
            ..RunState::new(storage, "", stage, fingerprint, overwrite)
        }
    }

    /// The fingerprint this run stamps.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn marker_path(&self, output: &str) -> String {
        if self.beside {
            let (dir, file) = output.rsplit_once('/').unwrap_or((".", output));
            return format!("{dir}/.loam/{}/{file}.json", self.stage);
        }
        let rel = output
            .strip_prefix(&self.root)
            .map(|r| r.trim_start_matches('/').to_string())
            .unwrap_or_else(|| {
                format!(
                    "abs/{:032x}",
                    xxhash_rust::xxh3::xxh3_128(output.as_bytes())
                )
            });
        format!("{}/.loam/{}/{}.json", self.root, self.stage, rel)
    }

    /// Decides whether `output` must be made, is done, or may not be touched.
    pub fn status(&self, output: &str) -> Result<UnitStatus, StateError> {
        if self.overwrite {
            return Ok(UnitStatus::Todo);
        }
        let marker_path = self.marker_path(output);
        let out_size = self.storage.size(output)?;
        let marker = match self.storage.size(&marker_path)? {
            None => None,
            Some(_) => {
                let bytes = read_all(self.storage, &marker_path)?;
                Some(serde_json::from_slice::<Marker>(&bytes).map_err(|e| {
                    StateError::BadMarker {
                        marker: marker_path.clone(),
                        message: e.to_string(),
                    }
                })?)
            }
        };
        match (marker, out_size) {
            (None, None) => Ok(UnitStatus::Todo),
            (None, Some(_)) => Err(StateError::Foreign {
                output: output.to_string(),
            }),
            // Only claimed, by a run that failed before writing: nothing of it exists to
            // protect, whatever config it had.
            (Some(m), None) if m.state == "started" => Ok(UnitStatus::Todo),
            (Some(m), _)
                if m.fingerprint != self.fingerprint
                    && self.config.is_some()
                    && m.config == self.config =>
            {
                Err(StateError::InputsChanged {
                    output: output.to_string(),
                })
            }
            (Some(m), _) if m.fingerprint != self.fingerprint => Err(StateError::Conflict {
                output: output.to_string(),
                expected: self.fingerprint.clone(),
                found: m.fingerprint,
            }),
            (Some(m), Some(size))
                if m.state == "done" && m.digest.as_ref().is_some_and(|d| d.bytes == size) =>
            {
                Ok(UnitStatus::Done(m))
            }
            (Some(m), None) if m.state == "done" && m.digest.is_none() => Ok(UnitStatus::Done(m)),
            // Ours, but unfinished or changed since: make it again.
            (Some(_), _) => Ok(UnitStatus::Todo),
        }
    }

    /// Claims an output before writing it, so a crash leaves a marker that says "ours".
    pub fn start(&self, output: &str) -> Result<(), StateError> {
        self.write(
            output,
            &Marker {
                state: "started".into(),
                fingerprint: self.fingerprint.clone(),
                records: 0,
                digest: None,
                config: self.config.clone(),
                info: serde_json::Value::Null,
            },
        )
    }

    /// Records a finished unit: its committed output (or `None` when it rightly wrote
    /// nothing) and a summary to replay when the unit is skipped later.
    pub fn done(
        &self,
        output: &str,
        shard: Option<&WrittenShard>,
        info: serde_json::Value,
    ) -> Result<Marker, StateError> {
        let m = Marker {
            state: "done".into(),
            fingerprint: self.fingerprint.clone(),
            records: shard.map_or(0, |s| s.records),
            digest: shard.map(|s| s.digest.clone()),
            config: self.config.clone(),
            info,
        };
        self.write(output, &m)?;
        Ok(m)
    }

    fn write(&self, output: &str, marker: &Marker) -> Result<(), StateError> {
        let path = self.marker_path(output);
        let bytes = serde_json::to_vec(marker).map_err(|e| StateError::BadMarker {
            marker: path.clone(),
            message: e.to_string(),
        })?;
        write_atomic(self.storage, &path, &bytes)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::LocalStorage;

    #[test]
    fn skip_done_refuse_foreign_and_changed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let out = format!("{root}/a/x.jsonl");
        let st = RunState::new(&LocalStorage, root, "tag", "f1", false);
        assert_eq!(st.status(&out).unwrap(), UnitStatus::Todo);
        st.start(&out).unwrap();
        write_atomic(&LocalStorage, &out, b"hello\n").unwrap();
        // Started but not done: redo.
        assert_eq!(st.status(&out).unwrap(), UnitStatus::Todo);
        let shard = WrittenShard {
            path: out.clone(),
            records: 1,
            digest: loam_manifests::digest_bytes(b"hello\n"),
        };
        st.done(&out, Some(&shard), serde_json::Value::Null)
            .unwrap();
        assert!(matches!(st.status(&out).unwrap(), UnitStatus::Done(_)));
        let other = RunState::new(&LocalStorage, root, "tag", "f2", false);
        assert!(matches!(
            other.status(&out),
            Err(StateError::Conflict { .. })
        ));
        // Same config, another input set: said so.
        let st = RunState::new(&LocalStorage, root, "dedupe", "c1+i1", false)
            .with_config_fingerprint("c1");
        let out2 = format!("{root}/a/z.jsonl");
        st.start(&out2).unwrap();
        // Its output exists (an earlier version of it): something to protect.
        write_atomic(&LocalStorage, &out2, b"earlier\n").unwrap();
        let moved = RunState::new(&LocalStorage, root, "dedupe", "c1+i2", false)
            .with_config_fingerprint("c1");
        assert!(matches!(
            moved.status(&out2),
            Err(StateError::InputsChanged { .. })
        ));
        let changed = RunState::new(&LocalStorage, root, "dedupe", "c2+i1", false)
            .with_config_fingerprint("c2");
        assert!(matches!(
            changed.status(&out2),
            Err(StateError::Conflict { .. })
        ));
        // Only claimed, nothing written: reclaimed whatever config claimed it.
        LocalStorage.delete(&out2).unwrap();
        assert_eq!(changed.status(&out2).unwrap(), UnitStatus::Todo);
        let forced = RunState::new(&LocalStorage, root, "tag", "f2", true);
        assert_eq!(forced.status(&out).unwrap(), UnitStatus::Todo);
        let foreign = format!("{root}/a/y.jsonl");
        write_atomic(&LocalStorage, &foreign, b"x").unwrap();
        assert!(matches!(
            st.status(&foreign),
            Err(StateError::Foreign { .. })
        ));
    }

    /// A failed run leaves only a `started` marker: a rerun with a corrected config
    /// reclaims the unit (nothing was written), but not an output that does exist.
    #[test]
    fn started_marker_of_another_config_is_reclaimed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let out = format!("{root}/a/x.jsonl");
        RunState::new(&LocalStorage, root, "mix", "old", false)
            .start(&out)
            .unwrap();
        let st = RunState::new(&LocalStorage, root, "mix", "new", false);
        assert_eq!(st.status(&out).unwrap(), UnitStatus::Todo);
        write_atomic(&LocalStorage, &out, b"x\n").unwrap();
        assert!(matches!(st.status(&out), Err(StateError::Conflict { .. })));
    }
}
