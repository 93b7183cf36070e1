//! Spectral density by stochastic Lanczos quadrature (SLQ; Lin, Saad & Yang 2016; Ghorbani,
//! Krishnan & Xiao 2019), docs/curvature.md "Spectral density".
//!
//! For a unit start vector `v = z/‖z‖` (Rademacher `z`), `m` Lanczos steps give a tridiagonal
//! `T_m = Q Θ Qᵀ`; the Gauss quadrature nodes `θᵢ` and weights `wᵢ = Q₁ᵢ²` satisfy
//! `Σᵢ wᵢ g(θᵢ) = vᵀ g(A) v` exactly for polynomials `g` of degree `≤ 2m − 1`. Since
//! `E[vᵀ g(A) v] = tr g(A) / n`, the average over runs of `Σᵢ wᵢ δ(t − θᵢ)` estimates the
//! spectral density `(1/n) Σⱼ δ(t − λⱼ)`; every run's weights sum to 1.
//!
//! The Lanczos vectors are kept and every new one is reorthogonalized against all previous
//! ones (twice), which prevents the spurious "ghost" copies of converged eigenvalues that
//! plain Lanczos produces in floating point. If the Krylov space becomes invariant
//! (`β` below `1e-12·‖T‖`), the run stops early: the quadrature is then exact for all `g`.

use gdscope_core::Block;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{ensure, Result};
use crate::operator::{apply_checked, LinearOperator};
use crate::random::{rademacher_block, rng};

/// Relative size of `β` below which the Krylov space is treated as invariant.
const BREAKDOWN: f64 = 1e-12;

/// Options of [`spectral_density`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlqOptions {
    /// Independent start vectors (≥ 1). Default 10.
    pub runs: usize,
    /// Lanczos steps per run (≥ 1; capped at the dimension). Default 80.
    pub steps: usize,
    /// Seed of the start vectors. Default 0.
    pub seed: u64,
}

impl Default for SlqOptions {
    fn default() -> Self {
        Self {
            runs: 10,
            steps: 80,
            seed: 0,
        }
    }
}

/// Quadrature nodes and weights of one SLQ run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuadratureRun {
    /// Ritz values `θᵢ` (ascending).
    pub nodes: Vec<f64>,
    /// Weights `wᵢ = Q₁ᵢ²`, summing to 1.
    pub weights: Vec<f64>,
}

/// The result of SLQ: one quadrature rule per run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectralDensity {
    /// One rule per start vector.
    pub runs: Vec<QuadratureRun>,
    /// Operator applications spent.
    pub hvps: usize,
}

/// Runs SLQ on the symmetric operator `op`.
pub fn spectral_density(op: &dyn LinearOperator, opts: &SlqOptions) -> Result<SpectralDensity> {
    ensure(opts.runs >= 1, || {
        "spectral density needs at least 1 run".into()
    })?;
    ensure(opts.steps >= 1, || {
        "spectral density needs at least 1 Lanczos step".into()
    })?;
    let n = op.dim();
    let mut rng = rng(opts.seed);
    let mut hvps = 0;
    let mut runs = Vec::with_capacity(opts.runs);
    for _ in 0..opts.runs {
        let z = rademacher_block(n, 1, &mut rng);
        let (alpha, beta) = lanczos(op, z / (n as f64).sqrt(), opts.steps.min(n), &mut hvps)?;
        runs.push(gauss_quadrature(&alpha, &beta));
    }
    Ok(SpectralDensity { runs, hvps })
}

/// Lanczos with full reorthogonalization from the unit vector `v`: the diagonal `α` and
/// off-diagonal `β` (one shorter) of the tridiagonal matrix.
fn lanczos(
    op: &dyn LinearOperator,
    v: Block,
    steps: usize,
    hvps: &mut usize,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = v.nrows();
    let mut basis = Block::zeros(n, steps);
    basis.set_column(0, &v.column(0));
    let (mut alpha, mut beta) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
    for j in 0..steps {
        let vj = basis.columns(j, 1).clone_owned();
        let mut w = apply_checked(op, &vj, hvps)?;
        alpha.push(vj.column(0).dot(&w.column(0)));
        let used = basis.columns(0, j + 1);
        for _pass in 0..2 {
            w -= used * (used.transpose() * &w);
        }
        let b = w.norm();
        let scale = alpha
            .iter()
            .chain(&beta)
            .fold(0.0_f64, |m, x| m.max(x.abs()));
        if j + 1 == steps || b <= BREAKDOWN * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        beta.push(b);
        basis.set_column(j + 1, &(w.column(0) / b));
    }
    Ok((alpha, beta))
}

