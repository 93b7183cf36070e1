//! Eigenvalue tracking along a trajectory: warm starts from cached eigenvectors and an
//! adaptive number of tracked pairs (docs/curvature.md "Tracking", docs/theory.md §3, §5).

use gdscope_core::Block;
use serde::{Deserialize, Serialize};

use crate::error::{ensure, Result};
use crate::lobpcg::{top_eigenpairs, EigOptions, EigResult};
use crate::operator::LinearOperator;

/// Rule for the number of tracked eigenpairs: `k` grows (one at a time, up to `k_max`) while
/// the k-th largest eigenvalue is above `fraction · threshold`, and shrinks back (never below
/// the initial `k`) while the (k−1)-th is already at or below it. So exactly one tracked
/// eigenvalue sits below the cut, as in the central-flow reference (theory.md §5: track until
/// the smallest is below ~1.5 in effective units, i.e. `fraction = 0.75` of `2/η`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdaptiveK {
    /// Fraction of the stability threshold that counts as "near the edge" (> 0).
    pub fraction: f64,
    /// Upper bound on `k`.
    pub k_max: usize,
}

/// A column-major `rows × cols` block in plain form (serializable by any serde format).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct CachedBlock {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl CachedBlock {
    fn from_block(b: &Block) -> Self {
        Self {
            rows: b.nrows(),
            cols: b.ncols(),
            data: b.as_slice().to_vec(),
        }
    }
    fn to_block(&self) -> Block {
        Block::from_column_slice(self.rows, self.cols, &self.data)
    }
}

/// Tracks the top eigenpairs of a slowly changing operator (the Hessian along training).
///
/// Serializes fully — options, current `k` and the eigenvector cache — so a checkpoint
/// restores exactly the same warm starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigenTracker {
    cache: Option<CachedBlock>,
    /// Solver options; `options.k` is the current number of tracked pairs.
    options: EigOptions,
    /// The initial `k`, the floor for shrinking.
    k_min: usize,
    adaptive: AdaptiveK,
}

impl EigenTracker {
    /// A tracker starting with `options.k` pairs (`1 ≤ k ≤ k_max`, `fraction` finite and > 0).
    pub fn new(options: EigOptions, adaptive: AdaptiveK) -> Result<Self> {
        ensure(options.k >= 1 && options.k <= adaptive.k_max, || {
            format!(
                "tracked k = {} must be between 1 and k_max = {}",
                options.k, adaptive.k_max
            )
        })?;
        ensure(
            adaptive.fraction.is_finite() && adaptive.fraction > 0.0,
            || {
                format!(
                    "adaptive-k fraction must be finite and positive, got {}",
                    adaptive.fraction
                )
            },
        )?;
        Ok(Self {
            cache: None,
            k_min: options.k,
            options,
            adaptive,
        })
    }

    /// The number of pairs the next [`track`](Self::track) starts with.
    pub fn k(&self) -> usize {
        self.options.k
    }

    /// The solver options (with the current `k`).
    pub fn options(&self) -> &EigOptions {
        &self.options
    }

    /// The cached eigenvectors (columns), if any.
    pub fn cached_vectors(&self) -> Option<Block> {
        self.cache.as_ref().map(CachedBlock::to_block)
    }

    /// Forgets the cached eigenvectors (the next solve starts cold).
    pub fn clear_cache(&mut self) {
        self.cache = None;
    }

