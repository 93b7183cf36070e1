//! Adaptive Monte Carlo estimates with confidence intervals (docs/curvature.md "Monte Carlo
//! estimates").
//!
//! An estimator draws i.i.d. samples and stops once every statistic it reports has a
//! relative standard error `se/|estimate|` at or below `rel_se`, after at least
//! `min_samples` and at most `max_samples` draws. Two statistics:
//!
//! - [`Mean`] of samples `xᵢ`: `x̄ ± t·s/√n`, `s` the sample standard deviation;
//! - [`RatioOfMeans`] of pairs `(xᵢ, yᵢ)`: `R = x̄/ȳ`, standard error by the delta method,
//!   `se² = (s_x² − 2R s_xy + R² s_y²)/(n ȳ²)`.
//!
//! Intervals are Student-t at 95% with `n − 1` degrees of freedom. Sequential stopping on the
//! standard error makes the nominal level approximate; the tests check the coverage over
//! repeated seeds.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// When an adaptive estimate stops (part of `[tracking.step_curvature]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonteCarlo {
    /// Stop once every reported statistic has `standard error / |estimate| ≤ rel_se`.
    pub rel_se: f64,
    /// Fewest samples (at least 2, for a standard error).
    pub min_samples: usize,
    /// Most samples.
    pub max_samples: usize,
}

impl Default for MonteCarlo {
    fn default() -> Self {
        Self {
            rel_se: 0.005,
            min_samples: 10,
            max_samples: 500,
        }
    }
}

impl MonteCarlo {
    /// Checks the settings; messages name fields as `{section}.field`.
    pub fn validate(&self, section: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.rel_se > 0.0 && self.rel_se < 1.0,
            "{section}.rel_se must lie in (0, 1), got {}",
            self.rel_se
        );
        anyhow::ensure!(
            self.min_samples >= 2,
            "{section}.min_samples must be at least 2 (for a standard error), got {}",
            self.min_samples
        );
        anyhow::ensure!(
            self.max_samples >= self.min_samples,
            "{section}.max_samples ({}) must be at least {section}.min_samples ({})",
            self.max_samples,
            self.min_samples
        );
        Ok(())
    }

    /// Whether to stop after `n` samples, given the relative standard errors of every
    /// statistic reported.
    pub fn done(&self, n: usize, rel_ses: &[f64]) -> bool {
        n >= self.max_samples
            || (n >= self.min_samples && rel_ses.iter().all(|r| *r <= self.rel_se))
    }
}

/// An estimate with its 95% interval and the number of samples behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The point estimate.
    pub value: f64,
    /// Lower end of the 95% interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Samples drawn.
    pub samples: usize,
}

impl Estimate {
    /// An exact value (one deterministic evaluation, e.g. "batches" that are the whole set):
    /// the interval is the point.
    pub fn exact(value: f64) -> Self {
        Self {
            value,
            lo: value,
            hi: value,
            samples: 1,
        }
    }

    /// `value ± t₀.₉₇₅(n−1)·se`.
    fn student(value: f64, se: f64, samples: usize) -> Self {
        let half = if samples >= 2 {
            t_975(samples - 1) * se
        } else {
            f64::NAN
        };
        Self {
            value,
            lo: value - half,
            hi: value + half,
            samples,
        }
    }

    /// The estimate and interval multiplied by `c > 0` (a fixed normalization).
    pub fn scaled(self, c: f64) -> Self {
        Self {
            value: self.value * c,
            lo: self.lo * c,
            hi: self.hi * c,
            samples: self.samples,
        }
    }

    /// Whether `x` lies in the interval.
    pub fn covers(&self, x: f64) -> bool {
        self.lo <= x && x <= self.hi
    }
}

/// The 0.975 quantile of Student's t with `df ≥ 1` degrees of freedom.
pub fn t_975(df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64)
        .map(|t| t.inverse_cdf(0.975))
        .unwrap_or(f64::NAN)
}

/// `se/|value|`, 0 when both vanish (identical samples of 0), ∞ when only the value does.
fn relative(se: f64, value: f64) -> f64 {
    if se == 0.0 {
        0.0
    } else {
        se / value.abs()
    }
}

/// Running mean and variance of samples (Welford's update).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mean {
    n: usize,
    mean: f64,
    m2: f64,
}

impl Mean {
    /// Adds a sample.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Standard error of the mean (`NaN` below 2 samples).
    pub fn std_error(&self) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        (self.m2 / (self.n - 1) as f64 / self.n as f64).sqrt()
    }

    /// Relative standard error.
    pub fn rel_se(&self) -> f64 {
        relative(self.std_error(), self.mean)
    }

    /// The mean with its Student-t interval.
    pub fn estimate(&self) -> Estimate {
        Estimate::student(self.mean, self.std_error(), self.n)
    }
}

