//! The basin `V_η` of the paper: GD from every start of a 2-D grid, each start classified.
//!
//! Grid: `x_i = a + (b−a)·i/(N−1)`, `y_j = c + (d−c)·j/(N−1)` (NumPy `linspace`), start
//! index `i·N + j` (`meshgrid(..., indexing="ij")` flattened), as a NumPy/JAX version of the
//! same map would lay it out. Each start runs `K` GD steps; the kernel keeps the last
//! iterate above the rounding floor and its predecessor (branch-free selects), so the
//! direction is read as in [`crate::trajectory`] without storing the path.
//!
//! Classes (angles against the eigenvectors at `x*`, tolerance `angle_tol_deg`):
//! - `diverged`: `x_K` not finite or `‖x_K‖ > 1e8` (the run loop's default bound);
//! - `plus_q1` / `minus_q1`: converged (`‖x_K − x*‖ < 1e-8`), fixed mode along `±q1`;
//! - `alternating_qn`: converged, alternating mode along the line of `qn`;
//! - `other`: anything else (not converged, another direction, nothing to read).
//!
//! `converged` counts every start with `‖x_K − x*‖ < 1e-8`, whatever its class.
//! Starts are processed in chunks of [`CHUNK`] in structure-of-arrays form, in parallel.

use std::time::Instant;

use gdscope_core::Objective;
use rayon::prelude::*;
use serde::Serialize;

use crate::trajectory::line_angle_deg;
use crate::{DirectionError, MinimumReport, Tolerances};

/// Number of starts per work item.
pub const CHUNK: usize = 256;

/// The direction of each start is read on every `TRACK_EVERY`-th step (and the last one): at
/// the last such step where `‖x_k − x*‖` is still above the rounding floor. Reading every step
/// would move the reading at most `TRACK_EVERY − 1` steps later but doubled the time of the
/// paper-fig2 map (2.4 s against 1.25 s); `read_at_step` is always the step actually used.
pub const TRACK_EVERY: usize = 4;
/// Largest grid resolution `N` (`N² = 10⁸` starts).
pub const MAX_RESOLUTION: usize = 10_000;
/// A start "converged" when `‖x_K − x*‖` is below this after the last step.
pub const CONVERGED_DISTANCE: f64 = 1e-8;
/// A start "diverged" when `‖x_K‖` exceeds this (or `x_K` is not finite).
pub const DIVERGED_NORM: f64 = 1e8;

/// Gradients of many points at once, coordinates in structure-of-arrays form.
pub trait BatchGradient: Sync {
    /// Per-thread working memory.
    type Scratch: Send;
    /// Number of variables.
    fn dim(&self) -> usize;
    /// Scratch for chunks of up to `chunk` points.
    fn scratch(&self, chunk: usize) -> Self::Scratch;
    /// `xs[i][p]` is coordinate `i` of point `p`; writes `∂f/∂x_i` at point `p` to `grads[i][p]`.
    fn grad_batch(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], scratch: &mut Self::Scratch);
}

/// Any [`Objective`] as a [`BatchGradient`], one point at a time (the portable fallback).
pub struct PointwiseGradient<'a>(pub &'a dyn Objective);

impl BatchGradient for PointwiseGradient<'_> {
    type Scratch = (Vec<f64>, Vec<f64>);
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn scratch(&self, _chunk: usize) -> Self::Scratch {
        (vec![0.0; self.0.dim()], vec![0.0; self.0.dim()])
    }
    fn grad_batch(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], (x, g): &mut Self::Scratch) {
        for p in 0..xs[0].len() {
            for (xi, col) in x.iter_mut().zip(xs) {
                *xi = col[p];
            }
            self.0.value_grad(x, g);
            for (col, gi) in grads.iter_mut().zip(g.iter()) {
                col[p] = *gi;
            }
        }
    }
}

/// The grid and the GD settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasinSpec {
    /// `[a, b]` for x.
    pub x_range: [f64; 2],
    /// `[c, d]` for y.
    pub y_range: [f64; 2],
    /// `N`: the grid has `N × N` starts.
    pub resolution: usize,
    /// Learning rate η.
    pub lr: f64,
    /// Number of GD steps `K`.
    pub steps: usize,
}