    /// Solves for the top eigenpairs of `op`, warm-started from the cache, adapting `k` to
    /// `threshold` (the optimizer's stability threshold, e.g. `2/η`; finite and > 0), and
    /// stores the new eigenvectors. `hvps` and `iterations` of the result add up all solves
    /// made while `k` grew. The cache must match `op.dim()` (else call
    /// [`clear_cache`](Self::clear_cache)).
    pub fn track(&mut self, op: &dyn LinearOperator, threshold: f64) -> Result<EigResult> {
        let n = op.dim();
        ensure(threshold.is_finite() && threshold > 0.0, || {
            format!("stability threshold must be finite and positive, got {threshold}")
        })?;
        if let Some(c) = &self.cache {
            ensure(c.rows == n, || {
                format!(
                    "cached eigenvectors have dimension {} but the operator has {n}; clear the cache \
                     when the model or the parameter subset changes",
                    c.rows
                )
            })?;
        }
        ensure(self.k_min <= n, || {
            format!(
                "cannot track {} eigenpairs of a {n}-dimensional operator",
                self.k_min
            )
        })?;
        let cut = self.adaptive.fraction * threshold;
        let k_cap = self.adaptive.k_max.min(n);
        self.options.k = self.options.k.clamp(self.k_min, k_cap);
        let (mut hvps, mut iterations) = (0, 0);
        let mut result = loop {
            let warm = self.cached_vectors();
            let r = top_eigenpairs(op, warm.as_ref(), &self.options)?;
            hvps += r.hvps;
            iterations += r.iterations;
            self.cache = Some(CachedBlock::from_block(&r.vectors));
            if self.options.k < k_cap && r.values[self.options.k - 1] > cut {
                self.options.k += 1;
            } else {
                break r;
            }
        };
        result.hvps = hvps;
        result.iterations = iterations;
        let mut k = self.options.k;
        while k > self.k_min && result.values[k - 2] <= cut {
            k -= 1;
        }
        self.options.k = k;
        self.cache = Some(CachedBlock::from_block(
            &result.vectors.columns(0, k).clone_owned(),
        ));
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::SpectrumOperator;

    fn spectrum(top: &[f64], n: usize) -> Vec<f64> {
        let mut v: Vec<f64> = (0..n - top.len())
            .map(|i| -1.0 + 2.0 * i as f64 / n as f64)
            .collect();
        v.extend_from_slice(top);
        v
    }

    fn tracker(k: usize, k_max: usize) -> EigenTracker {
        let opts = EigOptions {
            k,
            tol: 1e-10,
            ..EigOptions::default()
        };
        EigenTracker::new(
            opts,
            AdaptiveK {
                fraction: 0.75,
                k_max,
            },
        )
        .unwrap()
    }

    #[test]
    fn k_grows_while_eigenvalues_are_near_the_threshold_then_shrinks() {
        // threshold 10, cut 7.5: eigenvalues 12, 11, 9, 8 are above, 5 is the first below.
        let op = SpectrumOperator::new(&spectrum(&[12.0, 11.0, 9.0, 8.0, 5.0], 200), 1).unwrap();
        let mut t = tracker(1, 8);
        let r = t.track(&op, 10.0).unwrap();
        assert_eq!(r.values.len(), 5);
        assert!((r.values[4] - 5.0).abs() < 1e-9 && r.converged);
        assert_eq!(t.k(), 5);
        // Later the curvature drops: k shrinks back to one below the cut.
        let op2 = SpectrumOperator::new(&spectrum(&[12.0, 7.0, 6.0, 5.5, 5.0], 200), 1).unwrap();
        let r2 = t.track(&op2, 10.0).unwrap();
        assert!((r2.values[1] - 7.0).abs() < 1e-9);
        assert_eq!(t.k(), 2);
        assert_eq!(t.cached_vectors().unwrap().ncols(), 2);
    }

    #[test]
    fn k_is_capped_and_warm_tracking_is_cheap() {
        let op = SpectrumOperator::new(&spectrum(&[12.0, 11.0, 9.0, 8.0, 7.9], 300), 2).unwrap();
        let mut t = tracker(2, 3);
        let first = t.track(&op, 10.0).unwrap();
        assert_eq!(t.k(), 3);
        let again = t.track(&op, 10.0).unwrap();
        assert_eq!(again.values.len(), 3);
        assert!(
            again.hvps <= 3,
            "re-solving the same operator warm took {} HVPs",
            again.hvps
        );
        assert!(first.hvps > 10 * again.hvps);
    }

    #[test]
    fn serialization_round_trip_keeps_the_cache() {
        let op = SpectrumOperator::new(&spectrum(&[3.0, 2.0, 1.5], 100), 3).unwrap();
        let mut t = tracker(2, 4);
        t.track(&op, 2.0).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        let mut back: EigenTracker = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.track(&op, 2.0).unwrap(), t.track(&op, 2.0).unwrap());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let opts = EigOptions {
            k: 3,
            ..EigOptions::default()
        };
        assert!(EigenTracker::new(
            opts.clone(),
            AdaptiveK {
                fraction: 0.5,
                k_max: 2
            }
        )
        .is_err());
        assert!(EigenTracker::new(
            opts,
            AdaptiveK {
                fraction: f64::NAN,
                k_max: 5
            }
        )
        .is_err());
        let op = SpectrumOperator::new(&spectrum(&[3.0], 10), 0).unwrap();
        let mut t = tracker(1, 2);
        assert!(t.track(&op, 0.0).is_err());
        t.track(&op, 1.0).unwrap();
        let smaller = SpectrumOperator::new(&spectrum(&[3.0], 8), 0).unwrap();
        assert!(t.track(&smaller, 1.0).is_err());
        t.clear_cache();
        assert!(t.track(&smaller, 1.0).is_ok());
    }
}