/// Running means, variances and covariance of pairs, for `x̄/ȳ` by the delta method.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RatioOfMeans {
    n: usize,
    mx: f64,
    my: f64,
    cxx: f64,
    cyy: f64,
    cxy: f64,
}

impl RatioOfMeans {
    /// Adds a pair.
    pub fn push(&mut self, x: f64, y: f64) {
        self.n += 1;
        let n = self.n as f64;
        let (dx, dy) = (x - self.mx, y - self.my);
        self.mx += dx / n;
        self.my += dy / n;
        self.cxx += dx * (x - self.mx);
        self.cyy += dy * (y - self.my);
        self.cxy += dx * (y - self.my);
    }

    /// `x̄/ȳ`.
    pub fn ratio(&self) -> f64 {
        self.mx / self.my
    }

    /// Delta-method standard error of the ratio (`NaN` below 2 samples).
    pub fn std_error(&self) -> f64 {
        if self.n < 2 {
            return f64::NAN;
        }
        let m = (self.n - 1) as f64;
        let (sxx, syy, sxy) = (self.cxx / m, self.cyy / m, self.cxy / m);
        let r = self.ratio();
        let var = (sxx - 2.0 * r * sxy + r * r * syy) / (self.n as f64 * self.my * self.my);
        var.max(0.0).sqrt()
    }

    /// Relative standard error.
    pub fn rel_se(&self) -> f64 {
        relative(self.std_error(), self.ratio())
    }

    /// The ratio with its Student-t interval.
    pub fn estimate(&self) -> Estimate {
        Estimate::student(self.ratio(), self.std_error(), self.n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn student_quantiles() {
        // Tables: t₀.₉₇₅ for 1, 2, 9, 30 and 1000 degrees of freedom.
        for (df, t) in [
            (1, 12.7062),
            (2, 4.3027),
            (9, 2.2622),
            (30, 2.0423),
            (1000, 1.9623),
        ] {
            assert_relative_eq!(t_975(df), t, max_relative = 1e-4);
        }
    }

    #[test]
    fn welford_and_delta_method_by_hand() {
        let mut m = Mean::default();
        for x in [1.0, 2.0, 4.0] {
            m.push(x);
        }
        // mean 7/3, variance 7/3, se √(7/9).
        assert_relative_eq!(m.estimate().value, 7.0 / 3.0, max_relative = 1e-15);
        assert_relative_eq!(m.std_error(), (7.0f64 / 9.0).sqrt(), max_relative = 1e-14);
        let e = m.estimate();
        assert_relative_eq!(
            e.hi - e.value,
            t_975(2) * m.std_error(),
            max_relative = 1e-12
        );

        let mut r = RatioOfMeans::default();
        let pairs = [(1.0, 2.0), (3.0, 3.0), (2.0, 5.0), (6.0, 4.0)];
        for (x, y) in pairs {
            r.push(x, y);
        }
        let (mx, my) = (3.0, 3.5);
        let var =
            |f: &dyn Fn(f64, f64) -> f64| pairs.iter().map(|&(x, y)| f(x, y)).sum::<f64>() / 3.0;
        let (sxx, syy, sxy) = (
            var(&|x, _| (x - mx) * (x - mx)),
            var(&|_, y| (y - my) * (y - my)),
            var(&|x, y| (x - mx) * (y - my)),
        );
        let ratio = mx / my;
        let se = ((sxx - 2.0 * ratio * sxy + ratio * ratio * syy) / (4.0 * my * my)).sqrt();
        assert_relative_eq!(r.ratio(), ratio, max_relative = 1e-15);
        assert_relative_eq!(r.std_error(), se, max_relative = 1e-13);
    }

    #[test]
    fn stopping_rule() {
        let mc = MonteCarlo {
            rel_se: 0.01,
            min_samples: 3,
            max_samples: 10,
        };
        assert!(!mc.done(2, &[0.0]));
        assert!(mc.done(3, &[0.0, 0.005]));
        assert!(!mc.done(5, &[0.0, 0.02]));
        assert!(mc.done(10, &[1.0]));
        let mut m = Mean::default();
        m.push(2.0);
        m.push(2.0);
        assert_eq!(m.rel_se(), 0.0);
        assert!(MonteCarlo {
            min_samples: 1,
            ..mc
        }
        .validate("s")
        .unwrap_err()
        .to_string()
        .contains("s.min_samples"));
    }
}
