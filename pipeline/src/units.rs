//! The resumable-unit runner every stage uses: statuses gathered before any work → claim →
//! run (a panic fails only its unit) → atomic commit by the stage → done marker with a typed
//! summary → replay of done units' summaries on a rerun.
//!
//! A stage describes its units by their output paths and gives [`Units::run`] a function
//! that makes one unit; the runner decides what to skip, what this task owns
//! ([`Part`]), records markers and returns every unit's [`Unit`] in unit order, so the
//! caller's summary and manifest are the same whether a unit ran now or in an earlier run.

use crate::executor::Executor;
use crate::runstate::{Marker, RunState, StateError, UnitStatus};
use crate::storage::{Storage, StorageError};
use crate::writer::WrittenShard;
use loam_manifests::FileDigest;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The share of a stage's units one process runs: units `i` with `i % world == rank`.
/// Units are whole shards and deterministic, so any split gives the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// This task's index.
    pub rank: usize,
    /// Number of tasks.
    pub world: usize,
}

impl Default for Part {
    fn default() -> Self {
        Part { rank: 0, world: 1 }
    }
}

impl Part {
    /// Whether unit `i` is this task's.
    pub fn mine(&self, i: usize) -> bool {
        i % self.world.max(1) == self.rank
    }
}

/// Why a stage cannot start.
#[derive(Debug, thiserror::Error)]
pub enum UnitsError {
    /// Existing outputs this run may not replace (a usage problem: exit 2).
    #[error("{}", refusal_message(.0))]
    Refused(Vec<StateError>),
    /// The storage failed while checking (an I/O problem: exit 1).
    #[error("cannot check existing outputs: {0}")]
    Storage(#[from] StorageError),
}

fn refusal_message(errs: &[StateError]) -> String {
    let n = errs.len();
    let mut msg = format!("refusing to write over {n} existing output(s):");
    for e in errs.iter().take(10) {
        msg.push_str(&format!("\n  - {e}"));
    }
    if n > 10 {
        msg.push_str(&format!("\n  … and {} more", n - 10));
    }
    msg
}

/// What a unit made: its committed output (`None` when it rightly wrote nothing) and the
/// summary its marker keeps.
pub struct Made<I> {
    /// The committed output.
    pub output: Option<WrittenShard>,
    /// The unit's summary (counts, input digests, side files).
    pub info: I,
}

/// A unit made in this run: its index and its marker and summary, or why it failed.
pub type Ran<I> = (usize, Result<(Marker, I), String>);

/// One unit after a stage ran.
#[derive(Debug, Clone)]
pub enum Unit<I> {
    /// Done, now (`ran`) or in an earlier run; the marker and its summary.
    Done {
        /// The completion marker (output digest and records).
        marker: Marker,
        /// The typed summary.
        info: I,
        /// Made by this run.
        ran: bool,
    },
    /// Failed in this run; the message names what went wrong.
    Failed(String),
    /// Not run here (another task's, or held back by the caller).
    Skipped,
}

impl<I> Unit<I> {
    /// The summary of a done unit.
    pub fn info(&self) -> Option<&I> {
        match self {
            Unit::Done { info, .. } => Some(info),
            _ => None,
        }
    }
    /// The marker of a done unit.
    pub fn marker(&self) -> Option<&Marker> {
        match self {
            Unit::Done { marker, .. } => Some(marker),
            _ => None,
        }
    }
}

/// A stage's units: their outputs, the markers that say which are done, and the typed
/// summary `I` each done marker holds.
pub struct Units<'a, I> {
    /// One state for every unit, or one per unit (units stamped with different
    /// fingerprints, like a mixer config's streams).
    states: Vec<RunState<'a>>,
    outputs: Vec<String>,
    status: Vec<UnitStatus>,
    infos: Vec<Option<I>>,
}

