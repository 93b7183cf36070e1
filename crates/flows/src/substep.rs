//! One central-flow substep (docs/theory.md §5, docs/central-flows.md "Discretization"): the
//! velocity `(dw/dt, ds/dt)` of the forward-Euler step of size `dt`, with the oscillation
//! covariance `Σ = U_c X U_cᵀ` from the SDCP.
//!
//! With the critical eigenpairs `(λ_i, u_i)`, `λ_i > sdcp_threshold` (`UᵀPU = I`,
//! `HU = PUΛ`), the gradient `g`, and the pair vectors `G̃_q = s_q ∇(u_kᵀHu_l)` (`q = (k ≤ l)`,
//! `s_q` the `svec` scale, [`crate::svec`]), everything is affine in `x = svec(X)`:
//!
//! ```text
//! dw/dt = −P⁻¹g − ½ P⁻¹ G̃ x                       (= −P⁻¹[g + ½ Σ_kl X_kl ∇(u_kᵀHu_l)])
//! ds/dt = f(s, g) + Σ_q x_q s_q ½∇²_g f[a_k, a_l],   a = 2PU   (HU ≈ 2PU, see below)
//! svec Uᵀ(dH/dt)U = G̃ᵀ dw/dt
//! svec Uᵀ(dP/dt)U = (s_q ∂_s(u_kᵀP u_l)[ds/dt])_q
//! A = Uᵀ(2P − H)U = diag(2 − λ),   α = A + dt·dA/dt|_{X=0},   β[X] = dt·(dA/dt − dA/dt|_{X=0})
//! ```
//!
//! For GD this is `α_ij = (2 − λ_i)δ_ij + dt·η⟨∇(u_iᵀHu_j), g⟩` and
//! `β = dt·(η/2)·G̃ᵀG̃`, a Gram matrix (PSD). `X` solves `SDCP(α, β)`.
//!
//! **`HU ≈ 2PU` in the state ODE.** The reference code uses `HU = PUΛ` inside `ds/dt` (and
//! notes that this can make `β` non-symmetric) but `2PU` in its ν prediction; theory.md §5
//! writes the RMSProp flow with `2PU` (`(4ν/η²)⊙diag Σ`). Here `2PU` is used in both: the
//! operator `β` is then symmetric PSD, as the convex-program form of the SDCP requires. The
//! two differ by `(2 − λ_i)/2 ≤ 2.5 %` on critical directions, and only where `X ≠ 0`.

use gdscope_core::optimizer::Flow;
use gdscope_core::{Block, Derivatives, Objective, Request};
use nalgebra::{DMatrix, DVector};

use crate::central::CentralSettings;
use crate::eigen::Eigenpairs;
use crate::error::FlowError;
use crate::sdcp::{solve_sdcp, SdcpSolution, SdcpStatus};
use crate::state::FlowState;
use crate::svec::{pair_scale, pairs, smat, svec_dim};

/// Buffers reused across substeps (the `n × m` ones dominate for networks).
#[derive(Debug, Clone)]
pub struct Scratch {
    derivatives: Derivatives,
    p: Vec<f64>,
    /// Svec-scaled pair vectors `G̃`.
    gt: Block,
    /// `P^{-1/2} G̃`.
    gw: Block,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            derivatives: Derivatives::default(),
            p: Vec::new(),
            gt: Block::zeros(0, 0),
            gw: Block::zeros(0, 0),
        }
    }
}

/// The result of [`central_velocity`].
#[derive(Debug, Clone)]
pub struct Substep {
    /// `L(w)`.
    pub loss: f64,
    /// `∇L(w)`.
    pub grad: Vec<f64>,
    /// `P(s)` (flow units).
    pub preconditioner: Vec<f64>,
    /// Number `k_c` of critical eigenvalues (effective value above the SDCP threshold): the
    /// first `k_c` columns of the eigenpairs.
    pub critical_k: usize,
    /// `H U_c` (`n × k_c`), from the same derivatives call as the gradient.
    pub hu: Block,
    /// `X` (`k_c × k_c`, PSD): `Σ = U_c X U_cᵀ`.
    pub x: DMatrix<f64>,
    /// The SDCP data `α` (`k_c × k_c`) and `β` (`svec` matrix), for inspection.
    pub alpha: DMatrix<f64>,
    /// See [`alpha`](Self::alpha).
    pub beta: DMatrix<f64>,
    /// The SDCP solution (residuals, iterations), `None` when `k_c = 0`.
    pub sdcp: Option<SdcpSolution>,
    /// `dw/dt`.
    pub dw_dt: Vec<f64>,
    /// `db/dt` (state buffers; the counter advances at rate 1).
    pub ds_dt: Vec<f64>,
}

