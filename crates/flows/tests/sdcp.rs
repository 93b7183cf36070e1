//! The SDCP solver against closed forms, planted solutions on every face type, and an
//! independent first-order solver.

use gdscope_flows::svec::{smat, svec, svec_dim};
use gdscope_flows::{solve_sdcp, SdcpOptions, SdcpStatus};
use nalgebra::{DMatrix, DVector};
use proptest::prelude::*;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

fn gaussian(rng: &mut ChaCha8Rng, r: usize, c: usize) -> DMatrix<f64> {
    DMatrix::from_fn(r, c, |_, _| rng.sample::<f64, _>(StandardNormal))
}

/// A random orthogonal `k × k` matrix.
fn orthogonal(rng: &mut ChaCha8Rng, k: usize) -> DMatrix<f64> {
    gaussian(rng, k, k).qr().q()
}

/// A random PSD `m × m` matrix of rank `rank`.
fn psd_of_rank(rng: &mut ChaCha8Rng, m: usize, rank: usize) -> DMatrix<f64> {
    let l = gaussian(rng, m, rank);
    &l * l.transpose()
}

fn apply(beta: &DMatrix<f64>, x: &DMatrix<f64>) -> DMatrix<f64> {
    smat((beta * DVector::from_vec(svec(x))).as_slice())
}

fn objective(alpha: &DMatrix<f64>, beta: &DMatrix<f64>, x: &DMatrix<f64>) -> f64 {
    0.5 * x.dot(&apply(beta, x)) + alpha.dot(x)
}

/// A problem whose solution is planted: `X* = V Z Vᵀ` (rank `r`), `Y* = W D Wᵀ` (rank `s`),
/// `V ⟂ W`, and `α = Y* − β[X*]`. Returns `(α, β, X*, Y*)`.
fn planted(
    seed: u64,
    k: usize,
    r: usize,
    s: usize,
    beta_rank: usize,
) -> (DMatrix<f64>, DMatrix<f64>, DMatrix<f64>, DMatrix<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let q = orthogonal(&mut rng, k);
    let v = q.columns(0, r).clone_owned();
    let w = q.columns(r, s).clone_owned();
    let z = psd_of_rank(&mut rng, r, r) + DMatrix::identity(r, r) * 0.1;
    let d = DMatrix::from_fn(s, s, |i, j| {
        if i == j {
            0.2 + rng.random::<f64>()
        } else {
            0.0
        }
    });
    let x_star = &v * z * v.transpose();
    let y_star = &w * d * w.transpose();
    let m = svec_dim(k);
    let beta = psd_of_rank(&mut rng, m, beta_rank) / m as f64;
    let alpha = &y_star - apply(&beta, &x_star);
    (alpha, beta, x_star, y_star)
}

fn opts() -> SdcpOptions {
    SdcpOptions::default()
}

#[test]
fn k1_matches_the_closed_form() {
    for &(a, b) in &[
        (-1.0, 2.0),
        (-3.5, 0.25),
        (0.7, 1.0),
        (0.0, 3.0),
        (-1e-6, 1e4),
        (-2e3, 1e-3),
    ] {
        let sol = solve_sdcp(
            &DMatrix::from_element(1, 1, a),
            &DMatrix::from_element(1, 1, b),
            &opts(),
        )
        .unwrap();
        let expect = (-a / b).max(0.0);
        assert!(sol.converged(), "α = {a}, β = {b}: {sol:?}");
        assert!(
            (sol.x[(0, 0)] - expect).abs() <= 1e-12 * expect.max(1e-300),
            "α = {a}, β = {b}: X = {} vs {expect}",
            sol.x[(0, 0)]
        );
    }
}

#[test]
fn psd_alpha_gives_zero_without_iterating() {
    let alpha = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 1.0]);
    let beta = DMatrix::identity(3, 3);
    let sol = solve_sdcp(&alpha, &beta, &opts()).unwrap();
    assert_eq!(sol.x, DMatrix::zeros(2, 2));
    assert_eq!(sol.iterations, 0);
    assert!(sol.converged());
    assert_eq!(sol.y, alpha);
}

