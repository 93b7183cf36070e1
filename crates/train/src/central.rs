//! The central flow against the optimizer, from a run's metrics (docs/central-flows.md
//! "Summary"): the `central_flow` object of `summary.json`, with the numbers the talk's claims
//! rest on and a verdict per claim, and the Gaussian smoothing it and the figures use.
//!
//! "After the onset" means the steps from the first one with a critical eigenvalue
//! (`central.critical_k ≥ 1`) on; comparisons with the smoothed optimizer also leave out the
//! `2σ` steps at either end of the run, where the smoothing window is cut off.

use gdscope_io::Table;
use serde::Serialize;

/// Largest median relative error of the predicted loss against the smoothed optimizer loss
/// that counts as a prediction.
pub const LOSS_ERROR_LIMIT: f64 = 0.1;
/// Largest `‖GD − central‖/‖GD − stable‖` at the end that counts as "GD follows the
/// central flow, not the stable flow".
pub const DISTANCE_RATIO_LIMIT: f64 = 0.5;
/// Largest central sharpness, as a fraction of the threshold, after the onset.
pub const SHARPNESS_LIMIT: f64 = 1.001;
/// Smallest correlation of the `X` eigenvalues with the smoothed squared displacements.
pub const CORRELATION_LIMIT: f64 = 0.5;

/// Largest distance from 1 of the scalar RMSProp effective step size (smoothed) over the
/// central flow's `2/S` that counts as "settles at 2/S".
pub const EDGE_LR_TOLERANCE: f64 = 0.1;
/// Largest median relative error of the central flow's effective step size against the
/// smoothed optimizer's (scalar RMSProp) that counts as a prediction.
pub const EFFECTIVE_LR_ERROR_LIMIT: f64 = 0.1;
/// Largest median relative error of the central flow's `ν` against the smoothed optimizer's
/// at the recorded coordinates (RMSProp) that counts as a prediction: `ν` is a per-coordinate
/// squared gradient, far noisier than the loss.
pub const NU_ERROR_LIMIT: f64 = 0.25;

