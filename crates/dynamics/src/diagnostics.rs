//! Dynamics diagnostics along a training trajectory (docs/theory.md §2, "Diagnostics along a
//! trajectory", and §3):
//! - [`UpdateCosine`]: cosine of consecutive updates `cos⟨Δw_t, Δw_{t−1}⟩`, `Δw_t = w_{t+1} − w_t`
//!   (paper eq. 32): → +1 when the iterates settle along a fixed direction, → −1 when they
//!   oscillate (period-2) along a line, as at the edge of stability;
//! - [`Projection`]: `⟨w_t − w_{t0}, u_{t0}⟩` with `u_{t0}` the top Hessian eigenvector at `t0`
//!   (the talk's oscillation plot: a sign-alternating sequence once GD is at the edge of stability).

use gdscope_core::linalg::{cosine, dot};
use serde::{Deserialize, Serialize};

/// Remembers the previous update and returns the cosine with the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateCosine {
    previous: Option<Vec<f64>>,
}

impl UpdateCosine {
    /// Records `Δw_t` and returns `cos⟨Δw_t, Δw_{t−1}⟩` — `None` for the first update, or
    /// when either update is zero or non-finite.
    pub fn observe(&mut self, update: &[f64]) -> Option<f64> {
        let c = self.previous.as_deref().and_then(|p| cosine(update, p));
        match &mut self.previous {
            Some(p) => p.copy_from_slice(update),
            None => self.previous = Some(update.to_vec()),
        }
        c
    }
}

/// The reference point `w_{t0}` and unit direction `u_{t0}` of the oscillation plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// Step `t0` at which the reference was taken.
    pub t0: u64,
    origin: Vec<f64>,
    direction: Vec<f64>,
}

impl Projection {
    /// Reference at step `t0`, weights `w_{t0}`, direction `u` (normalized here).
    /// `None` if `u` is zero or non-finite.
    pub fn new(t0: u64, origin: &[f64], u: &[f64]) -> Option<Self> {
        let norm = dot(u, u).sqrt();
        (norm > 0.0 && norm.is_finite()).then(|| Self {
            t0,
            origin: origin.to_vec(),
            direction: u.iter().map(|x| x / norm).collect(),
        })
    }

    /// `⟨w − w_{t0}, u_{t0}⟩`.
    pub fn value(&self, w: &[f64]) -> f64 {
        w.iter()
            .zip(&self.origin)
            .zip(&self.direction)
            .map(|((w, o), u)| (w - o) * u)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdscope_core::objective::DenseQuadratic;
    use gdscope_core::Objective;
    use nalgebra::DMatrix;

    /// GD on `x²/2 + 2y²` (paper Figure 1): η = 0.1 settles along x (cosine → +1),
    /// η = 0.42 oscillates along y (cosine → −1, projection on e_y alternates in sign).
    #[test]
    fn paper_quadratic_cosine_limits() {
        let q = DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::dvector![1.0, 4.0]));
        for (lr, limit) in [(0.1, 1.0), (0.42, -1.0)] {
            let mut w = vec![0.7, -0.4];
            let mut cos = UpdateCosine::default();
            // Reference at the minimum, so the projection is the y-coordinate itself.
            let proj = Projection::new(0, &[0.0, 0.0], &[0.0, 2.0]).unwrap();
            let mut last = (None, w[1]);
            let mut g = vec![0.0; 2];
            for _ in 0..200 {
                q.value_grad(&w, &mut g);
                let update: Vec<f64> = g.iter().map(|gi| -lr * gi).collect();
                w.iter_mut().zip(&update).for_each(|(wi, ui)| *wi += ui);
                let p = proj.value(&w);
                if lr > 0.4 {
                    assert!(p * last.1 < 0.0, "projection must alternate in sign");
                }
                last = (cos.observe(&update), p);
            }
            assert!(
                (last.0.unwrap() - limit).abs() < 1e-6,
                "lr {lr}: {:?}",
                last.0
            );
        }
    }

    #[test]
    fn first_update_and_zero_direction_give_none() {
        let mut c = UpdateCosine::default();
        assert_eq!(c.observe(&[1.0, 0.0]), None);
        assert_eq!(c.observe(&[0.0, 0.0]), None);
        assert!(Projection::new(0, &[0.0], &[0.0]).is_none());
        let p = Projection::new(3, &[1.0, 1.0], &[3.0, 4.0]).unwrap();
        assert!((p.value(&[2.0, 3.0]) - (0.6 + 1.6)).abs() < 1e-15);
    }
}
