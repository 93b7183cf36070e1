//! The central flow of GD on analytic objectives: the k = 1 closed form, the stable flow
//! below the edge, first-order convergence in dt, and Berthier's two examples (arXiv
//! 2609.01034; docs/central-flows.md "Analytic checks").

mod support;

use gdscope_core::Objective;
use gdscope_flows::central::central_step_with;
use gdscope_flows::driver::central_trajectory;
use gdscope_flows::{
    predict_time_average, side_by_side, CentralCache, CentralSettings, DriverSettings, EigenSolver,
    FlowState, StepControl, StepDoubling,
};
use support::{
    assert_k1_closed_form, codim2, dist, gd, gd_average, minimal, objective, CODIM2_VARS, ETA,
};

/// Top eigenpair `(S, q)` of the dense Hessian and `∇S = ∇(qᵀHq)`.
fn sharpness_and_gradient(obj: &dyn Objective, w: &[f64]) -> (f64, Vec<f64>) {
    let e = obj.hessian(w).symmetric_eigen();
    let i = e.eigenvalues.imax();
    let q: Vec<f64> = e.eigenvectors.column(i).iter().copied().collect();
    let mut grad_s = vec![0.0; w.len()];
    obj.third_order(w, &q, &q, &mut grad_s);
    (e.eigenvalues[i], grad_s)
}

/// One GD substep at `w`.
fn substep_at(obj: &dyn Objective, w: &[f64], dt: f64) -> gdscope_flows::substep::Substep {
    let rule = gd();
    support::substep(obj, rule.flow().unwrap(), &FlowState::fresh(&rule, w), dt)
}

#[test]
fn k1_alpha_beta_and_x_match_the_closed_form() {
    let eps = 0.01;
    let obj = minimal(eps);
    let dt = 0.25;
    for w in [[0.02, 1.97 / ETA], [-0.01, 1.99 / ETA], [0.03, 2.02 / ETA]] {
        let sub = substep_at(&obj, &w, dt);
        let (s, grad_s) = sharpness_and_gradient(&obj, &w);
        let mut g = vec![0.0; 2];
        obj.value_grad(&w, &mut g);
        let gs: f64 = g.iter().zip(&grad_s).map(|(a, b)| a * b).sum();
        let ss: f64 = grad_s.iter().map(|v| v * v).sum();
        // theory.md §5: α = 2 − ηS + dt·η²⟨∇S, g⟩, β = dt·½η³‖∇S‖², X = max(0, −α/β).
        let alpha = 2.0 - ETA * s + dt * ETA * ETA * gs;
        let beta = dt * 0.5 * ETA.powi(3) * ss;
        assert_k1_closed_form(&sub, alpha, beta);
    }
}

#[test]
fn k1_at_the_edge_gives_the_blog_formula_for_sigma_squared() {
    // At ηS = 2 the restoring term vanishes and σ² = ηX = 2⟨−∇L, ∇S⟩/‖∇S‖² for any dt.
    let eps = 0.01;
    let obj = minimal(eps);
    // Near the central flow's rest point x* ≈ −εη, where ⟨−∇L, ∇S⟩ > 0.
    let x = -0.002;
    let c = 2.0 / ETA;
    // Top eigenvalue of [[y + 3x, x], [x, 0]] equals c when y + 3x = c − x²/c.
    let w = [x, c - x * x / c - 3.0 * x];
    let (s, grad_s) = sharpness_and_gradient(&obj, &w);
    assert!((ETA * s - 2.0).abs() < 1e-12);
    let mut g = vec![0.0; 2];
    obj.value_grad(&w, &mut g);
    let blog = 2.0 * -g.iter().zip(&grad_s).map(|(a, b)| a * b).sum::<f64>()
        / grad_s.iter().map(|v| v * v).sum::<f64>();
    assert!(blog > 0.0);
    for dt in [0.25, 0.1, 0.01] {
        let sub = substep_at(&obj, &w, dt);
        let sigma2 = ETA * sub.x[(0, 0)];
        assert!(
            (sigma2 - blog).abs() < 1e-7 * blog,
            "dt {dt}: σ² {sigma2} vs {blog}"
        );
    }
}

#[test]
fn below_the_edge_the_central_flow_is_the_stable_flow() {
    // ηS stays near 1.0–1.2: no eigenvalue is critical, and with the same dt (the stable flow
    // takes max(4, ⌈2 S_eff⌉) = 4 substeps) both are the same Euler steps, bit for bit.
    let obj = minimal(0.01);
    let w0 = [0.3, 1.0 / ETA];
    let run = side_by_side(&obj, &gd(), &w0, 100, &DriverSettings::default()).unwrap();
    assert!(run.central_steps.iter().all(|s| s.critical_k == 0));
    assert!(run.stable_steps.iter().all(|s| s.substeps == 4));
    assert_eq!(run.central, run.stable);
    // And the flows moved: this is not a fixed point.
    assert!(dist(&run.central[0], &run.central[100]) > 0.05);
}