/// `y` convolved with a Gaussian of standard deviation `sigma` (in samples), truncated at
/// `4σ`, the edges padded with the nearest value (SciPy's `gaussian_filter1d(mode="nearest")`).
/// Non-finite samples are left out and the weights renormalized; `sigma = 0` copies.
pub fn gaussian_smooth(y: &[f64], sigma: f64) -> Vec<f64> {
    if sigma <= 0.0 || y.is_empty() {
        return y.to_vec();
    }
    let radius = (4.0 * sigma).ceil() as isize;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|j| (-0.5 * (j as f64 / sigma).powi(2)).exp())
        .collect();
    let last = y.len() as isize - 1;
    (0..y.len() as isize)
        .map(|i| {
            let (mut sum, mut norm) = (0.0, 0.0);
            for (w, j) in weights.iter().zip(-radius..=radius) {
                let v = y[(i + j).clamp(0, last) as usize];
                if v.is_finite() {
                    sum += w * v;
                    norm += w;
                }
            }
            if norm > 0.0 {
                sum / norm
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// One claim of the talk, checked on the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    /// Short name.
    pub claim: &'static str,
    /// Whether the run shows it (`None`: not measurable in this run).
    pub holds: Option<bool>,
    /// The criterion, with the numbers.
    pub detail: String,
}

/// The `central_flow` object of `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CentralFlowSummary {
    /// σ (steps) of the Gaussian smoothing of the optimizer's curves.
    pub smoothing: f64,
    /// First step with a critical eigenvalue.
    pub onset_step: Option<u64>,
    /// Most eigenvalues critical at once.
    pub max_critical_k: usize,
    /// Steps with at least two critical eigenvalues.
    pub steps_with_two_or_more_critical: usize,
    /// Median over the steps after the onset of `|predicted_loss − smoothed loss| / smoothed
    /// loss` (the optimizer's loss smoothed).
    pub predicted_loss_median_rel_error: Option<f64>,
    /// The same for the central flow's own loss (no `tr X` term), for contrast.
    pub central_loss_median_rel_error: Option<f64>,
    /// `‖GD − central‖` at the last step.
    pub distance_to_central_end: Option<f64>,
    /// `‖GD − stable‖` at the last step.
    pub distance_to_stable_end: Option<f64>,
    /// Their ratio.
    pub distance_ratio_end: Option<f64>,
    /// Smallest and largest `central.sharpness / threshold` after the onset.
    pub central_sharpness_ratio_range: Option<(f64, f64)>,
    /// Pearson correlation, over the steps after the onset and every `i`, of `central.sigma_i`
    /// with the smoothed `delta_sq_i`.
    pub sigma_delta_correlation: Option<f64>,
    /// Mean smoothed `delta_sq_1` over mean `central.sigma_1` after the onset (1 when the
    /// variance prediction is exact on average).
    pub delta_sigma_ratio_1: Option<f64>,
    /// Steps on which the central flow's loss rose (relative rise above `1e-12`).
    pub central_loss_increases: usize,
    /// Largest relative rise of the central flow's loss from one step to the next.
    pub central_loss_max_rise: Option<f64>,
    /// Largest SDCP KKT residual.
    pub sdcp_max_residual: Option<f64>,
    /// SDCP solves that missed their tolerance (their best point was used).
    pub sdcp_not_converged: u64,
    /// Scalar RMSProp: median after the onset of the smoothed effective step size `η/√ν`
    /// over the central flow's `2/S` (1: GD's step size sits at the edge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_lr_edge_ratio: Option<f64>,
    /// Scalar RMSProp: median after the onset of `|smoothed η/√ν − central η/√ν| / central`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_lr_median_rel_error: Option<f64>,
    /// RMSProp: median after the onset, pooled over the recorded coordinates `i`, of
    /// `|smoothed ν_i − central ν_i| / central ν_i`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nu_median_rel_error: Option<f64>,
    /// RMSProp: the same against the stable flow's `ν_i`, for contrast.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nu_stable_median_rel_error: Option<f64>,
    /// The claims, checked.
    pub claims: Vec<Claim>,
    /// Whether every measurable claim holds.
    pub all_claims_hold: bool,
}

fn col<'a>(t: &'a Table, name: &str) -> &'a [f64] {
    t.f64_column(name).unwrap_or(&[])
}

fn last_finite(v: &[f64]) -> Option<f64> {
    v.iter().rev().copied().find(|x| x.is_finite())
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
    }
}

/// Pearson correlation of the finite pairs (`None` with fewer than 3 or no spread).
fn correlation(pairs: &[(f64, f64)]) -> Option<f64> {
    let pairs: Vec<_> = pairs
        .iter()
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .collect();
    let n = pairs.len() as f64;
    if pairs.len() < 3 {
        return None;
    }
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (a, b) in pairs {
        sab += (a - ma) * (b - mb);
        saa += (a - ma).powi(2);
        sbb += (b - mb).powi(2);
    }
    (saa > 0.0 && sbb > 0.0).then(|| sab / (saa * sbb).sqrt())
}