impl<'a, I: Serialize + DeserializeOwned + Clone + Send + Sync> Units<'a, I> {
    /// Checks every unit before any work, so all conflicts are reported together and nothing
    /// is written when one exists. A done marker whose summary does not parse as `I` (written
    /// by another version) is treated as not done: the unit is made again.
    pub fn check(state: RunState<'a>, outputs: Vec<String>) -> Result<Self, UnitsError> {
        Self::check_each(vec![state], outputs)
    }

    /// [`Units::check`] with one state per unit (`states[i]` for `outputs[i]`).
    pub fn check_each(states: Vec<RunState<'a>>, outputs: Vec<String>) -> Result<Self, UnitsError> {
        let mut sorted: Vec<&String> = outputs.iter().collect();
        sorted.sort_unstable();
        if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
            return Err(UnitsError::Refused(vec![StateError::SameOutput {
                output: w[0].clone(),
            }]));
        }
        let mut status = Vec::with_capacity(outputs.len());
        let mut infos = Vec::with_capacity(outputs.len());
        let mut refused = Vec::new();
        for (i, o) in outputs.iter().enumerate() {
            let state = match states.get(i).or(states.first()) {
                Some(s) if states.len() == 1 || states.len() == outputs.len() => s,
                _ => {
                    return Err(UnitsError::Refused(vec![StateError::BadMarker {
                        marker: o.clone(),
                        message: format!("{} states for {} units", states.len(), outputs.len()),
                    }]))
                }
            };
            match state.status(o) {
                Ok(UnitStatus::Done(m)) => match serde_json::from_value::<I>(m.info.clone()) {
                    Ok(info) => {
                        status.push(UnitStatus::Done(m));
                        infos.push(Some(info));
                    }
                    Err(_) => {
                        status.push(UnitStatus::Todo);
                        infos.push(None);
                    }
                },
                Ok(UnitStatus::Todo) => {
                    status.push(UnitStatus::Todo);
                    infos.push(None);
                }
                // A storage failure is not a refusal: report it as the I/O error it is.
                Err(StateError::Storage(e)) => return Err(UnitsError::Storage(e)),
                Err(e) => refused.push(e),
            }
        }
        if !refused.is_empty() {
            return Err(UnitsError::Refused(refused));
        }
        Ok(Units {
            states,
            outputs,
            status,
            infos,
        })
    }

    fn state(&self, i: usize) -> &RunState<'a> {
        if self.states.len() == 1 {
            &self.states[0]
        } else {
            &self.states[i]
        }
    }

    /// Every unit's output path, in unit order.
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.outputs.len()
    }

    /// Whether there are no units.
    pub fn is_empty(&self) -> bool {
        self.outputs.is_empty()
    }

    /// The marker and summary of unit `i` when it is done.
    pub fn done(&self, i: usize) -> Option<(&Marker, &I)> {
        match (self.status.get(i), self.infos.get(i)) {
            (Some(UnitStatus::Done(m)), Some(Some(info))) => Some((m, info)),
            _ => None,
        }
    }

    /// Marks done units to be made again when `redo(i, marker, info)` says so (a side file
    /// gone, a sampling rate that changed).
    pub fn redo_if(&mut self, mut redo: impl FnMut(usize, &Marker, &I) -> bool) {
        for i in 0..self.status.len() {
            let again = match (&self.status[i], &self.infos[i]) {
                (UnitStatus::Done(m), Some(info)) => redo(i, m, info),
                _ => false,
            };
            if again {
                self.status[i] = UnitStatus::Todo;
                self.infos[i] = None;
            }
        }
    }

    /// Checks the outputs of the done units `part` owns against their markers (size and
    /// SHA-256, re-read in parallel): a unit whose output is missing or changed since its
    /// commit is made again, never trusted. Returns those outputs.
    pub fn verify_outputs(
        &mut self,
        storage: &dyn Storage,
        exec: &Executor,
        part: Part,
    ) -> Vec<String> {
        let check: Vec<usize> = (0..self.status.len())
            .filter(|&i| part.mine(i))
            .filter(|&i| matches!(&self.status[i], UnitStatus::Done(m) if m.digest.is_some()))
            .collect();
        let ok = exec.map(&check, |&i| match &self.status[i] {
            UnitStatus::Done(m) => m
                .digest
                .as_ref()
                .is_none_or(|d| file_matches(storage, &self.outputs[i], d)),
            UnitStatus::Todo => true,
        });
        let mut changed = Vec::new();
        for (&i, ok) in check.iter().zip(ok) {
            if !ok {
                self.status[i] = UnitStatus::Todo;
                self.infos[i] = None;
                changed.push(self.outputs[i].clone());
            }
        }
        changed
    }

    /// Checks the files each done unit read (`read(info)`: path and digest, as its summary
    /// recorded them) against what is there now, in parallel: a unit whose input changed
    /// since (same size or not) is made again, so a rerun never keeps results of bytes it
    /// would no longer read. A summary without digests (`None`) also makes the unit run
    /// again. Returns the changed inputs.
    pub fn verify_inputs(
        &mut self,
        storage: &dyn Storage,
        exec: &Executor,
        read: impl Fn(&I) -> Option<Vec<(String, FileDigest)>> + Sync,
    ) -> Vec<String> {
        let done: Vec<usize> = (0..self.status.len())
            .filter(|&i| self.done(i).is_some())
            .collect();
        // Each (file, digest) is read once, however many units read the file (every unit of
        // a phase that reads all shards' files names the same ones).
        let mut distinct: Vec<(String, FileDigest)> = done
            .iter()
            .filter_map(|&i| read(self.done(i)?.1))
            .flatten()
            .collect();
        distinct.sort_by(|a, b| (&a.0, &a.1.sha256).cmp(&(&b.0, &b.1.sha256)));
        distinct.dedup_by(|a, b| a.0 == b.0 && a.1.sha256 == b.1.sha256 && a.1.bytes == b.1.bytes);
        let ok = exec.map(&distinct, |(p, d)| file_matches(storage, p, d));
        let bad: std::collections::HashSet<(&str, &str)> = distinct
            .iter()
            .zip(&ok)
            .filter(|(_, ok)| !**ok)
            .map(|((p, d), _)| (p.as_str(), d.sha256.as_str()))
            .collect();
        let changed: Vec<Vec<String>> = done
            .iter()
            .map(|&i| -> Vec<String> {
                let Some((_, info)) = self.done(i) else {
                    return Vec::new();
                };
                match read(info) {
                    None => vec![self.outputs[i].clone()],
                    Some(files) => files
                        .into_iter()
                        .filter(|(p, d)| bad.contains(&(p.as_str(), d.sha256.as_str())))
                        .map(|(p, _)| p)
                        .collect(),
                }
            })
            .collect();
        let mut all = Vec::new();
        for (&i, c) in done.iter().zip(changed) {
            if !c.is_empty() {
                self.status[i] = UnitStatus::Todo;
                self.infos[i] = None;
                all.extend(c);
            }
        }
        all
    }

    /// Units not done yet (any task's).
    pub fn pending(&self) -> usize {
        self.status
            .iter()
            .filter(|s| matches!(s, UnitStatus::Todo))
            .count()
    }

    /// Whether every unit is done.
    pub fn all_done(&self) -> bool {
        self.pending() == 0
    }

    /// The units this task must make, in unit order.
    pub fn todo(&self, part: Part) -> Vec<usize> {
        (0..self.status.len())
            .filter(|&i| matches!(self.status[i], UnitStatus::Todo) && part.mine(i))
            .collect()
    }

    /// Claims unit `i` before anything is written, so a crash leaves a marker that says
    /// "ours" and the rerun redoes it.
    pub fn claim(&self, i: usize) -> Result<(), StateError> {
        self.state(i).start(&self.outputs[i])
    }

    /// Records unit `i` as done with what it made.
    pub fn commit(&self, i: usize, made: Made<I>) -> Result<(Marker, I), StateError> {
        let v = serde_json::to_value(&made.info).map_err(|e| StateError::BadMarker {
            marker: self.outputs[i].clone(),
            message: e.to_string(),
        })?;
        let m = self
            .state(i)
            .done(&self.outputs[i], made.output.as_ref(), v)?;
        Ok((m, made.info))
    }

    /// Makes the units `todo` on `exec` (claim → `make` → commit), each in isolation: an
    /// error or a panic fails that unit only. Returns every unit in unit order: done (now
    /// or before), failed, or skipped.
    pub fn run<F>(&self, exec: &Executor, todo: &[usize], make: F) -> Vec<Unit<I>>
    where
        F: Fn(usize) -> Result<Made<I>, String> + Sync + Send,
    {
        self.collect(self.make(exec, todo, make))
    }

    /// [`Units::run`] without the collection: what was made now, for a caller that makes
    /// some units another way too and collects them all at once ([`Units::collect`]).
    pub fn make<F>(&self, exec: &Executor, todo: &[usize], make: F) -> Vec<Ran<I>>
    where
        F: Fn(usize) -> Result<Made<I>, String> + Sync + Send,
    {
        let results = exec.map(todo, |&i| -> Result<(Marker, I), String> {
            self.claim(i).map_err(|e| e.to_string())?;
            let made = contain(|| make(i))?;
            self.commit(i, made).map_err(|e| e.to_string())
        });
        todo.iter().copied().zip(results).collect()
    }

    /// Makes every unit in one call, for a stage whose decisions depend on all its units
    /// (deduplication in canonical order): claims them all first, then commits each result
    /// `make` returns (one per unit, in unit order). An error or a panic in `make` fails
    /// every unit.
    pub fn run_all<F>(&self, make: F) -> Result<Vec<Unit<I>>, StateError>
    where
        F: FnOnce() -> Result<Vec<Result<Made<I>, String>>, String>,
    {
        for i in 0..self.outputs.len() {
            self.claim(i)?;
        }
        let made: Vec<Ran<I>> = match contain(make) {
            Ok(results) if results.len() == self.outputs.len() => results
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    (
                        i,
                        r.and_then(|m| self.commit(i, m).map_err(|e| e.to_string())),
                    )
                })
                .collect(),
            Ok(results) => {
                let e = format!(
                    "internal error: {} results for {} units",
                    results.len(),
                    self.outputs.len()
                );
                (0..self.outputs.len())
                    .map(|i| (i, Err(e.clone())))
                    .collect()
            }
            Err(e) => (0..self.outputs.len())
                .map(|i| (i, Err(e.clone())))
                .collect(),
        };
        Ok(self.collect(made))
    }

    /// Every unit in unit order from the results of the units made now (`ran`) and the
    /// markers of those done before.
    pub fn collect(&self, ran: impl IntoIterator<Item = Ran<I>>) -> Vec<Unit<I>> {
        let mut out: Vec<Unit<I>> = (0..self.status.len())
            .map(|i| match self.done(i) {
                Some((m, info)) => Unit::Done {
                    marker: m.clone(),
                    info: info.clone(),
                    ran: false,
                },
                None => Unit::Skipped,
            })
            .collect();
        for (i, r) in ran {
            if let Some(slot) = out.get_mut(i) {
                *slot = match r {
                    Ok((marker, info)) => Unit::Done {
                        marker,
                        info,
                        ran: true,
                    },
                    Err(e) => Unit::Failed(e),
                };
            }
        }
        out
    }
}

