//! Learning-rate schedules: `η_t = η · factor(t)`.
//!
//! The optimizer's base rate `η` comes from its configuration; a schedule only scales it.
//! The stability threshold logged beside the sharpness (docs/theory.md §3) is always computed
//! with the rate actually used at that step.
//!
//! Flows evaluate the schedule at continuous time `t` (in steps): [`LrSchedule::factor_at`]
//! is the continuous extension that equals [`LrSchedule::factor`] at every integer step, and
//! [`LrSchedule::log_slope_at`] its logarithmic derivative (a right derivative at the kinks;
//! zero for the piecewise-constant step decay).

use std::f64::consts::PI;

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
    pub fn validate(&self) -> Result<(), ScheduleError> {
        match *self {
            LrSchedule::Constant => Ok(()),
            LrSchedule::Warmup { warmup_steps } => ensure(warmup_steps > 0, || {
                "schedule.warmup_steps must be at least 1".into()
            }),
            LrSchedule::Cosine { final_factor, .. } => ensure(
                final_factor.is_finite() && (0.0..=1.0).contains(&final_factor),
                || format!("schedule.final_factor must lie in [0, 1], got {final_factor}"),
            ),
            LrSchedule::Step { every, gamma } => {
                ensure(every > 0, || "schedule.every must be at least 1".into())?;
                ensure(gamma.is_finite() && gamma > 0.0, || {
                    format!("schedule.gamma must be a positive number, got {gamma}")
                })
            }
        }
    }

    /// The factor multiplying the base rate at step `t` (0-based) of a `total`-step run.
    pub fn factor(&self, t: u64, total: u64) -> f64 {
        self.factor_at(t as f64, total)
    }

    /// The factor at continuous time `t ≥ 0` (in steps); equals [`factor`](Self::factor)
    /// at integers.
    pub fn factor_at(&self, t: f64, total: u64) -> f64 {
        self.factor_and_log_slope(t, total).0
    }

    /// `d ln factor / dt` at continuous time `t` (right derivative at kinks and jumps).
    pub fn log_slope_at(&self, t: f64, total: u64) -> f64 {
        self.factor_and_log_slope(t, total).1
    }

    /// `(factor(t), d ln factor/dt)` at continuous time `t`.
    fn factor_and_log_slope(&self, t: f64, total: u64) -> (f64, f64) {
        // Linear warm-up to 1 over `w` steps: factor (t+1)/w, log-slope 1/(t+1) until it ends.
        let warm = |w: u64| {
            if w > 0 && t + 1.0 < w as f64 {
                ((t + 1.0) / w as f64, 1.0 / (t + 1.0))
            } else {
                (1.0, 0.0)
            }
        };
        match *self {
            LrSchedule::Constant => (1.0, 0.0),
            LrSchedule::Warmup { warmup_steps } => warm(warmup_steps),
            LrSchedule::Cosine {
                warmup_steps,
                final_factor,
            } => {
                if t < warmup_steps as f64 {
                    return warm(warmup_steps);
                }
                let progress = cosine_progress(t, warmup_steps, total);
                let f = final_factor + (1.0 - final_factor) * 0.5 * (1.0 + (PI * progress).cos());
                if progress >= 1.0 {
                    return (f, 0.0);
                }
                let span = cosine_span(warmup_steps, total);
                (
                    f,
                    -(1.0 - final_factor) * 0.5 * PI * (PI * progress).sin() / span / f,
                )
            }
            LrSchedule::Step { every, gamma } => {
                let k = i32::try_from((t / every.max(1) as f64).floor() as u64).unwrap_or(i32::MAX);
                (gamma.powi(k), 0.0)
            }
        }
    }
}

/// An invalid schedule parameter; the message names the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), ScheduleError> {
    if ok {
        Ok(())
    } else {
        Err(ScheduleError(message()))
    }
}

/// Steps of the cosine part of a `total`-step run.
fn cosine_span(warmup_steps: u64, total: u64) -> f64 {
    total.saturating_sub(warmup_steps).max(1) as f64
}

/// Fraction of the cosine part done at time `t ≥ warmup_steps`, capped at 1.
fn cosine_progress(t: f64, warmup_steps: u64, total: u64) -> f64 {
    ((t - warmup_steps as f64) / cosine_span(warmup_steps, total)).min(1.0)
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

    /// The continuous extension agrees at integers and its log-slope is the finite-difference
    /// slope of `ln factor` away from kinks.
    #[test]
    fn continuous_extension_and_log_slope() {
        let schedules = [
            LrSchedule::Constant,
            LrSchedule::Warmup { warmup_steps: 10 },
            LrSchedule::Cosine {
                warmup_steps: 5,
                final_factor: 0.1,
            },
            LrSchedule::Step {
                every: 7,
                gamma: 0.5,
            },
        ];
        for s in schedules {
            for t in [0.3, 2.5, 6.4, 20.2, 63.7] {
                let h = 1e-6;
                let fd = (s.factor_at(t + h, 80).ln() - s.factor_at(t - h, 80).ln()) / (2.0 * h);
                assert!((fd - s.log_slope_at(t, 80)).abs() < 1e-6, "{s:?} t={t}");
            }
            for t in 0..90u64 {
                assert_eq!(s.factor(t, 80), s.factor_at(t as f64, 80));
            }
        }
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
