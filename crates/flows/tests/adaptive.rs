//! The central flow's optimizer-state path (state ODE beside the weight ODE, `dP/dt` inside
//! `dA/dt`, `HU ≈ 2PU`) on the scalar RMSProp and RMSProp rules of `gdscope-core` (ε = 0, as
//! theory.md §5 writes them).

mod support;

use gdscope_core::optimizer::Rule;
use gdscope_core::rules::{OptimizerConfig, Rmsprop, RuleState, ScalarRmsprop};
use gdscope_core::Objective;
use gdscope_flows::{central_step, CentralCache, CentralSettings, EigenSolver, FlowState};
use support::{assert_k1_closed_form, codim2, substep};

fn scalar_rmsprop(lr: f64, beta2: f64) -> Rule {
    Rule::constant(OptimizerConfig::ScalarRmsprop(ScalarRmsprop(Rmsprop {
        lr,
        beta2,
        eps: 0.0,
    })))
    .unwrap()
}

fn rmsprop(lr: f64, beta2: f64) -> Rule {
    Rule::constant(OptimizerConfig::Rmsprop(Rmsprop {
        lr,
        beta2,
        eps: 0.0,
    }))
    .unwrap()
}

/// `(1−β₂)/β₂`, the rate of the ν ODE.
fn rate(beta2: f64) -> f64 {
    (1.0 - beta2) / beta2
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// A flow state at `w` with the buffers `nu` at `t = 0`.
fn at(w: &[f64], nu: Vec<f64>) -> FlowState {
    FlowState {
        w: w.to_vec(),
        optimizer: RuleState {
            dim: w.len(),
            t: 0.0,
            buffers: nu,
        },
    }
}

/// `P(s)` of `rule` at `state`.
fn preconditioner(rule: &Rule, state: &FlowState) -> Vec<f64> {
    let mut p = vec![0.0; state.w.len()];
    rule.flow()
        .unwrap()
        .preconditioner(state.optimizer.t, &state.optimizer.buffers, &mut p)
        .unwrap();
    p
}

fn minimal() -> gdscope_expr::ExprObjective {
    support::minimal(0.01)
}

#[test]
fn scalar_rmsprop_k1_matches_the_closed_form() {
    // P = p·I, p = √ν/η; u = q/√p, λ = S/p; dν/dt = c(‖g‖² − ν) + 4cpX (a = 2Pu);
    // 2·d(uᵀPu)/dt = (dν/dt)/ν; d(uᵀHu)/dt = ⟨∇S, dw/dt⟩/p, dw/dt = −(g + X∇S/(2p))/p. So
    // α = 2 − λ + dt·[c(‖g‖² − ν)/ν + ⟨∇S, g⟩/p²],  β = dt·[4cp/ν + ‖∇S‖²/(2p³)].
    let obj = minimal();
    let (lr, beta2) = (0.01, 0.99);
    let rms = scalar_rmsprop(lr, beta2);
    let c = rate(beta2);
    let dt = 0.25;
    for (w, lambda) in [
        ([0.02, 6.0], 1.98),
        ([-0.01, 5.0], 2.03),
        ([0.0, 6.5], 1.96),
    ] {
        let e = obj.hessian(&w).symmetric_eigen();
        let i = e.eigenvalues.imax();
        let s = e.eigenvalues[i];
        let q: Vec<f64> = e.eigenvectors.column(i).iter().copied().collect();
        let mut grad_s = vec![0.0; 2];
        obj.third_order(&w, &q, &q, &mut grad_s);
        let mut g = vec![0.0; 2];
        obj.value_grad(&w, &mut g);
        // ν such that the effective sharpness is λ.
        let p = s / lambda;
        let nu = (p * lr).powi(2);
        let state = at(&w, vec![nu]);
        let sub = substep(&obj, rms.flow().unwrap(), &state, dt);
        let alpha = 2.0 - lambda + dt * (c * (dot(&g, &g) - nu) / nu + dot(&grad_s, &g) / (p * p));
        let beta = dt * (4.0 * c * p / nu + dot(&grad_s, &grad_s) / (2.0 * p.powi(3)));
        let x = assert_k1_closed_form(&sub, alpha, beta);
        // The state ODE: dν/dt = c(‖g‖² − ν) + 4cpX.
        let expect = c * (dot(&g, &g) - nu) + 4.0 * c * p * x;
        assert!((sub.ds_dt[0] - expect).abs() < 1e-9 * expect.abs().max(1.0));
    }
}

#[test]
fn rmsprop_substep_predicts_the_derivative_of_the_stability_matrix() {
    // The substep's linear model (α, β, X) says that along its own velocity (dw/dt, dν/dt)
    // the stability matrix A(τ) = Uᵀ(2P(ν(τ)) − H(w(τ)))U (U fixed) changes at the rate
    // (α + β[X] − A(0))/dt. Check it against a central difference of A along that velocity:
    // this exercises the per-coordinate dP/dt, the state curvature with a = 2PU and the
    // off-diagonal couplings (k = 2, non-diagonal X).
    let obj = codim2(0.01);
    let lr = 0.01;
    let rms = rmsprop(lr, 0.9);
    let w = [-0.003, 0.002, 6.7, 6.6, 0.05];
    // ν chosen so that both x-directions are critical (effective eigenvalues 2.015, 1.990).
    let nu = vec![(lr * 3.33).powi(2), (lr * 3.31).powi(2), 4e-6, 2e-6, 3e-6];
    let state = at(&w, nu);
    let p = preconditioner(&rms, &state);
    let mut solver = EigenSolver::new(&CentralSettings::default().eigen, Some(1.5)).unwrap();
    let u = solver
        .solve(&obj, &w, &p)
        .unwrap()
        .vectors
        .columns(0, 2)
        .clone_owned();
    let stability = |s: &FlowState| {
        let p = preconditioner(&rms, s);
        let two_p = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
            5,
            p.iter().map(|v| 2.0 * v),
        ));
        u.transpose() * (two_p - obj.hessian(&s.w)) * &u
    };
    let a0 = stability(&state);
    for dt in [0.25, 1e-2] {
        let sub = substep(&obj, rms.flow().unwrap(), &state, dt);
        assert_eq!(sub.critical_k, 2);
        assert!(sub.x[(0, 1)].abs() > 1e-3 * sub.x.norm());
        let tau = 1e-6;
        let along = |h: f64| {
            let mut s = state.clone();
            s.advance(&sub.dw_dt, &sub.ds_dt, h).unwrap();
            stability(&s)
        };
        let numeric = (along(tau) - along(-tau)) / (2.0 * tau);
        let model = (&sub.sdcp.as_ref().unwrap().y - &a0) / dt;
        let err = (&numeric - &model).norm() / model.norm();
        eprintln!(
            "dt {dt}: relative error of dA/dt {err:.2e} (‖dA/dt‖ = {:.3})",
            model.norm()
        );
        assert!(err < 1e-7, "dt {dt}: {err}");
    }
}