/// Gauss quadrature of the tridiagonal `(α, β)`: its eigenvalues and the squared first
/// components of its eigenvectors.
fn gauss_quadrature(alpha: &[f64], beta: &[f64]) -> QuadratureRun {
    let m = alpha.len();
    let t = DMatrix::from_fn(m, m, |i, j| match i.abs_diff(j) {
        0 => alpha[i],
        1 => beta[i.min(j)],
        _ => 0.0,
    });
    let eig = gdscope_core::linalg::sym_eigen(&t);
    QuadratureRun {
        weights: (0..m).map(|i| eig.vectors[(0, i)].powi(2)).collect(),
        nodes: eig.values,
    }
}

impl SpectralDensity {
    /// The estimate `(1/runs) Σ_runs Σᵢ wᵢ θᵢᵖ` of the spectral moment `tr(Aᵖ)/n`
    /// (exact per run for `p ≤ 2·steps − 1` given the start vector).
    pub fn moment(&self, p: i32) -> f64 {
        let total: f64 = self
            .runs
            .iter()
            .map(|r| {
                r.nodes
                    .iter()
                    .zip(&r.weights)
                    .map(|(t, w)| w * t.powi(p))
                    .sum::<f64>()
            })
            .sum();
        total / self.runs.len() as f64
    }

    /// Smallest and largest node over all runs.
    pub fn node_range(&self) -> (f64, f64) {
        let all = self.runs.iter().flat_map(|r| r.nodes.iter().copied());
        all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
    }

    /// `points ≥ 2` evenly spaced values covering the nodes with a margin of `pad` on each side.
    pub fn grid(&self, points: usize, pad: f64) -> Result<Vec<f64>> {
        ensure(points >= 2, || {
            "a density grid needs at least 2 points".into()
        })?;
        ensure(pad.is_finite() && pad >= 0.0, || {
            "grid padding must be finite and non-negative".into()
        })?;
        let (lo, hi) = self.node_range();
        let (lo, hi) = (lo - pad, hi + pad);
        let step = (hi - lo) / (points - 1) as f64;
        Ok((0..points).map(|i| lo + step * i as f64).collect())
    }