impl BasinSpec {
    /// Checks ranges (finite, a < b), `1 ≤ N ≤` [`MAX_RESOLUTION`], η > 0.
    pub fn validate(&self) -> Result<(), DirectionError> {
        for (name, r) in [("x range", self.x_range), ("y range", self.y_range)] {
            if !(r[0].is_finite() && r[1].is_finite() && r[0] < r[1]) {
                return Err(DirectionError::Invalid {
                    name,
                    value: format!("{},{}", r[0], r[1]),
                    expected: "two finite numbers a,b with a < b",
                });
            }
        }
        if !(1..=MAX_RESOLUTION).contains(&self.resolution) {
            return Err(DirectionError::Invalid {
                name: "resolution",
                value: self.resolution.to_string(),
                expected: "between 1 and 10000 (at most 10⁸ starts; the outcomes alone take 24 bytes each)",
            });
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(DirectionError::Invalid {
                name: "learning rate",
                value: self.lr.to_string(),
                expected: "a finite number > 0",
            });
        }
        Ok(())
    }

    /// `linspace(lo, hi, N)[i]`.
    fn axis(range: [f64; 2], n: usize, i: usize) -> f64 {
        if n == 1 {
            range[0]
        } else {
            range[0] + (range[1] - range[0]) * (i as f64 / (n - 1) as f64)
        }
    }

    /// Start point number `index` (`i·N + j`).
    pub fn start(&self, index: usize) -> [f64; 2] {
        let n = self.resolution;
        [
            Self::axis(self.x_range, n, index / n),
            Self::axis(self.y_range, n, index % n),
        ]
    }
}

/// Class of one start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BasinClass {
    /// Blew up.
    Diverged,
    /// Converged along `+q1` (fixed).
    PlusQ1,
    /// Converged along `−q1` (fixed).
    MinusQ1,
    /// Converged alternating along `±qn`.
    AlternatingQn,
    /// Anything else.
    Other,
}

impl BasinClass {
    /// All classes, in the order of [`BasinClass::code`].
    pub const ALL: [BasinClass; 5] = [
        Self::Diverged,
        Self::PlusQ1,
        Self::MinusQ1,
        Self::AlternatingQn,
        Self::Other,
    ];

    /// Small integer code (index into [`BasinClass::ALL`]).
    pub fn code(self) -> usize {
        self as usize
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Diverged => "diverged",
            Self::PlusQ1 => "plus_q1",
            Self::MinusQ1 => "minus_q1",
            Self::AlternatingQn => "alternating_qn",
            Self::Other => "other",
        }
    }

    /// A short description for figure legends.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Diverged => "diverged",
            Self::PlusQ1 => "fixed along +q1",
            Self::MinusQ1 => "fixed along −q1",
            Self::AlternatingQn => "alternating along ±qn",
            Self::Other => "other (not converged, other direction)",
        }
    }
}

crate::display_as_str!(BasinClass);

/// Outcome of one start.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BasinOutcome {
    /// Class.
    pub class: BasinClass,
    /// `‖x_K − x*‖ < 1e-8`.
    pub converged: bool,
    /// `‖x_K − x*‖` (non-finite for blow-ups).
    pub final_distance: f64,
    /// Step `r` at which the direction was read (0: none).
    pub read_at_step: u32,
}

/// Counts per class plus `converged`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BasinCounts {
    /// Diverged starts.
    pub diverged: usize,
    /// Converged along +q1.
    pub plus_q1: usize,
    /// Converged along −q1.
    pub minus_q1: usize,
    /// Converged alternating along ±qn.
    pub alternating_qn: usize,
    /// Everything else.
    pub other: usize,
    /// Starts with `‖x_K − x*‖ < 1e-8`.
    pub converged: usize,
    /// `N²`.
    pub total: usize,
}

/// A classified grid.
#[derive(Debug, Clone)]
pub struct BasinMap {
    /// The grid.
    pub spec: BasinSpec,
    /// One outcome per start, index `i·N + j`.
    pub outcomes: Vec<BasinOutcome>,
    /// Counts.
    pub counts: BasinCounts,
    /// Wall time of the GD runs, seconds.
    pub elapsed_s: f64,
}

/// What the classification compares against.
struct Target {
    x_star: [f64; 2],
    q1: [f64; 2],
    qn: [f64; 2],
    floor2: f64,
    angle_tol_deg: f64,
}

