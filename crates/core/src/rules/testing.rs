//! Checks every rule's tests share: hand steps, thresholds on quadratics, and the flow
//! contract of the module docs (discrete step = `−P⁻¹g` at the freshly updated state; state
//! update = one backward-Euler step of the ODE; ODE ≈ discrete step to first order; the
//! second derivative in `g` and the derivative of `uᵀPv` against finite differences).

use super::{FlowRule, Preconditioning, RuleState, UpdateRule};

/// A fixed, irregular test vector of length `n` (entry `i` of pattern `k`).
pub fn pattern(n: usize, k: f64) -> Vec<f64> {
    (0..n)
        .map(|i| ((i as f64 + 1.0) * 0.77 + k).sin() * (1.0 + 0.3 * i as f64))
        .collect()
}

/// Applies one discrete step of `rule` at its base rate (the caller's contract: buffers
/// updated by the rule, `Δw` added to `w`, then `t += 1`); returns `Δw`.
pub fn apply(
    rule: &dyn UpdateRule,
    state: &mut RuleState,
    grad: &[f64],
    w: &mut [f64],
) -> Vec<f64> {
    let mut u = vec![0.0; w.len()];
    rule.step(rule.lr(), state, grad, w, &mut u);
    w.iter_mut().zip(&u).for_each(|(wi, ui)| *wi += ui);
    state.t += 1.0;
    u
}

/// The updates of consecutive steps from `w = 0` with the given gradients.
pub fn updates(rule: &dyn UpdateRule, grads: &[&[f64]]) -> Vec<Vec<f64>> {
    let n = grads[0].len();
    let mut state = RuleState::zeros(rule, n);
    let mut w = vec![0.0; n];
    grads
        .iter()
        .map(|g| apply(rule, &mut state, g, &mut w))
        .collect()
}

/// On `f = λw²/2` from `w = 1`: `|w|` after `steps` steps (or once it passes 1e10).
fn final_abs_on_quadratic(rule: &dyn UpdateRule, lambda: f64, steps: usize) -> f64 {
    let mut state = RuleState::zeros(rule, 1);
    let mut w = [1.0];
    for _ in 0..steps {
        let g = [lambda * w[0]];
        apply(rule, &mut state, &g, &mut w);
        if w[0].abs() > 1e10 {
            break;
        }
    }
    w[0].abs()
}

/// A non-adaptive rule converges on `λw²/2` at `λ = 0.97 ×` its threshold and diverges at
/// `1.03 ×`.
pub fn threshold_on_quadratics(rule: &dyn UpdateRule) {
    let s = rule.stability_threshold(rule.lr());
    let below = final_abs_on_quadratic(rule, 0.97 * s, 20_000);
    let above = final_abs_on_quadratic(rule, 1.03 * s, 20_000);
    assert!(
        below < 1e-3,
        "{rule:?}: λ = 0.97·threshold should converge, |w| = {below}"
    );
    assert!(
        above > 1e3,
        "{rule:?}: λ = 1.03·threshold should diverge, |w| = {above}"
    );
}

/// A state after two steps with pattern gradients (realistic, non-zero buffers).
fn warmed_state(rule: &dyn UpdateRule, n: usize) -> (RuleState, Vec<f64>) {
    let mut state = RuleState::zeros(rule, n);
    let mut w = pattern(n, 0.3);
    for k in 0..2 {
        apply(rule, &mut state, &pattern(n, 1.0 + k as f64), &mut w);
    }
    (state, w)
}

/// The virtual step from a frozen state (a fresh one and one after two steps) equals the
/// step taken from a copy, bit for bit, leaves the state untouched, and is proportional to
/// the rate.
pub fn virtual_step_contract(rule: &dyn UpdateRule, n: usize) {
    let lr = rule.lr();
    let fresh = (RuleState::zeros(rule, n), pattern(n, 0.3));
    for (state, w) in [fresh, warmed_state(rule, n)] {
        let g = pattern(n, 2.5);
        let frozen = state.clone();
        let mut virtual_dw = vec![0.0; n];
        rule.virtual_step(lr, &state, &g, &w, &mut virtual_dw);
        assert_eq!(
            state, frozen,
            "{rule:?}: the virtual step changed the state"
        );
        let mut copy = state.clone();
        let mut dw = vec![0.0; n];
        rule.step(lr, &mut copy, &g, &w, &mut dw);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&virtual_dw),
            bits(&dw),
            "{rule:?}: virtual step ≠ step"
        );
        let mut scaled = vec![0.0; n];
        rule.virtual_step(2.5 * lr, &state, &g, &w, &mut scaled);
        let expected: Vec<f64> = dw.iter().map(|d| 2.5 * d).collect();
        assert!(
            max_rel_diff(&scaled, &expected) < 1e-14,
            "{rule:?}: the step is not proportional to the rate"
        );
    }
}