#[test]
fn no_curvature_along_an_unstable_direction_is_reported_unbounded() {
    // k = 1, β = 0, α < 0.
    let sol = solve_sdcp(
        &DMatrix::from_element(1, 1, -0.1),
        &DMatrix::zeros(1, 1),
        &opts(),
    )
    .unwrap();
    assert_eq!(sol.status, SdcpStatus::Unbounded);
    // k = 2: β acts only on X₂₂, and α₁₁ < 0: D = e₁e₁ᵀ is a recession direction.
    let alpha = DMatrix::from_row_slice(2, 2, &[-0.5, 0.0, 0.0, -0.2]);
    let mut beta = DMatrix::zeros(3, 3);
    beta[(2, 2)] = 1.0;
    let sol = solve_sdcp(&alpha, &beta, &opts()).unwrap();
    assert_eq!(sol.status, SdcpStatus::Unbounded, "{sol:?}");
    let d = sol.unbounded_direction.unwrap();
    assert!(alpha.dot(&d) < 0.0 && apply(&beta, &d).norm() < 1e-6);
}

#[test]
fn rank_deficient_beta_with_a_solution_is_solved() {
    // β = the Gram operator of two identical pair vectors: rank 1 on S² (m = 3).
    let g = DMatrix::from_row_slice(3, 1, &[1.0, 0.0, 1.0]);
    let beta = &g * g.transpose();
    let alpha = DMatrix::from_row_slice(2, 2, &[-1.0, 0.3, 0.3, -0.5]);
    // Unbounded? D ⪰ 0 with D₁₁ + D₂₂ = 0 forces D = 0, so a solution exists.
    let sol = solve_sdcp(&alpha, &beta, &opts()).unwrap();
    assert!(sol.converged(), "{sol:?}");
    assert!(sol.residuals.max() <= 1e-10);
    // Y = α + β[X] is PSD and orthogonal to X.
    assert!(sol.x.dot(&sol.y).abs() < 1e-10);
}

#[test]
fn bad_inputs_are_errors() {
    let a = DMatrix::from_row_slice(2, 2, &[1.0, 2.0, 0.0, 1.0]);
    assert!(solve_sdcp(&a, &DMatrix::identity(3, 3), &opts()).is_err());
    let a = DMatrix::identity(2, 2);
    assert!(solve_sdcp(&a, &DMatrix::identity(2, 2), &opts()).is_err());
    assert!(solve_sdcp(&a, &(-DMatrix::identity(3, 3)), &opts()).is_err());
    let mut nan = DMatrix::identity(3, 3);
    nan[(1, 1)] = f64::NAN;
    assert!(solve_sdcp(&a, &nan, &opts()).is_err());
    let empty = solve_sdcp(&DMatrix::zeros(0, 0), &DMatrix::zeros(0, 0), &opts()).unwrap();
    assert!(empty.converged() && empty.x.is_empty());
}

