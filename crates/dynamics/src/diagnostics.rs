//! Dynamics diagnostics along a training trajectory (docs/theory.md §2, "Diagnostics along a
//! trajectory", and §3):
//! - [`UpdateCosine`]: cosine of consecutive updates `cos⟨Δw_t, Δw_{t−1}⟩`, `Δw_t = w_{t+1} − w_t`
//!   (paper eq. 32): → +1 when the iterates settle along a fixed direction, → −1 when they
//!   oscillate (period-2) along a line, as at the edge of stability;
//! - [`Projection`]: `⟨w_t − w_{t0}, u_{t0}⟩` with `u_{t0}` the top Hessian eigenvector at `t0`
//!   (the talk's oscillation plot: a sign-alternating sequence once GD is at the edge of stability).

use gdscope_core::linalg::dot;
use gdscope_core::{Real, Values};
use serde::{Deserialize, Serialize};

/// Remembers the previous update (in the precision of the run) and returns the cosine with
/// the next one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateCosine {
    previous: Option<Stored>,
}

/// An update kept as it came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Stored {
    F64(Vec<f64>),
    F32(Vec<f32>),
}

impl UpdateCosine {
    /// Records `Δw_t` and returns `cos⟨Δw_t, Δw_{t−1}⟩` — `None` for the first update, or
    /// when either update is zero or non-finite.
    pub fn observe(&mut self, update: &[f64]) -> Option<f64> {
        self.observe_values(Values::F64(update))
    }

    /// [`observe`](Self::observe) for an update in either precision (kept in its own; the
    /// products accumulate in `f64`, bit for bit as `observe` for `f64`).
    pub fn observe_values(&mut self, update: Values<'_>) -> Option<f64> {
        let previous = self.previous.as_ref().map(|p| match p {
            Stored::F64(p) => Values::F64(p),
            Stored::F32(p) => Values::F32(p),
        });
        let c = previous.and_then(|p| cosine_of(update, p));
        match (&mut self.previous, update) {
            (Some(Stored::F64(p)), Values::F64(u)) if p.len() == u.len() => p.copy_from_slice(u),
            (Some(Stored::F32(p)), Values::F32(u)) if p.len() == u.len() => p.copy_from_slice(u),
            (slot, Values::F64(u)) => *slot = Some(Stored::F64(u.to_vec())),
            (slot, Values::F32(u)) => *slot = Some(Stored::F32(u.to_vec())),
        }
        c
    }
}

/// [`gdscope_core::linalg::cosine`] for vectors of one precision (the same operations in
/// the same order); `None` for mixed precisions, zero or non-finite vectors.
fn cosine_of(x: Values<'_>, y: Values<'_>) -> Option<f64> {
    let d = x.dot(x)?.sqrt() * y.dot(y)?.sqrt();
    let c = x.dot(y)? / d;
    (d > 0.0 && c.is_finite()).then(|| c.clamp(-1.0, 1.0))
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
        self.value_in(w)
    }

    /// [`value`](Self::value) at weights of either precision (entries widened one by one:
    /// the same bits as widening the vector first).
    pub fn value_at(&self, w: Values<'_>) -> f64 {
        match w {
            Values::F64(w) => self.value_in(w),
            Values::F32(w) => self.value_in(w),
        }
    }

    fn value_in<T: Real>(&self, w: &[T]) -> f64 {
        w.iter()
            .zip(&self.origin)
            .zip(&self.direction)
            .map(|((w, o), u)| (w.as_f64() - o) * u)
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
    /// `f32` weights and updates give what their widened `f64` copies give.
    #[test]
    fn single_precision_readers_agree_with_the_widened_vectors() {
        let w32 = [0.25f32, -1.5, 3.0e-3];
        let wide: Vec<f64> = w32.iter().map(|&v| f64::from(v)).collect();
        let p = Projection::new(0, &[0.1, 0.2, -0.3], &[1.0, -2.0, 0.5]).unwrap();
        assert_eq!(
            p.value_at(Values::F32(&w32)).to_bits(),
            p.value(&wide).to_bits()
        );
        let (mut c32, mut c64) = (UpdateCosine::default(), UpdateCosine::default());
        let u2 = [-0.5f32, 1.0, 0.25];
        let u2_wide: Vec<f64> = u2.iter().map(|&v| f64::from(v)).collect();
        assert_eq!(c32.observe_values(Values::F32(&w32)), None);
        c64.observe(&wide);
        let (a, b) = (c32.observe_values(Values::F32(&u2)), c64.observe(&u2_wide));
        assert!((a.unwrap() - b.unwrap()).abs() < 1e-15, "{a:?} {b:?}");
    }

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
