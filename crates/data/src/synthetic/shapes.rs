//! Low-dimensional classics: Chebyshev regression, two moons, two circles.

use std::f64::consts::PI;

use anyhow::{ensure, Result};
use rand::RngExt;
use rand_distr::StandardNormal;

use super::{check_size, draw_split};
use crate::{Dataset, Split};

/// `chebyshev`: `n` equispaced points `x_i = −1 + 2i/(n−1)` on `[−1, 1]` with target
/// `T_degree(x_i)` (Chebyshev polynomial of the first kind, by the recurrence
/// `T₀ = 1, T₁ = x, T_{m+1} = 2x·T_m − T_{m−1}`), as locuslab's `chebyshev-<degree>-<n>`.
/// Deterministic; train = test there, so no test set.
pub fn chebyshev(degree: usize, n: usize) -> Result<Split> {
    ensure!(n >= 2, "chebyshev: n must be at least 2 points (got {n})");
    check_size("chebyshev", "n", n, 1)?;
    let x: Vec<f64> = (0..n)
        .map(|i| -1.0 + 2.0 * i as f64 / (n - 1) as f64)
        .collect();
    let y = x.iter().map(|&t| chebyshev_t(degree, t)).collect();
    let train = Dataset::new(format!("chebyshev-{degree}-{n}"), x, vec![1], y, 1, None)?;
    Ok(Split { train, test: None })
}

/// `T_degree(t)` by the three-term recurrence.
fn chebyshev_t(degree: usize, t: f64) -> f64 {
    let (mut prev, mut cur) = (1.0, t);
    if degree == 0 {
        return prev;
    }
    for _ in 1..degree {
        (prev, cur) = (cur, 2.0 * t * cur - prev);
    }
    cur
}

/// `moons`: two interleaving half circles in 2-D. Example `i` has class `c = i mod 2`
/// (balanced) and angle `t ~ U[0, π]`; class 0 is `(cos t, sin t)`, class 1 is
/// `(1 − cos t, ½ − sin t)` (scikit-learn's `make_moons` geometry, with random rather than
/// equispaced angles so that train and test are i.i.d.), plus `N(0, noise²)` per coordinate.
pub fn moons(n: usize, noise: f64, test_n: usize, seed: u64) -> Result<Split> {
    check_noise("moons", noise)?;
    check_size("moons", "n", n, 2)?;
    check_size("moons", "test_n", test_n.max(1), 2)?;
    draw_split(n, test_n, seed, |rng, m, part| {
        let mut x = Vec::with_capacity(2 * m);
        let labels: Vec<usize> = (0..m).map(|i| i % 2).collect();
        for &c in &labels {
            let t = PI * rng.random::<f64>();
            let (a, b) = if c == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            x.push(a + noise * rng.sample::<f64, _>(StandardNormal));
            x.push(b + noise * rng.sample::<f64, _>(StandardNormal));
        }
        Dataset::classification(format!("moons-{part}"), x, vec![2], labels, 2)
    })
}

/// `circles`: two concentric circles in 2-D. Example `i` has class `c = i mod 2`, angle
/// `t ~ U[0, 2π)`, radius 1 (class 0) or `factor` (class 1), plus `N(0, noise²)` per coordinate
/// (scikit-learn's `make_circles` geometry with random angles).
pub fn circles(n: usize, noise: f64, factor: f64, test_n: usize, seed: u64) -> Result<Split> {
    check_noise("circles", noise)?;
    ensure!(
        factor.is_finite() && (0.0..1.0).contains(&factor),
        "circles: factor (inner radius) must be in [0, 1) (got {factor})"
    );
    check_size("circles", "n", n, 2)?;
    check_size("circles", "test_n", test_n.max(1), 2)?;
    draw_split(n, test_n, seed, |rng, m, part| {
        let mut x = Vec::with_capacity(2 * m);
        let labels: Vec<usize> = (0..m).map(|i| i % 2).collect();
        for &c in &labels {
            let t = 2.0 * PI * rng.random::<f64>();
            let r = if c == 0 { 1.0 } else { factor };
            x.push(r * t.cos() + noise * rng.sample::<f64, _>(StandardNormal));
            x.push(r * t.sin() + noise * rng.sample::<f64, _>(StandardNormal));
        }
        Dataset::classification(format!("circles-{part}"), x, vec![2], labels, 2)
    })
}

fn check_noise(kind: &str, noise: f64) -> Result<()> {
    ensure!(
        noise.is_finite() && noise >= 0.0,
        "{kind}: noise must be a finite number ≥ 0 (got {noise})"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn chebyshev_matches_the_trigonometric_form() {
        let s = chebyshev(5, 20).unwrap();
        assert!(s.test.is_none());
        assert_eq!((s.train.x[0], s.train.x[19]), (-1.0, 1.0));
        for i in 0..20 {
            let t: f64 = s.train.x[i];
            assert!((s.train.y[i] - (5.0 * t.acos()).cos()).abs() < 1e-12);
        }
        assert_eq!(chebyshev_t(0, 0.3), 1.0);
        assert_eq!(chebyshev_t(1, 0.3), 0.3);
        assert!(chebyshev(3, 1).is_err());
    }

    #[test]
    fn noiseless_moons_and_circles_lie_on_their_curves() {
        let m = moons(100, 0.0, 0, 2).unwrap().train;
        for i in 0..m.n {
            let (a, b) = (m.x[2 * i], m.x[2 * i + 1]);
            let r = if i % 2 == 0 {
                a.hypot(b)
            } else {
                (1.0 - a).hypot(0.5 - b)
            };
            assert!((r - 1.0).abs() < 1e-12);
            assert!(if i % 2 == 0 { b >= 0.0 } else { b <= 0.5 });
        }
        let c = circles(100, 0.0, 0.3, 0, 2).unwrap().train;
        for i in 0..c.n {
            let r = c.x[2 * i].hypot(c.x[2 * i + 1]);
            assert!((r - if i % 2 == 0 { 1.0 } else { 0.3 }).abs() < 1e-12);
        }
        assert_eq!(c.class_counts().unwrap(), vec![50, 50]);
        assert!(circles(10, 0.1, 1.5, 0, 0).is_err());
        assert!(moons(10, -0.1, 0, 0).is_err());
    }

    proptest! {
        #[test]
        fn chebyshev_recurrence_is_cos_of_multiple_angle(deg in 0usize..12, t in -1.0f64..1.0) {
            prop_assert!((chebyshev_t(deg, t) - (deg as f64 * t.acos()).cos()).abs() < 1e-10);
        }
    }
}