/// Accelerated projected gradient (FISTA) on the convex program: slow, simple, independent.
fn reference_solve(alpha: &DMatrix<f64>, beta: &DMatrix<f64>, iters: usize) -> DMatrix<f64> {
    let lip = beta.clone().symmetric_eigen().eigenvalues.max().max(1e-12);
    let project = |m: &DMatrix<f64>| {
        let e = m.clone().symmetric_eigen();
        let d = e.eigenvalues.map(|v| v.max(0.0));
        &e.eigenvectors * DMatrix::from_diagonal(&d) * e.eigenvectors.transpose()
    };
    let k = alpha.nrows();
    let (mut x, mut z, mut t) = (DMatrix::zeros(k, k), DMatrix::zeros(k, k), 1.0_f64);
    for _ in 0..iters {
        let grad = apply(beta, &z) + alpha;
        let next = project(&(&z - grad / lip));
        let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
        z = &next + (&next - &x) * ((t - 1.0) / t_next);
        x = next;
        t = t_next;
    }
    x
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every face type of the PSD cone: X of rank r, Y of rank s ≤ k − r (s < k − r is not
    /// strictly complementary), and β of any rank (rank-deficient included).
    #[test]
    fn planted_solutions_on_every_face(
        seed in any::<u64>(),
        k in 1usize..=8,
        r_frac in 0.0f64..1.0,
        s_frac in 0.0f64..1.0,
        beta_frac in 0.0f64..1.0,
    ) {
        let r = ((k + 1) as f64 * r_frac) as usize;
        let s = ((k - r + 1) as f64 * s_frac) as usize;
        let m = svec_dim(k);
        let beta_rank = ((m + 1) as f64 * beta_frac) as usize;
        let (alpha, beta, x_star, y_star) = planted(seed, k, r, s, beta_rank);
        let sol = solve_sdcp(&alpha, &beta, &opts()).unwrap();
        prop_assert!(sol.residuals.max() <= 1e-10,
            "k={k} r={r} s={s} rank β={beta_rank}: residuals {:?}, status {:?}",
            sol.residuals, sol.status);
        // Y is unique for a convex QP; X too when β is definite.
        let scale = 1.0 + y_star.norm() + x_star.norm();
        prop_assert!((&sol.y - &y_star).norm() <= 1e-7 * scale,
            "k={k} r={r} s={s} rank β={beta_rank}: ‖Y − Y*‖ = {:.3e}", (&sol.y - &y_star).norm());
        let q = objective(&alpha, &beta, &sol.x);
        let q_star = objective(&alpha, &beta, &x_star);
        prop_assert!((q - q_star).abs() <= 1e-9 * (1.0 + q_star.abs()));
        if beta_rank == m {
            prop_assert!((&sol.x - &x_star).norm() <= 1e-6 * scale,
                "‖X − X*‖ = {:.3e}", (&sol.x - &x_star).norm());
        }
    }

    /// Scaling α and β changes X by the expected factor and keeps the residuals.
    #[test]
    fn scale_covariance(seed in any::<u64>(), k in 1usize..=6, la in -6.0f64..6.0, lb in -6.0f64..6.0) {
        let (alpha, beta, _, _) = planted(seed, k, k / 2, k - k / 2, svec_dim(k));
        let (a, b) = (10f64.powf(la), 10f64.powf(lb));
        let base = solve_sdcp(&alpha, &beta, &opts()).unwrap();
        let scaled = solve_sdcp(&(&alpha * a), &(&beta * b), &opts()).unwrap();
        prop_assert!(scaled.converged());
        let expect = &base.x * (a / b);
        prop_assert!((&scaled.x - &expect).norm() <= 1e-8 * expect.norm().max(1e-300));
    }
}

proptest! {
    // FISTA needs ~10⁴ iterations for 1e-8 in the objective: few cases.
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Random (α, β) against FISTA: same objective value, same Y.
    #[test]
    fn agrees_with_an_independent_first_order_solver(seed in any::<u64>(), k in 1usize..=5) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let m = svec_dim(k);
        let beta = psd_of_rank(&mut rng, m, m) / m as f64 + DMatrix::identity(m, m) * 0.05;
        let g = gaussian(&mut rng, k, k);
        let alpha = (&g + g.transpose()) * 0.5;
        let sol = solve_sdcp(&alpha, &beta, &opts()).unwrap();
        prop_assert!(sol.converged() && sol.residuals.max() <= 1e-10, "{:?}", sol.residuals);
        let reference = reference_solve(&alpha, &beta, 20_000);
        let (q, q_ref) = (objective(&alpha, &beta, &sol.x), objective(&alpha, &beta, &reference));
        prop_assert!(q <= q_ref + 1e-12 * (1.0 + q_ref.abs()), "ours {q} vs FISTA {q_ref}");
        prop_assert!((q - q_ref).abs() <= 1e-8 * (1.0 + q_ref.abs()));
        prop_assert!((&sol.x - &reference).norm() <= 1e-4 * (1.0 + reference.norm()));
    }
}