#[test]
fn halving_dt_halves_the_trajectory_difference() {
    // Onset of the edge of stability included (ηS passes 1.95 after ~30 steps).
    let obj = minimal(0.01);
    let w0 = [0.05, 1.9 / ETA];
    let steps = 120;
    let run = |n: usize| {
        let settings = CentralSettings {
            nsubsteps: n,
            ..CentralSettings::default()
        };
        central_trajectory(&obj, &gd(), &w0, steps, &settings)
            .unwrap()
            .0
    };
    let (w4, w8, w16) = (run(4), run(8), run(16));
    let max_dist = |a: &[Vec<f64>], b: &[Vec<f64>]| {
        a.iter().zip(b).map(|(p, q)| dist(p, q)).fold(0.0, f64::max)
    };
    let (d48, d816) = (max_dist(&w4, &w8), max_dist(&w8, &w16));
    let ratio = d48 / d816;
    eprintln!("max ‖w4 − w8‖ = {d48:.3e}, max ‖w8 − w16‖ = {d816:.3e}, ratio {ratio:.2}");
    assert!(d48 > 0.0 && (1.6..2.6).contains(&ratio), "ratio {ratio}");
}

#[test]
fn step_doubling_meets_its_tolerance_and_matches_fine_integration() {
    let obj = minimal(0.01);
    let rule = gd();
    let flow = rule.flow().unwrap();
    let w0 = [0.05, 1.9 / ETA];
    let settings = CentralSettings::default();
    let control = StepControl {
        rtol: 1e-3,
        max_nsubsteps: 4096,
        ..StepControl::default()
    };
    let mut doubling = StepDoubling::new(control).unwrap();
    let mut state = FlowState::primed(&obj, &rule, &w0).unwrap();
    let mut cache = CentralCache::new(&settings).unwrap();
    let mut reference = state.clone();
    let mut reference_cache = cache.clone();
    let mut worst = 0.0f64;
    // 80 steps: the initial relaxation of x (stiff for Euler), the drift of y, and the onset
    // of the edge of stability near step 55.
    for _ in 0..80 {
        let s = doubling
            .step(&obj, flow, &mut state, &settings, &mut cache)
            .unwrap();
        assert!(s.within_tolerance);
        worst = worst.max(s.nsubsteps as f64);
        central_step_with(
            &obj,
            flow,
            &mut reference,
            &settings,
            1024,
            &mut reference_cache,
        )
        .unwrap();
    }
    let err = dist(&state.w, &reference.w);
    let moved = dist(&state.w, &w0);
    eprintln!("controlled vs 1024 substeps: {err:.3e} (moved {moved:.3e}), max substeps {worst}");
    assert!(err < 1e-2 * moved);
}

#[test]
fn berthier_minimal_example_time_average_of_x_squared_and_locked_y() {
    let eps = 0.01;
    let obj = minimal(eps);
    let w0 = [0.05, 1.99 / ETA];
    // GD: ⟨x²⟩ → 2ε while y locks near 2/η.
    let gd = gd_average(&obj, &w0, 10_000, 20_000, |w| vec![w[0] * w[0], w[1]]);
    eprintln!("GD: ⟨x²⟩/ε = {:.5}, η⟨y⟩ = {:.5}", gd[0] / eps, ETA * gd[1]);
    assert!((gd[0] / (2.0 * eps) - 1.0).abs() < 0.01);
    assert!((ETA * gd[1] - 2.0).abs() < 0.01);

    // The central flow settles where ηS = 2 and predicts both.
    let (points, steps) =
        central_trajectory(&obj, &support::gd(), &w0, 300, &CentralSettings::default()).unwrap();
    let last = steps.last().unwrap();
    let w = &points[points.len() - 2];
    assert_eq!(last.critical_k, 1);
    let x2 = objective("x^2", &["x", "y"]);
    let predicted = predict_time_average(&x2, w, &last.critical_basis(), &last.x_first);
    eprintln!(
        "central: predicted ⟨x²⟩/ε = {:.7}, ηy = {:.5}, ηS = {:.9}",
        predicted / eps,
        ETA * w[1],
        last.eigenvalues[0]
    );
    assert!((predicted / (2.0 * eps) - 1.0).abs() < 1e-6);
    assert!((last.eigenvalues[0] - 2.0).abs() < 1e-6);
    assert!((predicted / gd[0] - 1.0).abs() < 0.01);
    assert!((ETA * (w[1] - gd[1])).abs() < 2e-3);
}

