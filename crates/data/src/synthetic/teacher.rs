//! Gaussian-input sets labelled by a random teacher, and Gaussian mixtures.

use anyhow::{ensure, Result};
use rand::RngExt;

use super::{argmax, check_size, draw_split, matmul, normals};
use crate::rng::{stream_rng, Stream};
use crate::{Dataset, Split};

/// `synthetic-linear`: `X ~ N(0,1)^{n×d}` (train stream), teacher `T ~ N(0,1)^{d×k}` (problem
/// stream), labels `argmax_j (X·T)_{ij}`, one-hot targets. The default edge-of-stability
/// setting (`gdscope reproduce eos`) is `n=1000, d=20, k=4`.
pub fn synthetic_linear(n: usize, d: usize, k: usize, test_n: usize, seed: u64) -> Result<Split> {
    check_classes("synthetic-linear", k)?;
    check_size("synthetic-linear", "d", d, k)?;
    let teacher = normals(&mut stream_rng(seed, Stream::Problem), d * k);
    check_size("synthetic-linear", "n", n, d.max(k))?;
    check_size("synthetic-linear", "test_n", test_n.max(1), d.max(k))?;
    draw_split(n, test_n, seed, |rng, m, part| {
        let x = normals(rng, m * d);
        let labels = argmax_rows(&matmul(&x, &teacher, m, d, k), k);
        Dataset::classification(format!("synthetic-linear-{part}"), x, vec![d], labels, k)
    })
}

/// `synthetic-mlp`: `X ~ N(0,1)^{n×d}`, labels `argmax(tanh(X·W₁/√d + b₁)·W₂)` with
/// `W₁ ∈ R^{d×hidden}`, `b₁ ∈ R^{hidden}`, `W₂ ∈ R^{hidden×k}` standard normal (problem stream).
/// The `1/√d` keeps the teacher's pre-activations `O(1)`, so its decision boundaries are curved.
pub fn synthetic_mlp(
    n: usize,
    d: usize,
    k: usize,
    hidden: usize,
    test_n: usize,
    seed: u64,
) -> Result<Split> {
    check_classes("synthetic-mlp", k)?;
    check_size("synthetic-mlp", "d", d, hidden.max(1))?;
    check_size("synthetic-mlp", "hidden", hidden, k)?;
    let mut problem = stream_rng(seed, Stream::Problem);
    let w1: Vec<f64> = normals(&mut problem, d * hidden)
        .into_iter()
        .map(|w| w / (d as f64).sqrt())
        .collect();
    let b1 = normals(&mut problem, hidden);
    let w2 = normals(&mut problem, hidden * k);
    check_size("synthetic-mlp", "n", n, d.max(hidden))?;
    check_size("synthetic-mlp", "test_n", test_n.max(1), d.max(hidden))?;
    draw_split(n, test_n, seed, |rng, m, part| {
        let x = normals(rng, m * d);
        let mut h = matmul(&x, &w1, m, d, hidden);
        for row in h.chunks_exact_mut(hidden) {
            for (v, b) in row.iter_mut().zip(&b1) {
                *v = (*v + b).tanh();
            }
        }
        let labels = argmax_rows(&matmul(&h, &w2, m, hidden, k), k);
        Dataset::classification(format!("synthetic-mlp-{part}"), x, vec![d], labels, k)
    })
}

/// `regression`: `X ~ N(0,1)^{n×d}`, `Y = X·A/√d + noise·ε` with `A ~ N(0,1)^{d×outputs}`
/// (problem stream) and `ε ~ N(0,1)^{n×outputs}` drawn after `X` on the example stream.
pub fn regression(
    n: usize,
    d: usize,
    outputs: usize,
    noise: f64,
    test_n: usize,
    seed: u64,
) -> Result<Split> {
    ensure!(
        noise.is_finite() && noise >= 0.0,
        "regression: noise must be a finite number ≥ 0 (got {noise})"
    );
    check_size("regression", "d", d, outputs.max(1))?;
    check_size("regression", "outputs", outputs, d)?;
    let a: Vec<f64> = normals(&mut stream_rng(seed, Stream::Problem), d * outputs)
        .into_iter()
        .map(|v| v / (d as f64).sqrt())
        .collect();
    check_size("regression", "n", n, d.max(outputs))?;
    check_size("regression", "test_n", test_n.max(1), d.max(outputs))?;
    draw_split(n, test_n, seed, |rng, m, part| {
        let x = normals(rng, m * d);
        let eps = normals(rng, m * outputs);
        let y = matmul(&x, &a, m, d, outputs)
            .into_iter()
            .zip(eps)
            .map(|(t, e)| t + noise * e)
            .collect();
        Dataset::new(format!("regression-{part}"), x, vec![d], y, outputs, None)
    })
}

/// `gaussian-mixture`: class means `μ_c = separation·u_c` with `u_c` uniform on the unit
/// sphere (normalized Gaussians, problem stream); example `i` has class `i mod k` (balanced)
/// and input `μ_c + z`, `z ~ N(0, I_d)`.
pub fn gaussian_mixture(
    n: usize,
    d: usize,
    k: usize,
    separation: f64,
    test_n: usize,
    seed: u64,
) -> Result<Split> {
    check_classes("gaussian-mixture", k)?;
    ensure!(
        separation.is_finite() && separation >= 0.0,
        "gaussian-mixture: separation must be a finite number ≥ 0 (got {separation})"
    );
    check_size("gaussian-mixture", "d", d, k)?;
    let mut problem = stream_rng(seed, Stream::Problem);
    let means: Vec<Vec<f64>> = (0..k)
        .map(|_| loop {
            let u = normals(&mut problem, d);
            let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                break u.iter().map(|v| separation * v / norm).collect();
            }
        })
        .collect();
    check_size("gaussian-mixture", "n", n, d.max(k))?;
    check_size("gaussian-mixture", "test_n", test_n.max(1), d.max(k))?;
    draw_split(n, test_n, seed, |rng, m, part| {
        let labels: Vec<usize> = (0..m).map(|i| i % k).collect();
        let mut x = Vec::with_capacity(m * d);
        for &c in &labels {
            x.extend(
                means[c]
                    .iter()
                    .map(|mu| mu + rng.sample::<f64, _>(rand_distr::StandardNormal)),
            );
        }
        Dataset::classification(format!("gaussian-mixture-{part}"), x, vec![d], labels, k)
    })
}

