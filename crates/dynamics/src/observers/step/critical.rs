//! Critical sharpness (Kalra et al. 2026): `critical_sharpness = 2/η_c`, where
//! `η_c = inf{η > 0 : L_B(θ − ηu) > L_B(θ)}` is the smallest learning rate along the
//! executed update direction `u = −Δθ/η` that raises the loss on the step's own examples
//! (the minibatch under SGD, the full set otherwise). Forward passes only: starting from the
//! previous measurement's `η_c` (or `η`), the guess is halved or doubled until the loss
//! crosses `L_B(θ)`, then the bracket `[η_lo, η_hi]` is bisected until
//! `1 − η_lo/η_hi < critical_tol`; `η_c` is its midpoint. `critical_passes` counts the
//! forward passes. On a quadratic `critical_sharpness = uᵀHu/(gᵀu)`, the directional
//! sharpness. A direction along which the loss never rises (within 2⁶⁰ of the start) gives 0;
//! one along which every step raises it (an ascent direction) gives `+∞`.

use gdscope_core::linalg::norm;

use super::value_on;
use crate::observers::{Columns, Memory, Observation, Observer};
use crate::process::scratch;

/// Most halvings or doublings before the search gives up (`η_c` is then 0 or ∞).
const MAX_SCALINGS: usize = 60;
/// The warm start stays within this factor of the learning rate.
const WARM_RANGE: f64 = 1048576.0;

/// Result of [`critical_step`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CriticalStep {
    /// `η_c` (the midpoint of the final bracket; 0 or ∞ in the degenerate cases).
    pub eta: f64,
    /// Evaluations of `φ` spent.
    pub passes: usize,
}

impl CriticalStep {
    /// `2/η_c`.
    pub fn sharpness(&self) -> f64 {
        2.0 / self.eta
    }
}

/// The smallest `s > 0` with `φ(s) > φ₀`, by halving/doubling from `start > 0` and bisection
/// until `1 − lo/hi < tol` (see the module docs). Steps below `min_step` are not tried (they
/// move the point by less than rounding): an ascent direction then gives `η_c = 0`.
pub fn critical_step(
    phi0: f64,
    mut phi: impl FnMut(f64) -> f64,
    start: f64,
    tol: f64,
    min_step: f64,
) -> CriticalStep {
    let mut passes = 0;
    let mut raises = |s: f64| {
        passes += 1;
        phi(s) > phi0
    };
    let (mut lo, mut hi) = if raises(start) {
        let mut hi = start;
        let mut found = None;
        for _ in 0..MAX_SCALINGS {
            if hi / 2.0 < min_step {
                break;
            }
            if !raises(hi / 2.0) {
                found = Some(hi / 2.0);
                break;
            }
            hi /= 2.0;
        }
        match found {
            Some(lo) => (lo, hi),
            None => return CriticalStep { eta: 0.0, passes },
        }
    } else {
        let mut lo = start;
        let mut found = None;
        for _ in 0..MAX_SCALINGS {
            if raises(2.0 * lo) {
                found = Some(2.0 * lo);
                break;
            }
            lo *= 2.0;
        }
        match found {
            Some(hi) => (lo, hi),
            None => {
                return CriticalStep {
                    eta: f64::INFINITY,
                    passes,
                }
            }
        }
    };
    while 1.0 - lo / hi >= tol {
        let mid = 0.5 * (lo + hi);
        if raises(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    CriticalStep {
        eta: 0.5 * (lo + hi),
        passes,
    }
}

pub(crate) struct Critical {
    process: usize,
    every: u64,
    tol: f64,
    sharpness: usize,
    passes: usize,
    /// The previous measurement's `η_c` (the next search starts there; checkpointed).
    last: Option<f64>,
    trial: Vec<f64>,
}

impl Critical {
    pub(crate) fn new(process: usize, every: u64, tol: f64, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            every,
            tol,
            sharpness: cols.add("critical_sharpness"),
            passes: cols.add("critical_passes"),
            last: None,
            trial: Vec::new(),
        }
    }
}

impl Observer for Critical {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, self.every) else {
            return Ok(());
        };
        let Some(update) = p.update() else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        let ctx = out.ctx;
        let lr = ctx.rule.lr_at(p.state().t);
        let w = p.point();
        let trial = scratch(&mut self.trial, w.len());
        // Warm start from the previous η_c, kept within 2^±20 of η.
        let start = self
            .last
            .filter(|e| e.is_finite() && *e > 0.0)
            .map_or(lr, |e| e.clamp(lr / WARM_RANGE, lr * WARM_RANGE));
        // Below this step the trial point moves by less than 1e-10 of the weights.
        let min_step = 1e-10 * norm(w).max(1.0) * lr / norm(update).max(f64::MIN_POSITIVE);
        // θ − s·u = θ + (s/η)·Δθ.
        let phi = |s: f64| {
            let c = s / lr;
            for ((t, w), d) in trial.iter_mut().zip(w).zip(update) {
                *t = w + c * d;
            }
            value_on(ctx.problem.objective, trial, ctx.batch)
        };
        let c = critical_step(p.loss(), phi, start, self.tol, min_step);
        self.last = Some(c.eta);
        out.timings.eigen_s += clock.elapsed().as_secs_f64();
        out.record.set(self.sharpness, c.sharpness());
        out.record.set(self.passes, c.passes as f64);
        Ok(())
    }

    fn memory(&mut self) -> Option<&mut dyn Memory> {
        Some(&mut self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a parabola `φ(s) = φ₀ − a s + ½ b s²` the loss rises past `s* = 2a/b`, whatever the
    /// start; degenerate directions give 0 and ∞.
    #[test]
    fn line_search_on_parabolas() {
        for start in [1e-3, 0.37, 5.0, 300.0] {
            let (a, b) = (1.5, 7.0);
            let c = critical_step(2.0, |s| 2.0 - a * s + 0.5 * b * s * s, start, 1e-12, 0.0);
            assert!((c.sharpness() - b / a).abs() < 1e-10 * b / a, "{c:?}");
            let coarse = critical_step(
                2.0,
                |s| 2.0 - a * s + 0.5 * b * s * s,
                start,
                1.0 / 16.0,
                0.0,
            );
            assert!((coarse.eta / (2.0 * a / b) - 1.0).abs() < 1.0 / 16.0);
        }
        // Ascent direction: every step raises the loss.
        let up = critical_step(0.0, |s| s, 1.0, 0.1, 0.0);
        assert_eq!(up.sharpness(), f64::INFINITY);
        let floored = critical_step(0.0, |s| s, 1.0, 0.1, 1e-3);
        assert_eq!((floored.sharpness(), floored.passes), (f64::INFINITY, 10));
        // Flat or concave direction: the loss never rises.
        let down = critical_step(0.0, |s| -s * s, 1.0, 0.1, 0.0);
        assert_eq!((down.sharpness(), down.passes), (0.0, MAX_SCALINGS + 1));
    }
}
