//! Gradient-noise controls (`[gradient_noise]`, docs/curvature.md "Noise controls"):
//! full-batch GD plus noise that separates the *size* of minibatch noise from *how* SGD
//! samples it. At step `t` an independent uniformly random batch `B'` of
//! `gradient_noise.batch_size` examples gives the minibatch noise `δ = g_{B'} − g`, whose
//! covariance is that of SGD's gradient noise at that batch size, `Σ_b = Cov_B(g_B)`; the
//! optimizer then steps with `g + ξ`:
//!
//! | kind | ξ | covariance of ξ |
//! |---|---|---|
//! | `minibatch` | `δ` (the step equals an SGD step on the independent batch `B'`) | `Σ_b` |
//! | `diagonal` | `r ⊙ δ`, `r` independent random signs | `diag(Σ_b)` (correlations removed) |
//! | `isotropic` | `‖δ‖ ω`, `ω` uniform on the unit sphere | `(tr Σ_b / d) I` (same trace) |
//!
//! All three have the same norm at every step (`‖ξ‖ = ‖δ‖`); only the direction differs.
//! They are not Gaussian: an exactly Gaussian `ξ` with covariance `Σ_b` would need every
//! per-example gradient at every step. Each draw is seeded by
//! `seeds::derive(seed, GradientNoise, t)`, so a resumed run adds the same noise.

use gdscope_core::linalg::{dot, norm};
use gdscope_core::seeds::{derive, Stream};
use gdscope_core::Objective;
use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::subsets::RandomBatches;

/// Which noise (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// No noise: the optimizer's own gradient.
    None,
    /// `δ = g_{B'} − g` of an independent batch.
    Minibatch,
    /// `δ` with independent random signs per coordinate.
    Diagonal,
    /// `‖δ‖` along a uniformly random direction.
    Isotropic,
}

/// The `[gradient_noise]` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradientNoise {
    /// Which noise is added to the full-batch gradient.
    pub kind: NoiseKind,
    /// Size of the independent batch whose noise is matched.
    pub batch_size: usize,
}

impl Default for GradientNoise {
    fn default() -> Self {
        Self {
            kind: NoiseKind::None,
            batch_size: 32,
        }
    }
}

impl GradientNoise {
    /// Whether noise is added.
    pub fn is_on(&self) -> bool {
        self.kind != NoiseKind::None
    }
}

/// The noise of one process: the independent batches and scratch buffers (rebuilt after a
/// restore; nothing here is state).
#[derive(Debug, Clone)]
pub struct NoiseSource {
    batches: RandomBatches,
    delta: Vec<f64>,
    noisy: Vec<f64>,
}

impl NoiseSource {
    /// A source for `noise` on an objective with `examples` examples.
    pub fn new(noise: &GradientNoise, examples: Option<usize>) -> anyhow::Result<Self> {
        let n = examples.ok_or_else(|| {
            anyhow::anyhow!(
                "gradient_noise needs an objective made of examples (a network); use kind = \"none\""
            )
        })?;
        Ok(Self {
            batches: RandomBatches::new(n, noise.batch_size, "gradient_noise.batch_size")?,
            delta: Vec::new(),
            noisy: Vec::new(),
        })
    }

    /// `g + ξ` at step `t` (module docs), for the full-batch gradient `grad` at `w`.
    pub fn perturb(
        &mut self,
        noise: &GradientNoise,
        seed: u64,
        t: u64,
        obj: &dyn Objective,
        w: &[f64],
        grad: &[f64],
    ) -> &[f64] {
        let n = grad.len();
        if noise.kind == NoiseKind::None {
            self.noisy.clear();
            self.noisy.extend_from_slice(grad);
            return &self.noisy;
        }
        self.delta.resize(n, 0.0);
        self.noisy.resize(n, 0.0);
        self.batches.start(derive(seed, Stream::GradientNoise, t));
        let batch = self.batches.next_batch();
        obj.value_grad_subset(w, batch, &mut self.delta);
        self.delta.iter_mut().zip(grad).for_each(|(d, g)| *d -= g);
        let rng = self.batches.rng();
        match noise.kind {
            NoiseKind::None | NoiseKind::Minibatch => {
                // (None returned above.)
                for ((x, g), d) in self.noisy.iter_mut().zip(grad).zip(&self.delta) {
                    *x = g + d;
                }
            }
            NoiseKind::Diagonal => {
                for ((x, g), d) in self.noisy.iter_mut().zip(grad).zip(&self.delta) {
                    let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
                    *x = g + sign * d;
                }
            }
            NoiseKind::Isotropic => {
                for x in self.noisy.iter_mut() {
                    *x = rng.sample::<f64, _>(StandardNormal);
                }
                let scale = norm(&self.delta) / dot(&self.noisy, &self.noisy).sqrt();
                for (x, g) in self.noisy.iter_mut().zip(grad) {
                    *x = g + scale * *x;
                }
            }
        }
        &self.noisy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::LinearRegression;

    /// Every kind has the norm of the batch's noise; `minibatch` is exactly the independent
    /// batch's gradient; the diagonal kind flips signs coordinate-wise; the draws repeat.
    #[test]
    fn kinds_share_the_noise_norm() {
        let obj = LinearRegression::random(30, 5, 3);
        let w = [0.2, -0.1, 0.4, 0.0, 0.3];
        let mut g = vec![0.0; 5];
        obj.value_grad(&w, &mut g);
        let mut deltas = Vec::new();
        for kind in [
            NoiseKind::Minibatch,
            NoiseKind::Diagonal,
            NoiseKind::Isotropic,
        ] {
            let spec = GradientNoise {
                kind,
                batch_size: 4,
            };
            let mut source = NoiseSource::new(&spec, obj.num_examples()).unwrap();
            let noisy = source.perturb(&spec, 9, 17, &obj, &w, &g).to_vec();
            let xi: Vec<f64> = noisy.iter().zip(&g).map(|(a, b)| a - b).collect();
            deltas.push(xi.clone());
            let again = source.perturb(&spec, 9, 17, &obj, &w, &g).to_vec();
            assert_eq!(noisy, again);
        }
        let n0 = norm(&deltas[0]);
        for d in &deltas[1..] {
            assert!((norm(d) - n0).abs() < 1e-12 * n0);
        }
        for (a, b) in deltas[0].iter().zip(&deltas[1]) {
            assert!((a.abs() - b.abs()).abs() < 1e-15);
        }
        assert!(NoiseSource::new(&GradientNoise::default(), None).is_err());
    }
}