    /// The Gaussian-smoothed density `φ(t) = (1/runs) Σ_runs Σᵢ wᵢ 𝒩(t; θᵢ, σ²)` at each grid
    /// point. It is a probability density (it integrates to 1 over ℝ), so values on any grid
    /// covering the nodes with a margin of a few `σ` integrate to 1 up to quadrature error.
    pub fn density_on_grid(&self, grid: &[f64], sigma: f64) -> Result<Vec<f64>> {
        ensure(sigma.is_finite() && sigma > 0.0, || {
            format!("smoothing width sigma must be positive, got {sigma}")
        })?;
        let norm = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt() * self.runs.len() as f64);
        let nodes = DVector::from_iterator(
            self.runs.iter().map(|r| r.nodes.len()).sum(),
            self.runs.iter().flat_map(|r| r.nodes.iter().copied()),
        );
        let weights: Vec<f64> = self
            .runs
            .iter()
            .flat_map(|r| r.weights.iter().copied())
            .collect();
        Ok(grid
            .iter()
            .map(|&t| {
                let s: f64 = nodes
                    .iter()
                    .zip(&weights)
                    .map(|(th, w)| w * (-0.5 * ((t - th) / sigma).powi(2)).exp())
                    .sum();
                s * norm
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::gaussian_block;

    fn test_matrix(n: usize, seed: u64) -> DMatrix<f64> {
        let q = gaussian_block(n, n, &mut rng(seed)).qr().q();
        let d: Vec<f64> = (0..n)
            .map(|i| {
                if i < 3 {
                    30.0 - i as f64
                } else {
                    ((i * 37) % 23) as f64 / 4.0 - 2.0
                }
            })
            .collect();
        let a = &q * DMatrix::from_diagonal(&DVector::from_column_slice(&d)) * q.transpose();
        (&a + a.transpose()) * 0.5
    }

    #[test]
    fn density_integrates_to_one_and_weights_sum_to_one() {
        let a = test_matrix(60, 1);
        let d = spectral_density(
            &a,
            &SlqOptions {
                runs: 4,
                steps: 20,
                seed: 1,
            },
        )
        .unwrap();
        for r in &d.runs {
            assert!((r.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let sigma = 0.3;
        let grid = d.grid(4001, 8.0 * sigma).unwrap();
        let phi = d.density_on_grid(&grid, sigma).unwrap();
        let dx = grid[1] - grid[0];
        let integral: f64 = phi.windows(2).map(|w| 0.5 * (w[0] + w[1]) * dx).sum();
        assert!((integral - 1.0).abs() < 1e-6, "{integral}");
        assert_eq!(d.hvps, 80);
    }

    #[test]
    fn moments_are_exact_quadratic_forms_and_unbiased() {
        let n = 50;
        let a = test_matrix(n, 2);
        let opts = SlqOptions {
            runs: 300,
            steps: 6,
            seed: 3,
        };
        let d = spectral_density(&a, &opts).unwrap();
        // Per run: Σ wθ = vᵀAv and Σ wθ² = vᵀA²v exactly, with the same start vectors.
        let mut rng = rng(opts.seed);
        let (mut m1, mut m2) = (Vec::new(), Vec::new());
        for r in &d.runs {
            let v = rademacher_block(n, 1, &mut rng) / (n as f64).sqrt();
            let av = &a * &v;
            let q1 = v.dot(&av);
            let q2 = av.dot(&av);
            let s1: f64 = r.nodes.iter().zip(&r.weights).map(|(t, w)| w * t).sum();
            let s2: f64 = r.nodes.iter().zip(&r.weights).map(|(t, w)| w * t * t).sum();
            assert!(
                (s1 - q1).abs() < 1e-10 && (s2 - q2).abs() < 1e-9,
                "{s1} {q1} {s2} {q2}"
            );
            m1.push(q1);
            m2.push(q2);
        }
        // Over runs: within 4 standard errors of tr(A)/n and tr(A²)/n.
        for (p, samples, exact) in [
            (1, &m1, a.trace() / n as f64),
            (2, &m2, (&a * &a).trace() / n as f64),
        ] {
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            let var = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>()
                / (samples.len() - 1) as f64;
            let se = (var / samples.len() as f64).sqrt();
            assert!((d.moment(p) - mean).abs() < 1e-9);
            assert!(
                (mean - exact).abs() < 4.0 * se,
                "p={p}: {mean} ± {se} vs {exact}"
            );
        }
    }

    #[test]
    fn full_lanczos_recovers_the_spectrum_without_ghosts() {
        let n = 40;
        let a = test_matrix(n, 4);
        let d = spectral_density(
            &a,
            &SlqOptions {
                runs: 1,
                steps: n,
                seed: 0,
            },
        )
        .unwrap();
        let dense = gdscope_core::linalg::sym_eigen(&a);
        let r = &d.runs[0];
        // Every node is an eigenvalue and the top three (simple) appear exactly once.
        for t in &r.nodes {
            assert!(
                dense.values.iter().any(|l| (l - t).abs() < 1e-8),
                "node {t} is not an eigenvalue"
            );
        }
        for top in [30.0, 29.0, 28.0] {
            assert_eq!(
                r.nodes.iter().filter(|t| (*t - top).abs() < 1e-6).count(),
                1
            );
        }
    }

    #[test]
    fn bad_options_are_errors() {
        let a = test_matrix(5, 0);
        assert!(spectral_density(
            &a,
            &SlqOptions {
                runs: 0,
                ..SlqOptions::default()
            }
        )
        .is_err());
        assert!(spectral_density(
            &a,
            &SlqOptions {
                steps: 0,
                ..SlqOptions::default()
            }
        )
        .is_err());
        let d = spectral_density(&a, &SlqOptions::default()).unwrap();
        assert!(d.density_on_grid(&[0.0], 0.0).is_err());
        assert!(d.grid(1, 0.1).is_err());
    }
}