/// Whether `path` holds exactly the bytes `digest` describes (size first, then SHA-256).
pub fn file_matches(storage: &dyn Storage, path: &str, digest: &FileDigest) -> bool {
    if !matches!(storage.size(path), Ok(Some(n)) if n == digest.bytes) {
        return false;
    }
    match storage.open(path) {
        Ok(r) => loam_manifests::digest_reader(std::io::BufReader::new(r))
            .is_ok_and(|d| d.sha256 == digest.sha256),
        Err(_) => false,
    }
}

/// Runs `f`, turning a panic into an error that says so, so that one unit's bug (in a
/// tagger, a jq program, a model binding) fails that unit and not the whole run.
pub fn contain<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            Err(format!(
                "internal error (panicked: {what}); please report it"
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{write_atomic, LocalStorage};
    use serde::Deserialize;

    #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
    struct Info {
        n: u64,
    }

    fn make(out: &str, i: usize) -> Result<Made<Info>, String> {
        if i == 2 {
            panic!("unit {i} broke");
        }
        let bytes = format!("{i}\n");
        write_atomic(&LocalStorage, out, bytes.as_bytes()).map_err(|e| e.to_string())?;
        Ok(Made {
            output: Some(WrittenShard {
                path: out.to_string(),
                records: 1,
                digest: loam_manifests::digest_bytes(bytes.as_bytes()),
            }),
            info: Info { n: i as u64 },
        })
    }

    #[test]
    fn a_panic_fails_its_unit_and_a_rerun_replays_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let outs: Vec<String> = (0..4).map(|i| format!("{root}/o/{i}.txt")).collect();
        let exec = Executor::new(2).unwrap();
        let st = RunState::new(&LocalStorage, root, "t", "fp", false);
        let units = Units::<Info>::check(st, outs.clone()).unwrap();
        let todo = units.todo(Part::default());
        assert_eq!(todo, vec![0, 1, 2, 3]);
        let res = units.run(&exec, &todo, |i| make(&units.outputs()[i], i));
        assert!(matches!(&res[2], Unit::Failed(m) if m.contains("unit 2 broke")));
        assert!(res
            .iter()
            .enumerate()
            .all(|(i, u)| i == 2 || u.info() == Some(&Info { n: i as u64 })));
        // The rerun skips the three done units and replays their summaries.
        let st = RunState::new(&LocalStorage, root, "t", "fp", false);
        let units = Units::<Info>::check(st, outs.clone()).unwrap();
        assert_eq!(units.todo(Part::default()), vec![2]);
        assert_eq!(units.todo(Part { rank: 1, world: 2 }), Vec::<usize>::new());
        let res = units.collect(Vec::new());
        assert!(matches!(&res[1], Unit::Done { ran: false, info, .. } if info.n == 1));
        assert!(matches!(res[2], Unit::Skipped));
        // An output changed in place (same size) or removed is made again, not trusted.
        write_atomic(&LocalStorage, &outs[0], b"9\n").unwrap();
        std::fs::remove_file(&outs[3]).unwrap();
        let st = RunState::new(&LocalStorage, root, "t", "fp", false);
        let mut units = Units::<Info>::check(st, outs).unwrap();
        let changed = units.verify_outputs(&LocalStorage, &exec, Part::default());
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert_eq!(units.todo(Part::default()), vec![0, 2, 3]);
    }

    #[test]
    fn refusals_are_gathered_and_unreadable_summaries_redone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let outs: Vec<String> = (0..3).map(|i| format!("{root}/{i}.txt")).collect();
        for o in &outs[..2] {
            write_atomic(&LocalStorage, o, b"x").unwrap();
        }
        let st = RunState::new(&LocalStorage, root, "t", "fp", false);
        match Units::<Info>::check(st, outs.clone()) {
            Err(UnitsError::Refused(e)) => assert_eq!(e.len(), 2),
            _ => panic!("expected two refusals"),
        }
        // A done marker with a summary of another shape: made again.
        let st = RunState::new(&LocalStorage, root, "t", "fp", false);
        let shard = WrittenShard {
            path: outs[0].clone(),
            records: 1,
            digest: loam_manifests::digest_bytes(b"x"),
        };
        st.done(
            &outs[0],
            Some(&shard),
            serde_json::json!({"n": "not a number"}),
        )
        .unwrap();
        let units = Units::<Info>::check(st, outs[..1].to_vec()).unwrap();
        assert_eq!(units.pending(), 1);
    }
}