fn check_classes(kind: &str, k: usize) -> Result<()> {
    ensure!(
        k >= 2,
        "{kind}: k (number of classes) must be at least 2 (got {k})"
    );
    Ok(())
}

fn argmax_rows(scores: &[f64], k: usize) -> Vec<usize> {
    scores.chunks_exact(k).map(argmax).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_labels_follow_the_teacher() {
        let s = synthetic_linear(200, 5, 3, 50, 11).unwrap();
        let teacher = normals(&mut stream_rng(11, Stream::Problem), 15);
        for ds in [&s.train, s.test.as_ref().unwrap()] {
            for i in 0..ds.n {
                let scores = matmul(ds.x_row(i), &teacher, 1, 5, 3);
                assert_eq!(ds.labels.as_ref().unwrap()[i], argmax(&scores));
            }
        }
        assert_eq!((s.train.n, s.test.as_ref().unwrap().n), (200, 50));
        // every class occurs for a random teacher on 200 points
        assert!(s.train.class_counts().unwrap().iter().all(|&c| c > 0));
    }

    #[test]
    fn train_set_does_not_depend_on_test_n() {
        let a = synthetic_linear(30, 4, 2, 0, 3).unwrap();
        let b = synthetic_linear(30, 4, 2, 10, 3).unwrap();
        assert_eq!(a.train, b.train);
        assert!(a.test.is_none());
        assert_ne!(b.test.unwrap().x[..4], b.train.x[..4]);
        assert_ne!(synthetic_linear(30, 4, 2, 0, 4).unwrap().train, a.train);
    }

    #[test]
    fn default_eos_setting_is_standard_normal() {
        let ds = synthetic_linear(1000, 20, 4, 0, 0).unwrap().train;
        let mean = ds.x.iter().sum::<f64>() / ds.x.len() as f64;
        let var = ds.x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / ds.x.len() as f64;
        // 20 000 draws: the standard error of the mean is 0.007, of the variance 0.01
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
        assert_eq!(ds.class_counts().unwrap().iter().sum::<usize>(), 1000);
    }

    #[test]
    fn mlp_teacher_labels_are_deterministic_and_varied() {
        let a = synthetic_mlp(300, 6, 3, 16, 0, 5).unwrap().train;
        assert_eq!(a, synthetic_mlp(300, 6, 3, 16, 0, 5).unwrap().train);
        assert!(a.class_counts().unwrap().iter().filter(|&&c| c > 0).count() >= 2);
        assert!(synthetic_mlp(10, 6, 3, 0, 0, 5).is_err());
    }

    #[test]
    fn regression_noise_is_the_residual_of_the_teacher() {
        let clean = regression(50, 4, 2, 0.0, 0, 9).unwrap().train;
        let noisy = regression(50, 4, 2, 0.5, 0, 9).unwrap().train;
        assert_eq!(clean.x, noisy.x);
        let a: Vec<f64> = normals(&mut stream_rng(9, Stream::Problem), 8)
            .iter()
            .map(|v| v / 2.0)
            .collect();
        let fit = matmul(&clean.x, &a, 50, 4, 2);
        for (f, y) in fit.iter().zip(&clean.y) {
            assert!((f - y).abs() < 1e-12);
        }
        let resid: f64 = noisy
            .y
            .iter()
            .zip(&clean.y)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            / 100.0;
        assert!((resid.sqrt() - 0.5).abs() < 0.15, "{resid}");
        assert!(regression(5, 2, 1, f64::NAN, 0, 0).is_err());
        assert!(regression(5, 0, 1, 0.1, 0, 0)
            .unwrap_err()
            .to_string()
            .contains("d must be at least 1"));
        assert!(regression(5, 2, 0, 0.1, 0, 0)
            .unwrap_err()
            .to_string()
            .contains("outputs must be at least 1"));
        assert!(!noisy.is_classification());
    }

    #[test]
    fn mixture_is_balanced_and_centered_on_its_means() {
        let ds = gaussian_mixture(400, 3, 4, 5.0, 0, 1).unwrap().train;
        assert_eq!(ds.class_counts().unwrap(), vec![100; 4]);
        for c in 0..4 {
            let rows: Vec<&[f64]> = (0..ds.n)
                .filter(|i| i % 4 == c)
                .map(|i| ds.x_row(i))
                .collect();
            let centroid: Vec<f64> = (0..3)
                .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / 100.0)
                .collect();
            let norm = centroid.iter().map(|v| v * v).sum::<f64>().sqrt();
            // ‖μ‖ = 5; the centroid of 100 unit-variance points is within ~0.3 of it
            assert!((norm - 5.0).abs() < 0.6, "class {c}: {norm}");
        }
        assert!(gaussian_mixture(4, 3, 1, 1.0, 0, 0).is_err());
    }
}