#[test]
fn berthier_codimension_two_example_needs_a_rank_two_sdcp() {
    let eps = 0.01;
    let obj = codim2(eps);
    let w0 = [0.05, 0.03, 1.95 / ETA, 1.9 / ETA, 0.0];
    let moments = |w: &[f64]| vec![w[0] * w[0], w[1] * w[1], w[0] * w[1], w[2], w[3], w[4]];
    let gd = gd_average(&obj, &w0, 10_000, 30_000, moments);
    let expect = [4.0 * eps, 2.0 * eps, std::f64::consts::SQRT_2 * eps];
    eprintln!(
        "GD: ⟨x1²⟩/ε = {:.4}, ⟨x2²⟩/ε = {:.4}, ⟨x1x2⟩/ε = {:.4}, η⟨y⟩ = {:.4?}",
        gd[0] / eps,
        gd[1] / eps,
        gd[2] / eps,
        [ETA * gd[3], ETA * gd[4], ETA * gd[5]]
    );
    for i in 0..3 {
        assert!(
            (gd[i] / expect[i] - 1.0).abs() < 0.03,
            "moment {i}: {}",
            gd[i]
        );
    }

    let (points, steps) =
        central_trajectory(&obj, &support::gd(), &w0, 400, &CentralSettings::default()).unwrap();
    let last = steps.last().unwrap();
    let w = &points[points.len() - 2];
    assert_eq!(last.critical_k, 2, "eigenvalues {:?}", last.eigenvalues);
    let xe = last.x_first.clone().symmetric_eigen().eigenvalues;
    assert!(xe.min() > 1e-3 * xe.max(), "X must have rank 2: {xe:?}");
    let observables = [
        objective("x1^2", &CODIM2_VARS),
        objective("x2^2", &CODIM2_VARS),
        objective("x1*x2", &CODIM2_VARS),
    ];
    let uc = last.critical_basis();
    for (i, f) in observables.iter().enumerate() {
        let predicted = predict_time_average(f, w, &uc, &last.x_first);
        eprintln!("central: moment {i} predicted/ε = {:.6}", predicted / eps);
        assert!((predicted / expect[i] - 1.0).abs() < 1e-5);
        assert!((predicted / gd[i] - 1.0).abs() < 0.03);
    }
    assert!(last.eigenvalues[..2].iter().all(|l| (l - 2.0).abs() < 1e-5));
    assert!(last.sdcp.max_residual < 1e-10);
    for (i, y) in w[2..].iter().enumerate() {
        assert!(
            (ETA * (y - gd[3 + i])).abs() < 0.02,
            "y{}: {y} vs {}",
            i + 1,
            gd[3 + i]
        );
    }
}

#[test]
fn after_a_substep_the_stability_matrix_is_what_the_sdcp_predicted() {
    // With U held fixed, Y = α + β[X] is the Euler prediction of A = Uᵀ(2P − H)U after the
    // substep. The objective is cubic, so H is affine in w and the prediction is exact: the
    // actual A at w + dt·dw/dt must equal Y — PSD and orthogonal to X. This pins every
    // convention of α, β and the velocity, the off-diagonal couplings included (k = 2 with a
    // non-diagonal X). The JAX package's mixed √2 convention fails it: at dt = 0.01 its next A
    // has an eigenvalue −5.6e-5 and ⟨A, X⟩ = −1.8e-4 (docs/central-flows.md).
    let obj = codim2(0.01);
    let w = [-0.0021, -0.0007, 2.0043 / ETA, 1.9947 / ETA, 0.0053 / ETA];
    for dt in [0.25, 1e-2, 1e-3] {
        let s = substep_at(&obj, &w, dt);
        assert_eq!(s.critical_k, 2);
        assert!(s.x[(0, 1)].abs() > 1e-2 * s.x.norm());
        let sol = s.sdcp.as_ref().unwrap();
        let next: Vec<f64> = w.iter().zip(&s.dw_dt).map(|(a, v)| a + dt * v).collect();
        let mut solver = EigenSolver::new(&CentralSettings::default().eigen, Some(1.5)).unwrap();
        let eig = solver.solve(&obj, &w, &[1.0 / ETA; 5]).unwrap();
        let u = eig.vectors.columns(0, 2).clone_owned();
        let a_next = nalgebra::DMatrix::<f64>::identity(2, 2) * 2.0
            - u.transpose() * obj.hessian(&next) * &u;
        let err = (&a_next - &sol.y).norm();
        let min_eig = a_next.clone().symmetric_eigen().eigenvalues.min();
        eprintln!(
            "dt {dt:e}: ‖A(w + dt·v) − Y‖ = {err:.2e}, λ_min(A) = {min_eig:.2e}, ⟨A, X⟩ = {:.2e}",
            a_next.dot(&s.x)
        );
        assert!(err < 1e-12, "dt {dt}: {err}");
        assert!(min_eig > -1e-12 && a_next.dot(&s.x).abs() < 1e-12);
    }
}

