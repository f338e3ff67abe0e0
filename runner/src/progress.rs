//! Progress display, drawn by the front end: the CLI installs a factory of progress bars
//! once ([`set_display`]); without one (a library user, tests) progress is only counted.

use loam_pipeline::executor::Progress;
use std::sync::OnceLock;

/// One stage's progress display.
pub trait StageProgress: Progress + Send {
    /// Removes the display at the stage's end.
    fn finish(&self) {}
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
}

/// The progress of `stage`.
pub fn stage_bar(stage: &str) -> Bar {
    Bar(match DISPLAY.get() {
        Some(d) => d(stage),
        None => Box::new(Quiet),
    })
}