/// The central-flow velocity at `state` for a substep of size `dt`, from the tracked
/// effective eigenpairs `eig` at `state.w` (descending; those above
/// `settings.sdcp_threshold` are critical). One [`Objective::derivatives`] call gives the
/// loss, gradient, `H U_c` and every pair vector. The state is not modified (see
/// [`FlowState::advance`]).
pub fn central_velocity(
    obj: &dyn Objective,
    flow: Flow<'_>,
    state: &FlowState,
    eig: &Eigenpairs,
    dt: f64,
    settings: &CentralSettings,
    scratch: &mut Scratch,
) -> Result<Substep, FlowError> {
    let n = state.w.len();
    let diverged = || FlowError::Diverged {
        t: state.optimizer.t,
    };
    scratch.p.resize(n, 0.0);
    flow.preconditioner(state.optimizer.t, &state.optimizer.buffers, &mut scratch.p)?;
    let p = &scratch.p;
    let kc = eig
        .values
        .iter()
        .take_while(|&&l| l > settings.sdcp_threshold)
        .count();
    let uc = eig.vectors.columns(0, kc).clone_owned();
    let request = Request {
        value_grad: true,
        hvps: kc > 0,
        pairs: kc > 0,
    };
    let d = &mut scratch.derivatives;
    obj.derivatives(&state.w, &uc, request, d);
    if !d.value.is_finite() || !d.grad.iter().all(|v| v.is_finite()) {
        return Err(diverged());
    }
    let g = &d.grad;
    let mut dw_dt: Vec<f64> = g.iter().zip(p).map(|(g, p)| -g / p).collect();
    let buffers = &state.optimizer.buffers;
    let mut ds_dt = vec![0.0; buffers.len()];
    flow.rule().state_derivative(buffers, g, &mut ds_dt);
    let mut out = Substep {
        loss: d.value,
        grad: g.clone(),
        preconditioner: p.clone(),
        critical_k: kc,
        hu: Block::zeros(n, 0),
        x: DMatrix::zeros(0, 0),
        alpha: DMatrix::zeros(0, 0),
        beta: DMatrix::zeros(0, 0),
        sdcp: None,
        dw_dt: Vec::new(),
        ds_dt: Vec::new(),
    };
    if kc == 0 {
        out.dw_dt = dw_dt;
        out.ds_dt = ds_dt;
        return Ok(out);
    }
    if !d.pairs.iter().chain(d.hvps.iter()).all(|v| v.is_finite()) {
        return Err(diverged());
    }

    // Svec-scaled pair vectors G̃ and their P^{-1/2}-weighted copy, so that the weights
    // dH/dt = G̃ᵀ dw/dt contract exactly as the off-diagonal terms of X count twice.
    let m = svec_dim(kc);
    let (gt, gw) = (&mut scratch.gt, &mut scratch.gw);
    if gt.shape() != (n, m) {
        *gt = Block::zeros(n, m);
        *gw = Block::zeros(n, m);
    }
    for (q, (k, l)) in pairs(kc).enumerate() {
        let s = pair_scale(k, l);
        let (src, mut dst, mut wdst) = (d.pairs.column(q), gt.column_mut(q), gw.column_mut(q));
        for r in 0..n {
            dst[r] = s * src[r];
            wdst[r] = dst[r] / p[r].sqrt();
        }
    }
    let (gt, gw) = (&*gt, &*gw);
    let dw0 = DVector::from_column_slice(&dw_dt);
    // dA/dt = 2 dP/dt − dH/dt, split into the part at X = 0 and the part linear in x.
    let mut da0 = -(gt.tr_mul(&dw0));
    let mut da_x = gw.tr_mul(gw) * 0.5;

    // State ODE: ds/dt = ds0 + S x, S_q = s_q ½∇²f[2Pu_k, 2Pu_l]; and dP/dt along it.
    let nb = buffers.len();
    let mut s_x = DMatrix::zeros(nb, m);
    if nb > 0 {
        let a: Vec<Vec<f64>> = (0..kc)
            .map(|k| (0..n).map(|r| 2.0 * p[r] * uc[(r, k)]).collect())
            .collect();
        let mut col = vec![0.0; nb];
        for (q, (k, l)) in pairs(kc).enumerate() {
            flow.rule().state_curvature(buffers, &a[k], &a[l], &mut col);
            let s = pair_scale(k, l);
            s_x.column_mut(q)
                .iter_mut()
                .zip(&col)
                .for_each(|(o, c)| *o = s * c);
        }
    }
    // dP/dt along ds/dt = (1, db/dt): the schedule part (t) even without buffers, and the
    // buffer part, whose X-linear piece is the derivative along (0, S_r), the difference of
    // the form along (1, S_r) and along (1, 0).
    let zero = vec![0.0; nb];
    for (q, (k, l)) in pairs(kc).enumerate() {
        let (uk, ul) = (uc.column(k), uc.column(l));
        let (uk, ul) = (uk.as_slice(), ul.as_slice());
        let s = pair_scale(k, l);
        let (t, b) = (state.optimizer.t, &state.optimizer.buffers);
        let form = |dir: &[f64]| flow.preconditioner_derivative(t, b, p, uk, ul, dir);
        da0[q] += 2.0 * s * form(&ds_dt);
        if nb > 0 {
            let at_zero = form(&zero);
            for r in 0..m {
                // Columns of a column-major matrix are contiguous.
                let dir = &s_x.as_slice()[r * nb..(r + 1) * nb];
                da_x[(q, r)] += 2.0 * s * (form(dir) - at_zero);
            }
        }
    }

    let mut alpha_v = da0 * dt;
    for (q, (k, l)) in pairs(kc).enumerate() {
        if k == l {
            alpha_v[q] += 2.0 - eig.values[k];
        }
    }
    let alpha = smat(alpha_v.as_slice());
    let beta = {
        let b = da_x * dt;
        (&b + b.transpose()) * 0.5
    };
    let sol = solve_sdcp(&alpha, &beta, &settings.sdcp)?;
    if sol.status == SdcpStatus::Unbounded {
        return Err(FlowError::NoCentralFlow {
            t: state.optimizer.t,
        });
    }
    let x_vec = DVector::from_vec(crate::svec::svec(&sol.x));
    let dw_x = gt * &x_vec;
    for (r, v) in dw_dt.iter_mut().enumerate() {
        *v -= 0.5 * dw_x[r] / p[r];
    }
    let ds_x = &s_x * &x_vec;
    ds_dt.iter_mut().zip(ds_x.iter()).for_each(|(v, e)| *v += e);
    out.hu = d.hvps.clone();
    out.x = sol.x.clone();
    out.alpha = alpha;
    out.beta = beta;
    out.sdcp = Some(sol);
    out.dw_dt = dw_dt;
    out.ds_dt = ds_dt;
    Ok(out)
}
