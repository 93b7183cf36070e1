//! Parallelism that fits the size (docs/engine.md §"Threads"), and reductions whose result does
//! not depend on thread scheduling or thread count (docs/engine.md §"Reproducibility").
//!
//! - Elementwise work below [`PAR_MIN_WORK`] element-coefficients runs on the calling thread:
//!   a rayon dispatch costs more than it saves there. Above it the range is cut into at most
//!   one contiguous piece per thread, each at least `PAR_MIN_WORK` large.
//! - [`ordered_sum`] cuts a sum into pieces fixed by the length alone, sums each piece
//!   sequentially and adds the partial sums in order, so the rounding is the same for any
//!   number of threads and any scheduling (rayon's own `sum` combines partial results in the
//!   order tasks finish splitting, which changes the last bit from run to run).

use rayon::prelude::*;
use std::marker::PhantomData;
use std::ops::Range;

/// Fewest element-coefficients per parallel task of an elementwise kernel. Measured on the
/// development machine (docs/PERFORMANCE.md §"Threads"): below ~16k elements the second core
/// does not pay for the dispatch.
pub const PAR_MIN_WORK: usize = 16 * 1024;

/// Worker threads the engine uses (rayon's pool; `RAYON_NUM_THREADS` sets it).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Runs `f` on a worker thread of rayon's pool (the caller waits), so that the parallel work
/// inside it — GEMM tasks, elementwise pieces, `join`s — is scheduled by work stealing among
/// the workers instead of being injected into the pool from outside, one wake-up per call.
///
/// `splits` says whether any part of `f` can run on more than one thread (see
/// [`pass_splits`]); when it cannot, `f` runs on the calling thread: moving it to a worker
/// would cost two thread wake-ups (futex calls, and the workers' spinning while they look for
/// more work) around a few microseconds of arithmetic.
pub fn on_pool<R: Send>(splits: bool, f: impl FnOnce() -> R + Send) -> R {
    if !splits || rayon::current_thread_index().is_some() || threads() == 1 {
        f()
    } else {
        rayon::scope(|_| f())
    }
}

/// Whether a jet pass over `rows · coeffs` stacked rows can reach a parallel kernel: a product
/// of [`crate::matmul::PARALLEL_THRESHOLD`] multiply-adds or an elementwise kernel of
/// `2 · PAR_MIN_WORK` element-coefficients. `widest_product` bounds the multiply-adds per row of
/// any layer (`max in_width · out_width`: exact for a linear layer, an upper bound for the
/// others) and `widest` the elements per row of any layer output.
pub fn pass_splits(rows: usize, coeffs: usize, widest_product: usize, widest: usize) -> bool {
    let stacked = rows.saturating_mul(coeffs);
    threads() > 1
        && (stacked.saturating_mul(widest_product) >= crate::matmul::PARALLEL_THRESHOLD
            || stacked.saturating_mul(widest) >= 2 * PAR_MIN_WORK)
}

/// Number of tasks for `work` units of elementwise work (1 = run inline, no rayon).
pub fn tasks_for(work: usize) -> usize {
    if work < 2 * PAR_MIN_WORK {
        1
    } else {
        rayon::current_num_threads().clamp(1, work / PAR_MIN_WORK)
    }
}

/// Calls `f(range)` for `tasks` contiguous pieces of `0..len` (piece boundaries rounded to
/// multiples of `align`), on the calling thread when `tasks ≤ 1`, else one rayon task each.
pub fn for_each_range(len: usize, tasks: usize, align: usize, f: impl Fn(Range<usize>) + Sync) {
    if tasks <= 1 || len <= align {
        f(0..len);
        return;
    }
    let per = len.div_ceil(tasks).div_ceil(align) * align;
    let pieces = len.div_ceil(per);
    (0..pieces)
        .into_par_iter()
        .for_each(|t| f(t * per..((t + 1) * per).min(len)));
}

/// Most pieces of an [`ordered_sum`] (its partial sums live on the stack).
const SUM_PIECES: usize = 64;
/// Fewest terms per piece of an [`ordered_sum`].
const SUM_MIN_PIECE: usize = 4096;

/// `Σ_{i < len}` of the terms `part(range)` sums, cut into pieces that depend on `len` only:
/// bitwise the same result for every thread count and schedule. Pieces run in parallel when
/// there are several.
pub fn ordered_sum(len: usize, part: impl Fn(Range<usize>) -> f64 + Sync) -> f64 {
    let per = len.div_ceil(SUM_PIECES).max(SUM_MIN_PIECE);
    let pieces = len.div_ceil(per);
    if pieces <= 1 {
        return part(0..len);
    }
    let mut partial = [0.0f64; SUM_PIECES];
    partial[..pieces]
        .par_iter_mut()
        .enumerate()
        .for_each(|(t, s)| *s = part(t * per..((t + 1) * per).min(len)));
    partial[..pieces].iter().sum()
}

/// The coefficient matrices of a jet (`coeffs` blocks of `size` elements), shared between
/// tasks that each write their own disjoint range of elements. This is what lets an
/// elementwise kernel split one jet across threads without building per-task slice lists.
pub struct DisjointCoeffs<'a, T> {
    ptr: *mut T,
    size: usize,
    coeffs: usize,
    _jet: PhantomData<&'a mut [T]>,
}

// SAFETY: the wrapper only hands out slices through `range`, whose contract forbids two live
// overlapping slices; with that, sharing it between threads is sharing `&mut [T]` pieces.
unsafe impl<T: Send> Send for DisjointCoeffs<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for DisjointCoeffs<'_, T> {}

impl<'a, T> DisjointCoeffs<'a, T> {
    /// Splits `data` (`coeffs · size` elements) into its coefficient blocks.
    pub fn new(data: &'a mut [T], coeffs: usize, size: usize) -> Self {
        assert_eq!(data.len(), coeffs * size, "jet buffer and shape disagree");
        Self {
            ptr: data.as_mut_ptr(),
            size,
            coeffs,
            _jet: PhantomData,
        }
    }

    /// Elements `r` of coefficient `m`.
    ///
    /// # Safety
    /// No two slices obtained from the same wrapper may overlap while both are alive: callers
    /// give every task its own element range and take each `(m, range)` once per task.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn range(&self, m: usize, r: Range<usize>) -> &mut [T] {
        assert!(m < self.coeffs && r.start <= r.end && r.end <= self.size);
        // SAFETY: in bounds by the assertion; exclusivity by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(m * self.size + r.start), r.len()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_sum_is_the_same_for_every_thread_count() {
        let terms: Vec<f64> = (0..300_001)
            .map(|i| ((i as f64) * 0.618).sin() * 1e3)
            .collect();
        let sum = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| ordered_sum(terms.len(), |r| terms[r].iter().sum()))
        };
        let one = sum(1);
        for threads in [2, 3, 4, 7] {
            assert_eq!(sum(threads).to_bits(), one.to_bits(), "{threads} threads");
        }
        let naive: f64 = terms.iter().sum();
        assert!((one - naive).abs() < 1e-9 * terms.len() as f64);
    }

    #[test]
    fn ranges_cover_everything_once() {
        for (len, tasks, align) in [(10, 1, 4), (1000, 3, 16), (17, 4, 8), (5, 8, 1)] {
            let hits: Vec<std::sync::atomic::AtomicUsize> =
                (0..len).map(|_| Default::default()).collect();
            for_each_range(len, tasks, align, |r| {
                for i in r {
                    hits[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
            assert!(hits
                .iter()
                .all(|h| h.load(std::sync::atomic::Ordering::Relaxed) == 1));
        }
        assert_eq!(tasks_for(100), 1);
    }
}