/// Runs and classifies the grid in parallel (rayon, chunks of [`CHUNK`] starts).
pub fn basin_map<G: BatchGradient>(
    grad: &G,
    min: &MinimumReport,
    spec: &BasinSpec,
    tol: &Tolerances,
) -> Result<BasinMap, DirectionError> {
    basin_map_with_progress(grad, min, spec, tol, &|_| {})
}

/// [`basin_map`], calling `progress(starts)` from the worker threads as each chunk of
/// `starts` starts is classified (for progress reports; the total is `N²`).
pub fn basin_map_with_progress<G: BatchGradient>(
    grad: &G,
    min: &MinimumReport,
    spec: &BasinSpec,
    tol: &Tolerances,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BasinMap, DirectionError> {
    spec.validate()?;
    if grad.dim() != 2 || min.x.len() != 2 {
        return Err(DirectionError::Dimension {
            what: "basin maps need a 2-variable objective; the objective",
            got: grad.dim(),
            expected: 2,
        });
    }
    let v = |i: usize| [min.eigenvectors[i][0], min.eigenvectors[i][1]];
    let target = Target {
        x_star: [min.x[0], min.x[1]],
        q1: v(0),
        qn: v(1),
        floor2: (tol.read_floor * gdscope_core::linalg::norm(&min.x).max(1.0)).powi(2),
        angle_tol_deg: tol.angle_tol_deg,
    };
    let total = spec.resolution * spec.resolution;
    let mut outcomes = vec![
        BasinOutcome {
            class: BasinClass::Other,
            converged: false,
            final_distance: f64::NAN,
            read_at_step: 0,
        };
        total
    ];
    let t0 = Instant::now();
    outcomes.par_chunks_mut(CHUNK).enumerate().for_each_init(
        || (grad.scratch(CHUNK), ChunkState::new(CHUNK)),
        |(scratch, state), (c, out)| {
            state.run(grad, scratch, spec, &target, c * CHUNK, out);
            progress(out.len());
        },
    );
    let elapsed_s = t0.elapsed().as_secs_f64();
    let mut counts = BasinCounts {
        total,
        ..BasinCounts::default()
    };
    for o in &outcomes {
        match o.class {
            BasinClass::Diverged => counts.diverged += 1,
            BasinClass::PlusQ1 => counts.plus_q1 += 1,
            BasinClass::MinusQ1 => counts.minus_q1 += 1,
            BasinClass::AlternatingQn => counts.alternating_qn += 1,
            BasinClass::Other => counts.other += 1,
        }
        counts.converged += usize::from(o.converged);
    }
    Ok(BasinMap {
        spec: spec.clone(),
        outcomes,
        counts,
        elapsed_s,
    })
}

/// Structure-of-arrays buffers for one chunk of 2-D starts.
struct ChunkState {
    x: [Vec<f64>; 2],
    g: [Vec<f64>; 2],
    prev: [Vec<f64>; 2],
    keep: [Vec<f64>; 2],
    keep_prev: [Vec<f64>; 2],
    keep_step: Vec<u32>,
}

impl ChunkState {
    fn new(n: usize) -> Self {
        let z = || [vec![0.0; n], vec![0.0; n]];
        Self {
            x: z(),
            g: z(),
            prev: z(),
            keep: z(),
            keep_prev: z(),
            keep_step: vec![0; n],
        }
    }

    fn run<G: BatchGradient>(
        &mut self,
        grad: &G,
        scratch: &mut G::Scratch,
        spec: &BasinSpec,
        t: &Target,
        first: usize,
        out: &mut [BasinOutcome],
    ) {
        let m = out.len();
        for p in 0..m {
            let s = spec.start(first + p);
            for (i, &si) in s.iter().enumerate() {
                self.x[i][p] = si;
                self.prev[i][p] = si;
                self.keep[i][p] = si;
                self.keep_prev[i][p] = si;
            }
            self.keep_step[p] = 0;
        }
        self.track(0, m, t);
        let tracked = |k: usize| k % TRACK_EVERY == 0 || k == spec.steps;
        for k in 1..=spec.steps {
            {
                let [x0, x1] = &self.x;
                let [g0, g1] = &mut self.g;
                grad.grad_batch(
                    &[&x0[..m], &x1[..m]],
                    &mut [&mut g0[..m], &mut g1[..m]],
                    scratch,
                );
            }
            self.step(k as u32, m, spec.lr, t, tracked(k), tracked(k + 1));
        }
        for (p, o) in out.iter_mut().enumerate() {
            *o = self.classify(p, t);
        }
    }

    /// Step `k`: `x ← x − η g`; then, on tracked steps, [`track`](Self::track), and before
    /// a tracked step, `prev ← x` (so `x_{k−1}` is at hand). The loops are compiled for AVX2
    /// when the CPU has it (run-time dispatch, as in the expression kernel). FMA is left off
    /// on purpose: `x − η·g` rounds exactly as NumPy/JAX do, so converged masks match theirs.
    fn step(&mut self, k: u32, m: usize, lr: f64, t: &Target, track: bool, save_prev: bool) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 support was just detected on this CPU.
            return unsafe { self.step_avx2(k, m, lr, t, track, save_prev) };
        }
        self.step_portable(k, m, lr, t, track, save_prev);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_avx2(
        &mut self,
        k: u32,
        m: usize,
        lr: f64,
        t: &Target,
        track: bool,
        save_prev: bool,
    ) {
        self.step_portable(k, m, lr, t, track, save_prev);
    }

    #[inline(always)]
    fn step_portable(
        &mut self,
        k: u32,
        m: usize,
        lr: f64,
        t: &Target,
        track: bool,
        save_prev: bool,
    ) {
        for i in 0..2 {
            let (x, g) = (&mut self.x[i][..m], &self.g[i][..m]);
            for (xv, gv) in x.iter_mut().zip(g) {
                *xv -= lr * gv;
            }
        }
        if track {
            self.track(k, m, t);
        }
        if save_prev {
            for i in 0..2 {
                self.prev[i][..m].copy_from_slice(&self.x[i][..m]);
            }
        }
    }

    /// Keeps `x_k` and `x_{k−1}` (from `prev`) where `‖x_k − x*‖ > floor` (branch-free).
    #[inline(always)]
    fn track(&mut self, k: u32, m: usize, t: &Target) {
        let [x0, x1] = &self.x;
        let [p0, p1] = &self.prev;
        let [k0, k1] = &mut self.keep;
        let [kp0, kp1] = &mut self.keep_prev;
        // Equal-length slices let the compiler drop bounds checks and vectorize.
        let (x0, x1, p0, p1) = (&x0[..m], &x1[..m], &p0[..m], &p1[..m]);
        let (k0, k1, kp0, kp1) = (&mut k0[..m], &mut k1[..m], &mut kp0[..m], &mut kp1[..m]);
        let ks = &mut self.keep_step[..m];
        let (s0, s1) = (t.x_star[0], t.x_star[1]);
        for p in 0..m {
            let (a, b) = (x0[p] - s0, x1[p] - s1);
            let above = a * a + b * b > t.floor2;
            k0[p] = if above { x0[p] } else { k0[p] };
            k1[p] = if above { x1[p] } else { k1[p] };
            kp0[p] = if above { p0[p] } else { kp0[p] };
            kp1[p] = if above { p1[p] } else { kp1[p] };
            ks[p] = if above { k } else { ks[p] };
        }
    }

    fn classify(&self, p: usize, t: &Target) -> BasinOutcome {
        let xk = [self.x[0][p], self.x[1][p]];
        let d = (xk[0] - t.x_star[0]).hypot(xk[1] - t.x_star[1]);
        let r = self.keep_step[p];
        let mut o = BasinOutcome {
            class: BasinClass::Other,
            converged: d < CONVERGED_DISTANCE,
            final_distance: d,
            read_at_step: r,
        };
        if !(xk[0].is_finite() && xk[1].is_finite()) || xk[0].hypot(xk[1]) > DIVERGED_NORM {
            o.class = BasinClass::Diverged;
            return o;
        }
        if !o.converged || r == 0 {
            return o;
        }
        let e = [self.keep[0][p] - t.x_star[0], self.keep[1][p] - t.x_star[1]];
        let e1 = [
            self.keep_prev[0][p] - t.x_star[0],
            self.keep_prev[1][p] - t.x_star[1],
        ];
        let s = e[0] * e1[0] + e[1] * e1[1];
        let within = |q: &[f64; 2]| line_angle_deg(&e, q).is_some_and(|a| a <= t.angle_tol_deg);
        if s > 0.0 && within(&t.q1) {
            let c = e[0] * t.q1[0] + e[1] * t.q1[1];
            o.class = if c > 0.0 {
                BasinClass::PlusQ1
            } else {
                BasinClass::MinusQ1
            };
        } else if s < 0.0 && within(&t.qn) {
            o.class = BasinClass::AlternatingQn;
        }
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examine_point;
    use crate::test_objectives::Fig2;

    #[test]
    fn class_names_match_the_json() {
        for c in BasinClass::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
            assert_eq!(c.to_string(), c.as_str());
        }
    }

    /// Closed-form batch gradient of `f = x² + y²/2 + x²y + x³`.
    struct Fig2Batch;

    impl BatchGradient for Fig2Batch {
        type Scratch = ();
        fn dim(&self) -> usize {
            2
        }
        fn scratch(&self, _chunk: usize) {}
        fn grad_batch(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], _scratch: &mut ()) {
            let (x, y) = (xs[0], xs[1]);
            let (gx, gy) = grads.split_at_mut(1);
            for p in 0..x.len() {
                // Same operation order as `Fig2::value_grad`, so both paths round alike.
                gx[0][p] = 2.0 * x[p] + 2.0 * x[p] * y[p] + 3.0 * x[p] * x[p];
                gy[0][p] = y[p] + x[p] * x[p];
            }
        }
    }

    fn spec(resolution: usize, lr: f64) -> BasinSpec {
        BasinSpec {
            x_range: [-0.5, 0.5],
            y_range: [-0.5, 0.5],
            resolution,
            lr,
            steps: 1000,
        }
    }

    #[test]
    fn grid_matches_numpy_linspace_ij() {
        let s = spec(3, 0.1);
        assert_eq!(s.start(0), [-0.5, -0.5]);
        assert_eq!(s.start(1), [-0.5, 0.0]);
        assert_eq!(s.start(3), [0.0, -0.5]);
        assert_eq!(s.start(8), [0.5, 0.5]);
    }

    #[test]
    fn pointwise_and_batch_agree_and_classes_follow_the_regime() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig2, &[0.0, 0.0], &tol).unwrap();
        let big = basin_map(&Fig2Batch, &min, &spec(40, 0.95), &tol).unwrap();
        let slow = basin_map(&PointwiseGradient(&Fig2), &min, &spec(40, 0.95), &tol).unwrap();
        let key = |m: &BasinMap| {
            m.outcomes
                .iter()
                .map(|o| (o.class, o.converged, o.read_at_step))
                .collect::<Vec<_>>()
        };
        assert!(
            key(&big) == key(&slow),
            "batch and pointwise kernels disagree"
        );
        let c = &big.counts;
        assert_eq!(c.total, 1600);
        assert_eq!(
            c.diverged + c.plus_q1 + c.minus_q1 + c.alternating_qn + c.other,
            1600
        );
        // η = 0.95 is alternating: every converged start oscillates along qn = (1, 0).
        assert!(c.alternating_qn > 0 && c.plus_q1 + c.minus_q1 == 0, "{c:?}");
        assert!(c.diverged > 0);
        let small = basin_map(&Fig2Batch, &min, &spec(20, 0.1), &tol).unwrap();
        let c = &small.counts;
        assert_eq!(c.alternating_qn, 0, "{c:?}");
        assert!(c.plus_q1 > 0 && c.minus_q1 > 0, "{c:?}");
    }

    #[test]
    fn paper_fig2_grid_converged_fraction_matches_the_reference() {
        // Reference (bench_b.py): 80.8% of the 1000×1000 grid converges. At 100×100 the
        // same rule gives a fraction close to it.
        let tol = Tolerances::default();
        let min = examine_point(&Fig2, &[0.0, 0.0], &tol).unwrap();
        let map = basin_map(&Fig2Batch, &min, &spec(100, 0.95), &tol).unwrap();
        let frac = map.counts.converged as f64 / map.counts.total as f64;
        assert!((frac - 0.808).abs() < 0.02, "converged fraction {frac}");
    }

    #[test]
    fn bad_specs_are_errors() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig2, &[0.0, 0.0], &tol).unwrap();
        let mut s = spec(10, 0.1);
        s.x_range = [1.0, 0.0];
        assert!(basin_map(&Fig2Batch, &min, &s, &tol).is_err());
        let mut s = spec(0, 0.1);
        s.resolution = 0;
        assert!(basin_map(&Fig2Batch, &min, &s, &tol).is_err());
    }
}
