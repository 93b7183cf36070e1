//! Learning-rate schedules: `η_t = η · factor(t)`.
//!
//! The optimizer's base rate `η` comes from its configuration; a schedule only scales it.
//! The stability threshold logged beside the sharpness (docs/theory.md §3) is always computed
//! with the rate actually used at that step.

use serde::{Deserialize, Serialize};

/// A multiplicative learning-rate schedule over `steps` total steps.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LrSchedule {
    /// `factor(t) = 1`.
    #[default]
    Constant,
    /// Linear warm-up: `factor(t) = min(1, (t+1)/warmup_steps)`.
    Warmup {
        /// Steps to reach the base rate.
        warmup_steps: u64,
    },
    /// Linear warm-up, then cosine decay from 1 to `final_factor` at the last step:
    /// `factor(t) = f + (1−f)·½(1 + cos(π·(t−w)/(T−w)))` for `t ≥ w`.
    Cosine {
        /// Warm-up steps (0 for none).
        #[serde(default)]
        warmup_steps: u64,
        /// Factor reached at the last step.
        #[serde(default)]
        final_factor: f64,
    },
    /// Step decay: `factor(t) = gamma^⌊t/every⌋`.
    Step {
        /// Steps between decays.
        every: u64,
        /// Multiplier applied at each decay.
        gamma: f64,
    },
}

impl LrSchedule {
    /// Checks the parameters; the message names the offending field.
    pub fn validate(&self) -> anyhow::Result<()> {
        match *self {
            LrSchedule::Constant => {}
            LrSchedule::Warmup { warmup_steps } => {
                anyhow::ensure!(warmup_steps > 0, "schedule.warmup_steps must be at least 1");
            }
            LrSchedule::Cosine { final_factor, .. } => {
                anyhow::ensure!(
                    final_factor.is_finite() && (0.0..=1.0).contains(&final_factor),
                    "schedule.final_factor must lie in [0, 1], got {final_factor}"
                );
            }
            LrSchedule::Step { every, gamma } => {
                anyhow::ensure!(every > 0, "schedule.every must be at least 1");
                anyhow::ensure!(
                    gamma.is_finite() && gamma > 0.0,
                    "schedule.gamma must be a positive number, got {gamma}"
                );
            }
        }
        Ok(())
    }

    /// The factor multiplying the base rate at step `t` (0-based) of a `total`-step run.
    pub fn factor(&self, t: u64, total: u64) -> f64 {
        let warm = |w: u64| {
            if w == 0 {
                1.0
            } else {
                ((t + 1) as f64 / w as f64).min(1.0)
            }
        };
        match *self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Warmup { warmup_steps } => warm(warmup_steps),
            LrSchedule::Cosine {
                warmup_steps,
                final_factor,
            } => {
                if t < warmup_steps {
                    return warm(warmup_steps);
                }
                let span = total.saturating_sub(warmup_steps).max(1) as f64;
                let progress = ((t - warmup_steps) as f64 / span).min(1.0);
                final_factor
                    + (1.0 - final_factor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            LrSchedule::Step { every, gamma } => {
                let k = i32::try_from(t / every.max(1)).unwrap_or(i32::MAX);
                gamma.powi(k)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn closed_forms() {
        assert_eq!(LrSchedule::Constant.factor(17, 100), 1.0);
        let w = LrSchedule::Warmup { warmup_steps: 4 };
        assert_eq!(
            [0, 1, 3, 10].map(|t| w.factor(t, 100)),
            [0.25, 0.5, 1.0, 1.0]
        );
        let c = LrSchedule::Cosine {
            warmup_steps: 0,
            final_factor: 0.1,
        };
        assert!((c.factor(0, 100) - 1.0).abs() < 1e-15);
        assert!((c.factor(50, 100) - 0.55).abs() < 1e-12);
        assert!((c.factor(100, 100) - 0.1).abs() < 1e-15);
        let s = LrSchedule::Step {
            every: 10,
            gamma: 0.5,
        };
        assert_eq!(
            [0, 9, 10, 25].map(|t| s.factor(t, 100)),
            [1.0, 1.0, 0.5, 0.25]
        );
    }

    #[test]
    fn validation_names_the_field() {
        let err = LrSchedule::Step {
            every: 0,
            gamma: 0.5,
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("schedule.every"));
        let err = LrSchedule::Cosine {
            warmup_steps: 0,
            final_factor: 2.0,
        }
        .validate()
        .unwrap_err();
        assert!(err.to_string().contains("final_factor"));
    }

    proptest! {
        /// Cosine decay is monotone non-increasing after warm-up and stays within [final, 1].
        #[test]
        fn cosine_monotone(w in 0u64..50, total in 60u64..500, f in 0.0f64..1.0) {
            let c = LrSchedule::Cosine { warmup_steps: w, final_factor: f };
            let mut prev = f64::INFINITY;
            for t in w..total {
                let x = c.factor(t, total);
                prop_assert!(x <= prev + 1e-15 && x >= f - 1e-15 && x <= 1.0 + 1e-15);
                prev = x;
            }
        }
    }
}
