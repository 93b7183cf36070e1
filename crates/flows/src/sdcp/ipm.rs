//! Infeasible primal–dual interior-point method for the monotone SDCP in `svec` coordinates:
//! Nesterov–Todd scaling (computed as in Todd–Toh–Tütüncü: `X = LLᵀ`, `Y = RRᵀ`,
//! `RᵀL = UΣVᵀ`, `G = LVΣ^{-1/2}`, so `G⁻¹XG⁻ᵀ = GᵀYG = Λ := Σ`) and Mehrotra's
//! predictor–corrector. In the scaled variables `ΔX̃ = G⁻¹ΔXG⁻ᵀ`, `ΔỸ = GᵀΔYG` the
//! linearized, symmetrized complementarity reads `ΔX̃ + ΔỸ = R̃`
//! (`R̃_ij = R_ij/((λ_i+λ_j)/2)`) and `ΔY = BΔX + r_p` (`r_p = Bx + a − y`) becomes
//! `ΔỸ = B̃ΔX̃ + T_Gᵀr_p`, so the Newton system is `(I + B̃)Δx̃ = svec(R̃) − T_Gᵀr_p` with
//! `B̃ = T_GᵀBT_G`: symmetric, with every eigenvalue `≥ 1` whenever `B ⪰ 0`.

use nalgebra::{DMatrix, DVector};

use super::sym::{congruence_matrix, step_to_boundary};
use super::Scaled;
use crate::svec::{smat, svec};

/// Interior-point iterate `(x, y) = (svec X, svec Y)`, both positive definite, resumable.
pub(super) struct Ipm {
    /// `svec(X)`.
    pub x: DVector<f64>,
    y: DVector<f64>,
    k: usize,
    /// Iterations performed so far.
    pub iterations: usize,
    best_merit: f64,
    stalled: usize,
}

/// Fraction of the step to the boundary of the cone that is taken.
const STEP_FRACTION: f64 = 0.98;

/// Below this merit `max(μ, ‖r_p‖)`, iterations that do not halve it count as stalling.
const STALL_CHECK: f64 = 1e-6;

/// `‖X‖_F` of the scaled problem beyond which divergence is examined.
const DIVERGENCE: f64 = 1e9;

impl Ipm {
    /// The start `X = Y = I` (infeasible: `r_p = B svec(I) + â − svec(I)`).
    pub fn new(k: usize) -> Self {
        let x = DVector::from_vec(svec(&DMatrix::identity(k, k)));
        Self {
            y: x.clone(),
            x,
            k,
            iterations: 0,
            best_merit: f64::INFINITY,
            stalled: 0,
        }
    }

    /// Iterates until the duality measure `μ = ⟨X,Y⟩/k` and `‖r_p‖` are both below `stop`,
    /// the iteration stalls (three iterations below `1e-6` that do not halve
    /// `max(μ, ‖r_p‖)`; non-strictly complementary problems can level off), or the total
    /// reaches `max_iters`. Returns a certified recession direction if the iterates diverge
    /// along one (the problem is unbounded).
    pub fn run(&mut self, p: &Scaled<'_>, stop: f64, max_iters: usize) -> Option<DMatrix<f64>> {
        let kf = self.k as f64;
        while self.iterations < max_iters && self.stalled < 3 {
            let (x, y) = (&self.x, &self.y);
            let rp = p.y(x) - y;
            let mu = x.dot(y) / kf;
            let merit = mu.max(rp.norm());
            if merit <= stop {
                break;
            }
            if merit < STALL_CHECK && merit > 0.5 * self.best_merit {
                self.stalled += 1;
            } else {
                self.stalled = 0;
            }
            self.best_merit = self.best_merit.min(merit);
            if x.norm() > DIVERGENCE {
                let direction = smat((x / x.norm()).as_slice());
                if let Some(d) = certify_recession(p, direction) {
                    return Some(d);
                }
            }
            let Some((dx, dy, t)) = newton_direction(p, x, y, &rp, mu, self.k) else {
                self.stalled = 3;
                break;
            };
            self.iterations += 1;
            if t.is_nan() || t <= 1e-12 {
                self.stalled = 3;
                break;
            }
            self.x += &dx * t;
            self.y += &dy * t;
        }
        None
    }

    /// Whether the last [`run`](Self::run) ended by stalling (further iterations are futile).
    pub fn stalled(&self) -> bool {
        self.stalled >= 3
    }
}