#[test]
fn scalar_rmsprop_step_size_locks_at_two_over_sharpness() {
    // Blog Part II: at the edge of stability the effective step size η/√ν equals 2/S(w).
    // Started in the valley with ν giving an effective sharpness of 1.9, ν decays towards
    // ‖g‖² (smaller), the flow turns critical, and η/√ν then follows 2/S.
    let obj = minimal();
    let (lr, beta2) = (0.01, 0.99);
    let rms = scalar_rmsprop(lr, beta2);
    let w0 = [0.01 / 6.0, 6.0];
    let s0 = obj.hessian(&w0).symmetric_eigen().eigenvalues.max();
    let mut g = vec![0.0; 2];
    obj.value_grad(&w0, &mut g);
    let nu0 = (lr * s0 / 1.9).powi(2);
    assert!(
        nu0 > 2.0 * dot(&g, &g),
        "ν must fall for the sharpness to rise"
    );
    let settings = CentralSettings::default();
    let mut state = at(&w0, vec![nu0]);
    let mut cache = CentralCache::new(&settings).unwrap();
    let mut steps = Vec::new();
    let mut sharpness = Vec::new();
    for _ in 0..300 {
        sharpness.push(obj.hessian(&state.w).symmetric_eigen().eigenvalues.max());
        let flow = rms.flow().unwrap();
        steps.push(central_step(&obj, flow, &mut state, &settings, &mut cache).unwrap());
    }
    let onset = steps
        .iter()
        .position(|s| s.critical_k > 0)
        .expect("reaches the edge");
    eprintln!("critical from step {onset}");
    for (s, sharp) in steps.iter().zip(&sharpness).skip(onset + 20) {
        // η/√ν = 1/P.
        let step_size = 1.0 / s.preconditioner[0];
        assert!(
            (step_size * sharp / 2.0 - 1.0).abs() < 1e-3,
            "η/√ν = {step_size}, 2/S = {}",
            2.0 / sharp
        );
        assert_eq!(s.sdcp.not_converged, 0);
    }
}

#[test]
fn predicted_squared_gradient_is_consistent_with_the_state_ode() {
    // RMSProp's ν ODE at the central flow is c(E[g⊙²] − ν) with E[g⊙²] = g⊙² + diag(HΣH),
    // HU ≈ 2PU: the per-coordinate prediction must reproduce the substep's dν/dt.
    let obj = minimal();
    let lr = 0.01;
    let rms = rmsprop(lr, 0.99);
    let w0 = [0.01 / 6.0, 6.0];
    let settings = CentralSettings::default();
    let mut state = at(&w0, vec![(lr * 6.0 / 1.99).powi(2), 1e-4]);
    let flow = rms.flow().unwrap();
    let mut cache = CentralCache::new(&settings).unwrap();
    let mut checked = 0;
    for _ in 0..200 {
        let before = state.clone();
        let step = central_step(&obj, flow, &mut state, &settings, &mut cache).unwrap();
        if step.critical_k == 0 {
            continue;
        }
        // Recompute the first substep's dν/dt from the prediction.
        let sub = substep(&obj, flow, &before, 1.0 / settings.nsubsteps as f64);
        let c = rate(0.99);
        for (i, e) in step.predicted_grad_sq().iter().enumerate() {
            let expect = c * (e - before.optimizer.buffers[i]);
            assert!(
                (sub.ds_dt[i] - expect).abs() < 1e-10 * expect.abs().max(1e-6),
                "{i}"
            );
        }
        checked += 1;
    }
    assert!(checked > 100, "only {checked} critical steps");
}