#[test]
fn resuming_from_a_serialized_cache_is_bit_for_bit() {
    // 21 copies of the minimal example (n = 42 > 4·k_max: the warm-started LOBPCG path) with
    // valley positions spread around the edge, so several eigenvalues are tracked and critical.
    let blocks = 21;
    let terms: Vec<String> = (0..blocks)
        .map(|j| format!("0.5*(y{j} + x{j})*x{j}^2 - 0.01*(x{j} + y{j})"))
        .collect();
    let vars: Vec<String> = (0..blocks)
        .flat_map(|j| [format!("x{j}"), format!("y{j}")])
        .collect();
    let var_refs: Vec<&str> = vars.iter().map(String::as_str).collect();
    let obj = objective(&terms.join(" + "), &var_refs);
    let w0: Vec<f64> = (0..blocks)
        .flat_map(|j| [0.02, (1.99 - 0.03 * j as f64) / ETA])
        .collect();
    let (rule, settings) = (gd(), CentralSettings::default());
    let flow = rule.flow().unwrap();
    let mut state = FlowState::primed(&obj, &rule, &w0).unwrap();
    let mut cache = CentralCache::new(&settings).unwrap();
    for _ in 0..5 {
        gdscope_flows::central_step(&obj, flow, &mut state, &settings, &mut cache).unwrap();
    }
    let saved = (
        serde_json::to_string(&state).unwrap(),
        serde_json::to_string(&cache).unwrap(),
    );
    let run = |state: &mut FlowState, cache: &mut CentralCache| {
        (0..5)
            .map(|_| {
                let s = gdscope_flows::central_step(&obj, flow, state, &settings, cache).unwrap();
                (s.critical_k, s.x_first, s.eigenvalues, s.eigen_hvps)
            })
            .collect::<Vec<_>>()
    };
    let uninterrupted = run(&mut state, &mut cache);
    let mut resumed_state: FlowState = serde_json::from_str(&saved.0).unwrap();
    let mut resumed_cache: CentralCache = serde_json::from_str(&saved.1).unwrap();
    let resumed = run(&mut resumed_state, &mut resumed_cache);
    assert!(
        uninterrupted.iter().any(|s| s.0 >= 2),
        "several critical eigenvalues"
    );
    assert_eq!(resumed, uninterrupted);
    assert_eq!(resumed_state, state);
}

#[test]
fn a_learning_rate_schedule_enters_alpha_through_dp_dt_only() {
    // GD with a linear warm-up over 10 steps at t = 4: η(t) = 2η₀·(t+1)/10 = η₀ and
    // d ln η/dt = 1/(t+1) = 0.2. P = 1/η(t) shrinks, so d(uᵢᵀPuⱼ)/dt = −0.2·δᵢⱼ and
    // α = α_const − 2·dt·0.2·I, while β (the X-dependent part) is unchanged.
    use gdscope_core::optimizer::Rule;
    use gdscope_core::rules::{Gd, OptimizerConfig};
    use gdscope_core::schedule::LrSchedule;
    let obj = codim2(0.01);
    let w = [-0.0021, -0.0007, 2.0043 / ETA, 1.9947 / ETA, 0.0053 / ETA];
    let constant = gd();
    let warm = Rule::new(
        OptimizerConfig::Gd(Gd { lr: 2.0 * ETA }),
        LrSchedule::Warmup { warmup_steps: 10 },
        100,
    )
    .unwrap();
    let dt = 0.25;
    let at = |rule: &Rule| {
        let mut state = FlowState::fresh(rule, &w);
        state.optimizer.t = 4.0;
        support::substep(&obj, rule.flow().unwrap(), &state, dt)
    };
    let (a, b) = (at(&constant), at(&warm));
    assert_eq!(a.critical_k, 2);
    let shift = &b.alpha - &a.alpha;
    let expect = nalgebra::DMatrix::<f64>::identity(2, 2) * (-2.0 * dt * 0.2);
    assert!((shift - expect).norm() < 1e-12);
    assert!((&b.beta - &a.beta).norm() < 1e-12 * a.beta.norm());
}