/// Mehrotra predictor–corrector direction at `(x, y)` and the step length to take, computed
/// in the NT-scaled space where the system `(I + B̃)Δx̃ = svec(R̃) − T_Gᵀr_p`
/// (`B̃ = T_GᵀBT_G`, `T_G: H ↦ GHGᵀ`) has all eigenvalues `≥ 1`, so its Cholesky factor
/// exists even when `X` and `Y` are nearly singular.
fn newton_direction(
    p: &Scaled<'_>,
    x: &DVector<f64>,
    y: &DVector<f64>,
    rp: &DVector<f64>,
    mu: f64,
    k: usize,
) -> Option<(DVector<f64>, DVector<f64>, f64)> {
    let kf = k as f64;
    let (xm, ym) = (smat(x.as_slice()), smat(y.as_slice()));
    let scaling = NtScaling::new(&xm, &ym)?;
    let t_g = congruence_matrix(&scaling.g);
    let m = x.len();
    let system = (DMatrix::identity(m, m) + t_g.transpose() * p.b * &t_g).cholesky()?;
    let rp_scaled = t_g.transpose() * rp;
    // Returns (ΔX̃, ΔỸ) in the scaled space and (Δx, Δy).
    let solve = |r_tilde: &DMatrix<f64>| {
        let r_vec = DVector::from_vec(svec(r_tilde));
        let dx_s = system.solve(&(&r_vec - &rp_scaled));
        let dy_s = &r_vec - &dx_s;
        let dx = &t_g * &dx_s;
        let dy = p.b * &dx + rp;
        (smat(dx_s.as_slice()), smat(dy_s.as_slice()), dx, dy)
    };
    let lam = &scaling.lambda;

    // Predictor (affine scaling): R = −Λ², so R̃ = −Λ.
    let (dxs_a, dys_a, dx_a, dy_a) = solve(&DMatrix::from_diagonal(&(-lam)));
    let (dxm_a, dym_a) = (smat(dx_a.as_slice()), smat(dy_a.as_slice()));
    let t_a = step_to_boundary(&xm, &dxm_a, 1.0).min(step_to_boundary(&ym, &dym_a, 1.0));
    let mu_a = (x + &dx_a * t_a).dot(&(y + &dy_a * t_a)) / kf;
    let sigma = (mu_a / mu).clamp(0.0, 1.0).powi(3);

    // Corrector: R = σμI − Λ² − sym(ΔX̃_a ΔỸ_a), R̃_ij = R_ij / ((λ_i + λ_j)/2).
    let cross = &dxs_a * &dys_a;
    let r = DMatrix::from_fn(k, k, |i, j| {
        let target = if i == j {
            sigma * mu - lam[i] * lam[i]
        } else {
            0.0
        };
        let corr = 0.5 * (cross[(i, j)] + cross[(j, i)]);
        (target - corr) / (0.5 * (lam[i] + lam[j]))
    });
    let (_, _, dx, dy) = solve(&r);
    let (dxm, dym) = (smat(dx.as_slice()), smat(dy.as_slice()));
    let t_max =
        step_to_boundary(&xm, &dxm, f64::INFINITY).min(step_to_boundary(&ym, &dym, f64::INFINITY));
    Some((dx, dy, (STEP_FRACTION * t_max).min(1.0)))
}

/// The Nesterov–Todd scaling point of `(X, Y)`, both positive definite.
struct NtScaling {
    g: DMatrix<f64>,
    /// Diagonal of the scaled point `Λ = G⁻¹XG⁻ᵀ = GᵀYG`.
    lambda: DVector<f64>,
}

impl NtScaling {
    fn new(x: &DMatrix<f64>, y: &DMatrix<f64>) -> Option<Self> {
        let l = x.clone().cholesky()?.l();
        let r = y.clone().cholesky()?.l();
        let svd = (r.transpose() * &l).svd(false, true);
        let v = svd.v_t?.transpose();
        let s = svd.singular_values;
        if s.iter().any(|&v| v.is_nan() || v <= 0.0) {
            return None;
        }
        let g = &l * &v * DMatrix::from_diagonal(&s.map(|v| 1.0 / v.sqrt()));
        Some(Self { g, lambda: s })
    }
}

/// Returns `D` (unit norm) if `D ⪰ 0` (approximately), `β[D] ≈ 0` and `⟨α, D⟩ < 0`: then the
/// convex program is unbounded below along `D`.
fn certify_recession(p: &Scaled<'_>, direction: DMatrix<f64>) -> Option<DMatrix<f64>> {
    let d = super::sym::psd_part(&direction);
    let norm = d.norm();
    if norm == 0.0 {
        return None;
    }
    let d = d / norm;
    let dv = DVector::from_vec(svec(&d));
    let slope = p.a.dot(&dv);
    let curvature = (p.b * &dv).norm();
    (slope < 0.0 && curvature <= 1e-6 * (-slope)).then_some(d)
}