impl CentralFlowSummary {
    /// The summary of a run with a `central` process (`None` without one).
    pub fn from_table(t: &Table, smoothing: f64) -> Option<Self> {
        let k = t.f64_column("central.critical_k")?;
        let n = k.len();
        let steps: Vec<u64> = t
            .column("step")
            .and_then(|c| c.as_i64())
            .map(|s| s.iter().map(|&x| x.max(0) as u64).collect())
            .unwrap_or_else(|| (0..n as u64).collect());
        let onset = k.iter().position(|&k| k >= 1.0);
        let edge = (2.0 * smoothing).ceil() as usize;
        let window: Vec<usize> = match onset {
            Some(i0) => (i0.max(edge)..n.saturating_sub(edge)).collect(),
            None => Vec::new(),
        };
        let after: Vec<usize> = onset.map_or(Vec::new(), |i0| (i0..n).collect());
        let smooth_loss = gaussian_smooth(col(t, "loss"), smoothing);
        let rel_error = |name: &str| {
            let v = col(t, name);
            (!v.is_empty())
                .then(|| {
                    median(
                        window
                            .iter()
                            .map(|&i| ((v[i] - smooth_loss[i]) / smooth_loss[i]).abs())
                            .collect(),
                    )
                })
                .flatten()
        };
        // Median over the window of |smoothed optimizer column / reference − 1|.
        let smoothed_error = |optimizer: &str, reference: &str| {
            let (Some(v), Some(r)) = (t.f64_column(optimizer), t.f64_column(reference)) else {
                return None;
            };
            let v = gaussian_smooth(v, smoothing);
            median(window.iter().map(|&i| (v[i] / r[i] - 1.0).abs()).collect())
        };
        let effective_lr_edge_ratio = t.f64_column("central.edge_lr").and_then(|edge| {
            let v = gaussian_smooth(t.f64_column("effective_lr")?, smoothing);
            median(window.iter().map(|&i| v[i] / edge[i]).collect())
        });
        let nu_columns: Vec<&str> = t
            .names()
            .filter(|n| n.starts_with("nu[") && n.ends_with(']'))
            .collect();
        let pooled_nu_error = |flow: &str| {
            let errors: Vec<f64> = nu_columns
                .iter()
                .filter_map(|c| {
                    let (Some(v), Some(r)) =
                        (t.f64_column(c), t.f64_column(&format!("{flow}.{c}")))
                    else {
                        return None;
                    };
                    let v = gaussian_smooth(v, smoothing);
                    Some(
                        window
                            .iter()
                            .map(move |&i| (v[i] / r[i] - 1.0).abs())
                            .collect::<Vec<_>>(),
                    )
                })
                .flatten()
                .collect();
            (!errors.is_empty()).then(|| median(errors)).flatten()
        };
        let to_central = last_finite(col(t, "distance.central-discrete"));
        let to_stable = last_finite(col(t, "distance.discrete-stable"));
        let (sharp, thr) = (col(t, "central.sharpness"), col(t, "central.threshold"));
        let ratios: Vec<f64> = after
            .iter()
            .filter_map(|&i| Some(sharp.get(i)? / thr.get(i)?))
            .filter(|r| r.is_finite())
            .collect();
        let range = (!ratios.is_empty()).then(|| {
            (
                ratios.iter().copied().fold(f64::INFINITY, f64::min),
                ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        });
        let mut pairs = Vec::new();
        let mut ratio_1 = None;
        for i in 1.. {
            let (Some(sigma), Some(delta)) = (
                t.f64_column(&format!("central.sigma_{i}")),
                t.f64_column(&format!("delta_sq_{i}")),
            ) else {
                break;
            };
            let delta = gaussian_smooth(delta, smoothing);
            let window_pairs: Vec<(f64, f64)> =
                window.iter().map(|&j| (sigma[j], delta[j])).collect();
            if i == 1 {
                let finite: Vec<_> = window_pairs
                    .iter()
                    .filter(|(a, b)| a.is_finite() && b.is_finite())
                    .collect();
                let sum_sigma: f64 = finite.iter().map(|p| p.0).sum();
                ratio_1 =
                    (sum_sigma > 0.0).then(|| finite.iter().map(|p| p.1).sum::<f64>() / sum_sigma);
            }
            pairs.extend(window_pairs);
        }
        let loss = col(t, "central.loss");
        let rises: Vec<f64> = loss
            .windows(2)
            .filter(|w| w[0].is_finite() && w[1].is_finite())
            .map(|w| (w[1] - w[0]) / w[0].abs().max(f64::MIN_POSITIVE))
            .collect();
        let max_k = k
            .iter()
            .copied()
            .filter(|k| k.is_finite())
            .fold(0.0, f64::max) as usize;
        let mut s = Self {
            smoothing,
            onset_step: onset.map(|i| steps[i]),
            max_critical_k: max_k,
            steps_with_two_or_more_critical: k.iter().filter(|&&k| k >= 2.0).count(),
            predicted_loss_median_rel_error: rel_error("central.predicted_loss"),
            central_loss_median_rel_error: rel_error("central.loss"),
            distance_to_central_end: to_central,
            distance_to_stable_end: to_stable,
            distance_ratio_end: to_central.zip(to_stable).map(|(a, b)| a / b),
            central_sharpness_ratio_range: range,
            sigma_delta_correlation: correlation(&pairs),
            delta_sigma_ratio_1: ratio_1,
            central_loss_increases: rises.iter().filter(|&&r| r > 1e-12).count(),
            central_loss_max_rise: rises.iter().copied().reduce(f64::max),
            sdcp_max_residual: col(t, "central.sdcp_residual")
                .iter()
                .copied()
                .filter(|r| r.is_finite())
                .reduce(f64::max),
            sdcp_not_converged: col(t, "central.sdcp_not_converged")
                .iter()
                .filter(|c| c.is_finite())
                .sum::<f64>() as u64,
            effective_lr_edge_ratio,
            effective_lr_median_rel_error: smoothed_error("effective_lr", "central.effective_lr"),
            nu_median_rel_error: pooled_nu_error("central"),
            nu_stable_median_rel_error: pooled_nu_error("stable"),
            claims: Vec::new(),
            all_claims_hold: false,
        };
        s.claims = s.judge();
        s.all_claims_hold = s.claims.iter().all(|c| c.holds != Some(false));
        Some(s)
    }

    /// The claims and whether the run shows them.
    fn judge(&self) -> Vec<Claim> {
        let fmt = |v: Option<f64>| v.map_or("not measured".to_string(), |v| format!("{v:.4}"));
        let mut out = vec![Claim {
            claim: "several eigenvalues critical",
            holds: Some(self.max_critical_k >= 2),
            detail: format!(
                "at most {} eigenvalues critical at once ({} steps with two or more); onset at \
                 step {}",
                self.max_critical_k,
                self.steps_with_two_or_more_critical,
                self.onset_step
                    .map_or("— (never)".to_string(), |s| s.to_string())
            ),
        }];
        out.push(Claim {
            claim: "predicted loss matches the smoothed loss",
            holds: self
                .predicted_loss_median_rel_error
                .map(|e| e <= LOSS_ERROR_LIMIT),
            detail: format!(
                "median relative error of central.predicted_loss against the loss smoothed with \
                 σ = {} steps, after the onset: {} (limit {LOSS_ERROR_LIMIT}); the central \
                 flow's own loss: {}",
                self.smoothing,
                fmt(self.predicted_loss_median_rel_error),
                fmt(self.central_loss_median_rel_error)
            ),
        });
        out.push(Claim {
            claim: "GD follows the central flow, not the stable flow",
            holds: self.distance_ratio_end.map(|r| r <= DISTANCE_RATIO_LIMIT),
            detail: format!(
                "‖GD − central‖/‖GD − stable‖ at the end: {} / {} = {} (limit \
                 {DISTANCE_RATIO_LIMIT})",
                fmt(self.distance_to_central_end),
                fmt(self.distance_to_stable_end),
                fmt(self.distance_ratio_end)
            ),
        });
        out.push(Claim {
            claim: "the central flow stays at or below the edge",
            holds: self
                .central_sharpness_ratio_range
                .map(|(_, hi)| hi <= SHARPNESS_LIMIT),
            detail: format!(
                "central.sharpness/threshold after the onset in {} (limit {SHARPNESS_LIMIT})",
                self.central_sharpness_ratio_range
                    .map_or("— (not measured)".into(), |(a, b)| format!(
                        "[{a:.4}, {b:.4}]"
                    ))
            ),
        });
        out.push(Claim {
            claim: "Σ predicts GD's oscillation",
            holds: self.sigma_delta_correlation.map(|c| c >= CORRELATION_LIMIT),
            detail: format!(
                "correlation of central.sigma_i with the smoothed delta_sq_i after the onset: {} \
                 (limit {CORRELATION_LIMIT}); mean smoothed delta_sq_1 / mean sigma_1: {}",
                fmt(self.sigma_delta_correlation),
                fmt(self.delta_sigma_ratio_1)
            ),
        });
        out.push(Claim {
            claim: "the loss falls monotonically along the central flow",
            holds: Some(self.central_loss_increases == 0),
            detail: format!(
                "{} steps with a rise of central.loss (largest relative change from one step to \
                 the next: {})",
                self.central_loss_increases,
                fmt(self.central_loss_max_rise)
            ),
        });
        if self.effective_lr_edge_ratio.is_some() || self.effective_lr_median_rel_error.is_some() {
            out.push(Claim {
                claim: "η/√ν settles at 2/S",
                holds: self
                    .effective_lr_edge_ratio
                    .map(|r| (r - 1.0).abs() <= EDGE_LR_TOLERANCE),
                detail: format!(
                    "median smoothed effective_lr / central.edge_lr after the onset: {} (within \
                     {EDGE_LR_TOLERANCE} of 1)",
                    fmt(self.effective_lr_edge_ratio)
                ),
            });
            out.push(Claim {
                claim: "the central flow predicts η/√ν",
                holds: self
                    .effective_lr_median_rel_error
                    .map(|e| e <= EFFECTIVE_LR_ERROR_LIMIT),
                detail: format!(
                    "median relative error of central.effective_lr against the smoothed \
                     effective_lr after the onset: {} (limit {EFFECTIVE_LR_ERROR_LIMIT})",
                    fmt(self.effective_lr_median_rel_error)
                ),
            });
        }
        if self.nu_median_rel_error.is_some() {
            out.push(Claim {
                claim: "the central flow predicts ν",
                holds: self.nu_median_rel_error.map(|e| {
                    e <= NU_ERROR_LIMIT && self.nu_stable_median_rel_error.is_none_or(|s| e < s)
                }),
                detail: format!(
                    "median relative error of central.nu[i] against the smoothed nu[i] after the \
                     onset, pooled over the recorded coordinates: {} (limit {NU_ERROR_LIMIT}, and \
                     below the stable flow's: {})",
                    fmt(self.nu_median_rel_error),
                    fmt(self.nu_stable_median_rel_error)
                ),
            });
        }
        out.push(Claim {
            claim: "every SDCP solve converged",
            holds: Some(self.sdcp_not_converged == 0),
            detail: format!(
                "{} solves missed their tolerance; largest KKT residual {}",
                self.sdcp_not_converged,
                self.sdcp_max_residual
                    .map_or("—".into(), |r| format!("{r:.1e}"))
            ),
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_constants_and_linear_interiors() {
        let c = gaussian_smooth(&[2.0; 50], 3.0);
        assert!(c.iter().all(|v| (v - 2.0).abs() < 1e-12));
        let line: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let s = gaussian_smooth(&line, 4.0);
        // Symmetric weights reproduce a line away from the padded edges.
        assert!((20..80).all(|i| (s[i] - line[i]).abs() < 1e-9));
        // An alternating sequence averages to its mean
        let alt: Vec<f64> = (0..200).map(|i| 1.0 + (-1f64).powi(i)).collect();
        let s = gaussian_smooth(&alt, 10.0);
        // (to the truncation at 4σ: a weight e⁻⁸ at the ends)
        assert!((s[100] - 1.0).abs() < 1e-4, "{}", s[100]);
        // NaN is skipped.
        let mut gap = vec![1.0; 30];
        gap[10] = f64::NAN;
        assert!(gaussian_smooth(&gap, 2.0)
            .iter()
            .all(|v| (v - 1.0).abs() < 1e-12));
        assert_eq!(gaussian_smooth(&[1.0, 3.0], 0.0), vec![1.0, 3.0]);
    }

    fn table(columns: &[(&str, Vec<f64>)]) -> Table {
        let n = columns[0].1.len();
        let mut t = Table::new();
        t.push_i64("step", (0..n as i64).collect()).unwrap();
        for (name, v) in columns {
            t.push_f64(name, v.clone()).unwrap();
        }
        t
    }

    /// A made-up run where GD oscillates around the central flow by ±a with a² = X: every claim
    /// holds, with the numbers computed by hand.
    #[test]
    fn summary_of_a_constructed_run() {
        let n = 200;
        let x = 0.04;
        let onset = 50;
        let k: Vec<f64> = (0..n)
            .map(|i| {
                if i < onset {
                    0.0
                } else if i < 120 {
                    1.0
                } else {
                    2.0
                }
            })
            .collect();
        let cf_loss: Vec<f64> = (0..n).map(|i| 1.0 - 0.002 * i as f64).collect();
        let sigma: Vec<f64> = (0..n)
            .map(|i| {
                if i < onset {
                    0.0
                } else {
                    x * (1.0 + 0.5 * (i as f64 / 10.0).sin())
                }
            })
            .collect();
        let gd_loss: Vec<f64> = (0..n)
            .map(|i| cf_loss[i] + 2.0 * sigma[i] * (i % 2) as f64)
            .collect();
        let predicted: Vec<f64> = (0..n).map(|i| cf_loss[i] + sigma[i]).collect();
        let t = table(&[
            ("loss", gd_loss),
            ("central.loss", cf_loss),
            ("central.predicted_loss", predicted),
            ("central.critical_k", k),
            ("central.sigma_1", sigma.clone()),
            ("delta_sq_1", sigma.clone()),
            ("central.sharpness", vec![9.99; n]),
            ("central.threshold", vec![10.0; n]),
            ("distance.central-discrete", vec![0.01; n]),
            ("distance.discrete-stable", vec![0.5; n]),
            ("central.sdcp_residual", vec![1e-14; n]),
            ("central.sdcp_not_converged", vec![0.0; n]),
        ]);
        let s = CentralFlowSummary::from_table(&t, 5.0).unwrap();
        assert_eq!(s.onset_step, Some(50));
        assert_eq!(s.max_critical_k, 2);
        assert_eq!(s.steps_with_two_or_more_critical, 80);
        assert!(s.predicted_loss_median_rel_error.unwrap() < 0.01);
        assert!(s.central_loss_median_rel_error.unwrap() > 0.03);
        assert!((s.distance_ratio_end.unwrap() - 0.02).abs() < 1e-15);
        assert_eq!(s.central_sharpness_ratio_range, Some((0.999, 0.999)));
        assert!((s.delta_sigma_ratio_1.unwrap() - 1.0).abs() < 0.01);
        assert!(s.sigma_delta_correlation.unwrap() > 0.95);
        assert_eq!(s.central_loss_increases, 0);
        assert!(s.all_claims_hold, "{:#?}", s.claims);
        assert!(CentralFlowSummary::from_table(&table(&[("loss", vec![1.0; 5])]), 1.0).is_none());
    }

    /// The adaptive verdicts on constructed runs: a scalar RMSProp step size oscillating around
    /// the central flow's `2/S`, and RMSProp `ν` oscillating around the central flow's, away
    /// from the stable flow's; then the same runs with the prediction off.
    #[test]
    fn adaptive_verdicts_on_constructed_runs() {
        let n = 120;
        let onset = 20;
        let k: Vec<f64> = (0..n).map(|i| f64::from(u8::from(i >= onset))).collect();
        let around = |c: f64, a: f64| -> Vec<f64> {
            (0..n)
                .map(|i| c + if i % 2 == 0 { a } else { -a })
                .collect()
        };
        let base = |extra: Vec<(&str, Vec<f64>)>| {
            let mut cols = vec![
                ("loss", vec![1.0; n]),
                ("central.loss", vec![1.0; n]),
                ("central.critical_k", k.clone()),
            ];
            cols.extend(extra);
            table(&cols)
        };
        let scalar = |central: f64| {
            base(vec![
                ("effective_lr", around(0.2, 0.02)),
                ("central.effective_lr", vec![central; n]),
                ("central.edge_lr", vec![central; n]),
            ])
        };
        let s = CentralFlowSummary::from_table(&scalar(0.2), 3.0).unwrap();
        assert!(
            (s.effective_lr_edge_ratio.unwrap() - 1.0).abs() < 1e-3,
            "{s:#?}"
        );
        assert!(s.effective_lr_median_rel_error.unwrap() < 1e-3);
        let names: Vec<_> = s.claims.iter().map(|c| (c.claim, c.holds)).collect();
        assert!(
            names.contains(&("η/√ν settles at 2/S", Some(true))),
            "{names:?}"
        );
        assert!(names.contains(&("the central flow predicts η/√ν", Some(true))));
        assert!(s.nu_median_rel_error.is_none());
        let off = CentralFlowSummary::from_table(&scalar(0.3), 3.0).unwrap();
        assert!((off.effective_lr_edge_ratio.unwrap() - 2.0 / 3.0).abs() < 1e-3);
        assert!(off
            .claims
            .iter()
            .filter(|c| c.claim.contains("η/√ν"))
            .all(|c| c.holds == Some(false)));

        let rms = |central: f64| {
            base(vec![
                ("nu[3]", around(1e-4, 2e-5)),
                ("central.nu[3]", vec![central; n]),
                ("stable.nu[3]", vec![5e-5; n]),
            ])
        };
        let s = CentralFlowSummary::from_table(&rms(1e-4), 3.0).unwrap();
        assert!(s.nu_median_rel_error.unwrap() < 1e-3, "{s:#?}");
        assert!((s.nu_stable_median_rel_error.unwrap() - 1.0).abs() < 1e-3);
        assert!(s.effective_lr_edge_ratio.is_none());
        let claim = |s: &CentralFlowSummary| {
            s.claims
                .iter()
                .find(|c| c.claim == "the central flow predicts ν")
                .unwrap()
                .holds
        };
        assert_eq!(claim(&s), Some(true));
        // 40 % off: above the limit.
        assert_eq!(
            claim(&CentralFlowSummary::from_table(&rms(1.4e-4), 3.0).unwrap()),
            Some(false)
        );
        // GD runs have none of these claims.
        let gd = CentralFlowSummary::from_table(&base(Vec::new()), 3.0).unwrap();
        assert!(gd
            .claims
            .iter()
            .all(|c| !c.claim.contains('ν') && !c.claim.contains("η/√ν")));
    }

    #[test]
    fn a_rising_central_loss_and_a_late_edge_are_reported() {
        let n = 40;
        let t = table(&[
            ("loss", vec![1.0; n]),
            (
                "central.loss",
                (0..n).map(|i| 1.0 + (i % 3) as f64).collect(),
            ),
            ("central.critical_k", vec![0.0; n]),
        ]);
        let s = CentralFlowSummary::from_table(&t, 2.0).unwrap();
        assert_eq!(s.onset_step, None);
        assert!(s.central_loss_increases > 0);
        assert!(!s.all_claims_hold);
        assert_eq!(s.claims[1].holds, None);
    }
}
