//! How entry points report progress without printing (libraries never print): they call a
//! [`Reporter`] at the start of each phase, as units of work finish (from any thread), and
//! at its end. The CLI shows a bar or progress lines; Python and tests pass [`Silent`].

/// Receives progress of a run, phase by phase.
pub trait Reporter: Sync {
    /// A phase begins: `total` units named `unit` (`total` is 0 for a phase without a count,
    /// such as one eigen-solve).
    fn start(&self, label: &str, total: u64, unit: &str);
    /// `n` more units of the current phase are done.
    fn advance(&self, n: u64);
    /// The current phase has ended.
    fn finish(&self);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn start(&self, _: &str, _: u64, _: &str) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Runs `work` as one phase of `reporter` without a count.
pub(crate) fn phase<T>(reporter: &dyn Reporter, label: &str, work: impl FnOnce() -> T) -> T {
    reporter.start(label, 0, "");
    let out = work();
    reporter.finish();
    out
}
