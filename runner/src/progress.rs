//! Progress display, drawn by the front end: the CLI installs a factory of progress bars
//! once ([`set_display`]); without one (a library user, tests) progress is only counted.
//!
//! A stage's bar counts documents and text bytes as they stream by
//! ([`Progress::advance`]); what the stage will read is known from its listing before work
//! ([`Bar::with_totals`]), and each finished unit reports the stored bytes it read
//! ([`Bar::unit_done`]), so the display can show a fraction done and an ETA.

use loam_pipeline::executor::{Executor, Progress};
use loam_pipeline::storage::Storage;
use std::sync::OnceLock;

/// What a stage will read, known before its work starts; `None` where unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Stored (possibly compressed) bytes of the input files of the units to run.
    pub input_bytes: Option<u64>,
    /// Text bytes the stage will see (known when an earlier stage counted them).
    pub text_bytes: Option<u64>,
    /// Documents the stage will see (known when an earlier stage counted them).
    pub documents: Option<u64>,
}

/// One stage's progress display.
pub trait StageProgress: Progress + Send {
    /// Removes the display at the stage's end.
    fn finish(&self) {}
    /// Sets what the stage will read (before work).
    fn set_totals(&self, _totals: Totals) {}
    /// One unit is finished: it read `input_bytes` stored bytes holding `text_bytes` of text.
    fn unit_done(&self, _input_bytes: u64, _text_bytes: u64) {}
}

/// Makes the display of the stage named by its argument.
pub type Display = fn(&str) -> Box<dyn StageProgress>;

static DISPLAY: OnceLock<Display> = OnceLock::new();

/// Installs the front end's progress display (once per process; later calls are ignored).
pub fn set_display(display: Display) {
    let _ = DISPLAY.set(display);
}

/// Shows nothing.
struct Quiet;

impl Progress for Quiet {
    fn advance(&self, _documents: u64, _bytes: u64) {}
}

impl StageProgress for Quiet {}

/// A stage's progress, shown by the installed display.
pub struct Bar(Box<dyn StageProgress>);

impl Progress for Bar {
    fn advance(&self, documents: u64, bytes: u64) {
        self.0.advance(documents, bytes);
    }
}

impl Bar {
    /// Removes the display.
    pub fn finish_and_clear(&self) {
        self.0.finish();
    }

    /// Sets what the stage will read.
    pub fn with_totals(self, totals: Totals) -> Bar {
        self.0.set_totals(totals);
        self
    }

    /// One unit is finished (see [`StageProgress::unit_done`]).
    pub fn unit_done(&self, input_bytes: u64, text_bytes: u64) {
        self.0.unit_done(input_bytes, text_bytes);
    }
}

/// The progress of `stage`.
pub fn stage_bar(stage: &str) -> Bar {
    Bar(match DISPLAY.get() {
        Some(d) => d(stage),
        None => Box::new(Quiet),
    })
}

/// A stage's bar whose units each read known files: the stored sizes are asked before
/// work, and [`UnitBar::done`] reports a finished unit with them.
pub struct UnitBar {
    bar: Bar,
    /// Stored bytes each unit reads (by unit index; 0 when unknown or not to run).
    sizes: Vec<u64>,
}

impl Progress for UnitBar {
    fn advance(&self, documents: u64, bytes: u64) {
        self.bar.advance(documents, bytes);
    }
}

impl UnitBar {
    /// Unit `i` is finished; it held `text_bytes` of text.
    pub fn done(&self, i: usize, text_bytes: u64) {
        let size = self.sizes.get(i).copied().unwrap_or(0);
        self.bar.unit_done(size, text_bytes);
    }

    /// Removes the display.
    pub fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// The bar of `stage`, whose units in `todo` (of `units`) read the files `files(i)`:
/// their summed stored size is the input total; `known` adds what earlier stages counted.
pub fn unit_bar<'p>(
    stage: &str,
    storage: &dyn Storage,
    exec: &Executor,
    units: usize,
    todo: &[usize],
    files: impl Fn(usize) -> Vec<&'p str>,
    known: Totals,
) -> UnitBar {
    let bar = stage_bar(stage);
    let mut sizes = vec![0; units];
    let mut input = None;
    if DISPLAY.get().is_some() {
        let per_unit: Vec<(usize, Vec<&str>)> = todo.iter().map(|&i| (i, files(i))).collect();
        let found: Vec<Option<u64>> = exec.map(&per_unit, |(_, fs)| {
            fs.iter()
                .map(|f| storage.size(f).ok().flatten())
                .sum::<Option<u64>>()
        });
        input = Some(0u64);
        for ((i, _), n) in per_unit.iter().zip(found) {
            match (n, sizes.get_mut(*i)) {
                (Some(n), Some(s)) => {
                    *s = n;
                    input = input.map(|t| t + n);
                }
                _ => input = None,
            }
        }
    }
    let bar = bar.with_totals(Totals {
        input_bytes: input.filter(|&t| t > 0),
        ..known
    });
    UnitBar { bar, sizes }
}