fn max_rel_diff(a: &[f64], b: &[f64]) -> f64 {
    let scale = a
        .iter()
        .chain(b)
        .fold(0.0f64, |m, x| m.max(x.abs()))
        .max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

/// The exact parts of the flow contract for a flow rule with `n` parameters.
pub fn flow_contract(rule: &dyn UpdateRule, n: usize) {
    let flow = rule.flow().expect("a flow rule");
    let lr = rule.lr();
    let (state, w) = warmed_state(rule, n);
    let g = pattern(n, 2.5);

    // Discrete step = −P(b')⁻¹ g with b' = U(b, g).
    let mut discrete = state.clone();
    let mut dw = vec![0.0; n];
    rule.step(lr, &mut discrete, &g, &w, &mut dw);
    let mut primed = state.buffers.clone();
    flow.update_state(&mut primed, &g);
    assert_eq!(
        primed, discrete.buffers,
        "update_state must equal the step's buffer update"
    );
    let mut p = vec![0.0; n];
    flow.preconditioner(lr, &primed, &mut p).unwrap();
    let flow_dw: Vec<f64> = g.iter().zip(&p).map(|(g, p)| -g / p).collect();
    assert!(
        max_rel_diff(&dw, &flow_dw) < 1e-14,
        "{rule:?}: {dw:?} vs {flow_dw:?}"
    );

    // Backward Euler with dt = 1: b' − b = f(b', g).
    let mut f = vec![0.0; primed.len()];
    flow.state_derivative(&primed, &g, &mut f);
    let diff: Vec<f64> = primed
        .iter()
        .zip(&state.buffers)
        .map(|(a, b)| a - b)
        .collect();
    assert!(
        max_rel_diff(&diff, &f) < 1e-12,
        "{rule:?}: {diff:?} vs {f:?}"
    );

    // The flow P is the tracking preconditioner divided by η.
    let mut track = Vec::new();
    match rule.tracking_preconditioner(&discrete_after(rule, &state, &g, &w), &mut track) {
        Preconditioning::Identity => track = vec![1.0; n],
        Preconditioning::Diagonal => {}
        Preconditioning::NotYet => panic!("{rule:?}: a warmed state must be measurable"),
    }
    let scaled: Vec<f64> = p.iter().map(|p| p * lr).collect();
    assert!(
        max_rel_diff(&scaled, &track) < 1e-14,
        "{rule:?}: {scaled:?} vs {track:?}"
    );

    derivatives_match_finite_differences(flow, lr, &primed, n);
}

fn discrete_after(rule: &dyn UpdateRule, state: &RuleState, g: &[f64], w: &[f64]) -> RuleState {
    let mut s = state.clone();
    let mut w = w.to_vec();
    apply(rule, &mut s, g, &mut w);
    s
}

/// `½∇²_g f[a, c]` and `∂_b(uᵀPv)[d]` against central differences.
fn derivatives_match_finite_differences(flow: &dyn FlowRule, lr: f64, b: &[f64], n: usize) {
    let (g, a, c) = (pattern(n, 0.1), pattern(n, 1.7), pattern(n, -0.9));
    let m = b.len();
    let f_at = |da: f64, dc: f64| {
        let gg: Vec<f64> = (0..n).map(|i| g[i] + da * a[i] + dc * c[i]).collect();
        let mut out = vec![0.0; m];
        flow.state_derivative(b, &gg, &mut out);
        out
    };
    let h = 1e-3;
    let (pp, pm, mp, mm) = (f_at(h, h), f_at(h, -h), f_at(-h, h), f_at(-h, -h));
    let fd: Vec<f64> = (0..m)
        .map(|i| 0.5 * (pp[i] - pm[i] - mp[i] + mm[i]) / (4.0 * h * h))
        .collect();
    let mut exact = vec![0.0; m];
    flow.state_curvature(b, &a, &c, &mut exact);
    assert!(
        max_rel_diff(&fd, &exact) < 1e-6,
        "½∇²_g f: {fd:?} vs {exact:?}"
    );

    // Direction scaled to the buffers, so that b ± h·d stays positive.
    let (u, v) = (pattern(n, 0.4), pattern(n, 2.2));
    let dir: Vec<f64> = b
        .iter()
        .zip(pattern(m, 3.1))
        .map(|(b, d)| d * b.abs().max(1e-3))
        .collect();
    let form = |e: f64| {
        let shifted: Vec<f64> = b.iter().zip(&dir).map(|(b, d)| b + e * d).collect();
        let mut p = vec![0.0; n];
        flow.preconditioner(lr, &shifted, &mut p).unwrap();
        (0..n).map(|i| u[i] * p[i] * v[i]).sum::<f64>()
    };
    let h = 1e-6;
    let fd = (form(h) - form(-h)) / (2.0 * h);
    let exact = flow.preconditioner_derivative(lr, b, &u, &v, &dir);
    assert!(
        (fd - exact).abs() <= 1e-6 * exact.abs().max(1e-12),
        "∂_b uᵀPv: {fd} vs {exact}"
    );
}

/// First order: one discrete step of `rule_at(s)` (a rule whose step sizes and state time
/// constants shrink with `s`) agrees with the flow integrated over `dt = 1` from the primed
/// state, with an error that falls linearly in `s` relative to the step.
pub fn ode_is_first_order_in_the_step<R: UpdateRule>(rule_at: impl Fn(f64) -> R, n: usize) {
    let rel_error = |s: f64| {
        let rule = rule_at(s);
        let flow = rule.flow().unwrap();
        // Objective ½ Σ a_i w_i² with a fixed diagonal a.
        let a: Vec<f64> = (0..n).map(|i| 1.0 + i as f64).collect();
        let grad = |w: &[f64]| -> Vec<f64> { w.iter().zip(&a).map(|(w, a)| w * a).collect() };
        // A state in equilibrium with the starting gradient, so that the state moves slowly
        // (as it does after a warm-up) and every time scale shrinks with s.
        let w0 = pattern(n, 0.3);
        let mut state = RuleState::zeros(&rule, n);
        state.t = 2.0;
        for _ in 0..100_000 {
            flow.update_state(&mut state.buffers, &grad(&w0));
        }
        // Discrete.
        let mut discrete = state.clone();
        let mut w1 = w0.clone();
        apply(&rule, &mut discrete, &grad(&w0), &mut w1);
        // Flow from (w0, U(b0, g0)), fine explicit Euler over dt = 1.
        let mut b = state.buffers.clone();
        flow.update_state(&mut b, &grad(&w0));
        let mut w = w0.clone();
        let sub = 4000;
        let h = 1.0 / sub as f64;
        let (mut p, mut db) = (vec![0.0; n], vec![0.0; b.len()]);
        for _ in 0..sub {
            let g = grad(&w);
            flow.preconditioner(rule.lr(), &b, &mut p).unwrap();
            flow.state_derivative(&b, &g, &mut db);
            w.iter_mut()
                .zip(g.iter().zip(&p))
                .for_each(|(w, (g, p))| *w -= h * g / p);
            b.iter_mut().zip(&db).for_each(|(b, d)| *b += h * d);
        }
        let step: Vec<f64> = w1.iter().zip(&w0).map(|(a, b)| a - b).collect();
        let err: Vec<f64> = w1.iter().zip(&w).map(|(a, b)| a - b).collect();
        crate::linalg::norm(&err) / crate::linalg::norm(&step)
    };
    let (coarse, fine) = (rel_error(0.1), rel_error(0.01));
    assert!(coarse < 0.2, "relative error {coarse} at s = 0.1");
    assert!(fine < 0.15 * coarse, "not first order: {coarse} → {fine}");
}

/// The rule's `f32` step follows its `f64` step to single-precision rounding over several
/// steps from the same start (weights, buffers and updates in `f32`).
pub fn f32_step_contract(rule: &dyn UpdateRule, steps: usize) {
    let n = 6;
    let single = rule.f32_step().expect("the rule has an f32 step");
    let (mut s64, mut w64) = (RuleState::zeros(rule, n), pattern(n, 0.3));
    let mut s32: RuleState<f32> = s64.convert();
    let mut w32: Vec<f32> = w64.iter().map(|&v| v as f32).collect();
    for k in 0..steps {
        let g64 = pattern(n, 2.5 + k as f64);
        let g32: Vec<f32> = g64.iter().map(|&v| v as f32).collect();
        let u64 = apply(rule, &mut s64, &g64, &mut w64);
        let mut u32 = vec![0.0f32; n];
        single.step_in(rule.lr(), &mut s32, &g32, &w32, &mut u32);
        w32.iter_mut().zip(&u32).for_each(|(w, u)| *w += u);
        s32.t += 1.0;
        let wide: Vec<f64> = u32.iter().map(|&v| f64::from(v)).collect();
        assert!(
            max_rel_diff(&wide, &u64) < 1e-5,
            "{rule:?}: f32 update {wide:?} vs f64 {u64:?} at step {k}"
        );
    }
}
