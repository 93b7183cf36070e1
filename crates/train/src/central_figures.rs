//! The central-flow figures of a training run (docs/central-flows.md "Figures"), drawn when the
//! run has a `central` process:
//!
//! - `central_loss`: the optimizer's loss, raw and Gaussian-smoothed (σ =
//!   `process.central.smoothing`), the central flow's loss, its predicted time average
//!   `L + tr X` and the stable flow's loss;
//! - `central_eigenvalues`: the top eigenvalues of every process with the threshold 2/η;
//! - `central_distance`: `‖GD − central‖` and `‖GD − stable‖`;
//! - `central_sigma`: the eigenvalues of `X` against the smoothed squared displacements
//!   `delta_sq_i` of the optimizer from the flow in their eigenbasis;
//! - `central_outputs`: network outputs on test examples, the optimizer's raw and smoothed
//!   against the central flow's predicted time average (`process.central.outputs > 0`);
//! - `central_step_size` (scalar RMSProp): effective step sizes `η/√ν` against `2/S`;
//! - `central_nu` (RMSProp): `ν` at chosen coordinates, optimizer against the flows.

use gdscope_io::Table;
use gdscope_plot::{Figure, LinePlot, Series, SeriesKind};

use crate::central::gaussian_smooth;

/// The processes drawn, with their legend names and colours.
const PROCESSES: [(&str, &str, usize); 3] = [
    ("", "GD", 0),
    ("stable", "stable flow", 3),
    ("central", "central flow", 7),
];

/// Figure stems this module (and, `contour`, `gdscope reproduce central-flow`) may write.
pub const STEMS: [&str; 8] = [
    "contour",
    "central_loss",
    "central_eigenvalues",
    "central_distance",
    "central_sigma",
    "central_outputs",
    "central_step_size",
    "central_nu",
];

struct Columns<'a> {
    t: &'a Table,
    steps: Vec<f64>,
}

impl Columns<'_> {
    fn get(&self, name: &str) -> Option<&[f64]> {
        self.t
            .f64_column(name)
            .filter(|v| v.iter().any(|x| x.is_finite()))
    }

    /// A series of column `name` (`None` when it was never measured); NaN gaps joined.
    fn series(&self, label: &str, name: &str, kind: SeriesKind, color: usize) -> Option<Series> {
        self.get(name).map(|y| self.of(label, y, kind, color))
    }

    fn of(&self, label: &str, y: &[f64], kind: SeriesKind, color: usize) -> Series {
        let (x, y) = self
            .steps
            .iter()
            .zip(y)
            .filter(|(_, y)| y.is_finite())
            .map(|(x, y)| (*x, *y))
            .unzip();
        Series {
            label: label.into(),
            x,
            y,
            kind,
            color: Some(color),
        }
    }
}

fn name(process: &str, metric: &str) -> String {
    gdscope_dynamics::record::column_name(
        if process.is_empty() {
            "discrete"
        } else {
            process
        },
        metric,
    )
}

/// The eigenvalue axis ends at this multiple of the final threshold.
const EIG_CAP: f64 = 6.0;
/// The step-size axis ends at this multiple of the largest optimizer or central-flow value.
const STEP_SIZE_CAP: f64 = 1.5;

/// `Some((lo, cap))` when some value of `series` exceeds `cap` (`lo` the smallest value or 0),
/// `None` (fit the data) otherwise or when `cap` is not a positive number.
fn cap_range(series: &[Series], cap: f64) -> Option<(f64, f64)> {
    let values = || series.iter().flat_map(|s| s.y.iter().copied());
    let hi = values().fold(f64::NEG_INFINITY, f64::max);
    let lo = values().fold(0.0, f64::min);
    (cap > 0.0 && cap.is_finite() && hi > cap).then_some((lo, cap))
}

fn plot(title: &str, y_label: &str, series: Vec<Series>) -> LinePlot {
    LinePlot {
        title: title.into(),
        x_label: "step".into(),
        y_label: y_label.into(),
        series,
        ..LinePlot::default()
    }
}

/// `(file stem, figure)` for every central-flow figure the metrics support (none without a
/// `central` process); `smoothing` is σ in steps.
pub fn central_plots(t: &Table, smoothing: f64) -> Vec<(&'static str, Figure)> {
    if t.f64_column("central.loss").is_none() {
        return Vec::new();
    }
    let c = Columns {
        t,
        steps: t
            .column("step")
            .and_then(|s| s.as_i64())
            .map(|s| s.iter().map(|&x| x as f64).collect())
            .unwrap_or_default(),
    };
    let smoothed = format!("GD smoothed (σ = {smoothing} steps)");
    let mut out = Vec::new();

    let mut loss = Vec::new();
    if let Some(l) = c.get("loss") {
        loss.push(c.of("GD", l, SeriesKind::Line, 9));
        loss.push(c.of(
            &smoothed,
            &gaussian_smooth(l, smoothing),
            SeriesKind::Line,
            0,
        ));
    }
    loss.extend(c.series("stable flow", "stable.loss", SeriesKind::Dashed, 3));
    loss.extend(c.series("central flow", "central.loss", SeriesKind::Line, 7));
    loss.extend(c.series(
        "central flow prediction L + tr X",
        "central.predicted_loss",
        SeriesKind::Dashed,
        1,
    ));
    out.push((
        "central_loss",
        plot("Loss: GD, its central flow and stable flow", "loss", loss).into(),
    ));

    let mut eigs = plot(
        "Top Hessian eigenvalues of each process",
        "eigenvalue",
        Vec::new(),
    );
    for (process, label, _) in PROCESSES {
        let kind = match process {
            "" => SeriesKind::Points,
            "stable" => SeriesKind::Dashed,
            _ => SeriesKind::Line,
        };
        for i in 1.. {
            let Some(y) = c.get(&name(process, &format!("eig_{i}"))) else {
                break;
            };
            let label = if i == 1 {
                format!(
                    "{label} ({})",
                    ["points", "dashed", "lines"][kind_index(kind)]
                )
            } else {
                String::new()
            };
            eigs.series.push(c.of(&label, y, kind, i - 1));
        }
    }
    crate::figures::add_threshold(&mut eigs, t, &c.steps);
    // A stable flow that sharpens without bound, or the threshold 2/η of a warm-up's first
    // steps, would flatten everything else: cap the axis at `EIG_CAP` times the final
    // threshold (the curves run off the top).
    if let Some(&thr) = t.f64_column("threshold").and_then(|v| v.last()) {
        eigs.y_range = cap_range(&eigs.series, EIG_CAP * thr);
    }
    if !eigs.series.is_empty() {
        out.push(("central_eigenvalues", eigs.into()));
    }

    let distance: Vec<Series> = [
        ("‖GD − central flow‖", "distance.central-discrete", 7),
        ("‖GD − stable flow‖", "distance.discrete-stable", 3),
    ]
    .into_iter()
    .filter_map(|(label, col, color)| c.series(label, col, SeriesKind::Line, color))
    .collect();
    if !distance.is_empty() {
        out.push((
            "central_distance",
            plot(
                "Distance of GD from its central and stable flows",
                "‖w_GD − w‖",
                distance,
            )
            .into(),
        ));
    }

    // The largest few eigenvalues of X (at most 4, each reaching 5% of the largest).
    let sigmas: Vec<&[f64]> = (1..)
        .map_while(|i| c.t.f64_column(&format!("central.sigma_{i}")))
        .collect();
    let peak = |s: &[f64]| {
        s.iter()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max)
    };
    let top = sigmas.first().map_or(0.0, |s| peak(s));
    let mut sigma = Vec::new();
    for (i, s) in sigmas.iter().enumerate().take(4) {
        if top <= 0.0 || peak(s) < 0.05 * top {
            break;
        }
        let n = i + 1;
        sigma.push(c.of(
            &format!("σ{n}: eigenvalue {n} of X"),
            s,
            SeriesKind::Line,
            i,
        ));
        if let Some(d) = c.get(&format!("delta_sq_{n}")) {
            sigma.push(c.of(
                &format!("δ{n}² smoothed (σ = {smoothing})"),
                &gaussian_smooth(d, smoothing),
                SeriesKind::Dashed,
                i,
            ));
        }
    }
    if !sigma.is_empty() {
        out.push((
            "central_sigma",
            plot(
                "Oscillation covariance: predicted X against GD's displacement",
                "variance (effective units)",
                sigma,
            )
            .into(),
        ));
    }

    let outputs: Vec<Figure> = (1..=4)
        .map_while(|j| {
            let gd = c.get(&format!("output_{j}"))?;
            let mut s = vec![
                c.of("GD", gd, SeriesKind::Line, 9),
                c.of(
                    &smoothed,
                    &gaussian_smooth(gd, smoothing),
                    SeriesKind::Line,
                    0,
                ),
            ];
            s.extend(c.series(
                "stable flow",
                &format!("stable.output_{j}"),
                SeriesKind::Dashed,
                3,
            ));
            s.extend(c.series(
                "central flow prediction",
                &format!("central.output_{j}"),
                SeriesKind::Line,
                7,
            ));
            Some(plot(&format!("Network output on test example {j}"), "output", s).into())
        })
        .collect();
    if !outputs.is_empty() {
        out.push((
            "central_outputs",
            Figure::Grid {
                cols: outputs.len().min(2),
                panels: outputs,
            },
        ));
    }

    let mut lr = Vec::new();
    for (process, label, color) in PROCESSES {
        lr.extend(c.series(
            &format!("{label}: η/√ν"),
            &name(process, "effective_lr"),
            if process.is_empty() {
                SeriesKind::Line
            } else {
                SeriesKind::Dashed
            },
            color,
        ));
    }
    lr.extend(c.series(
        "2/S at the central flow",
        "central.edge_lr",
        SeriesKind::Line,
        1,
    ));
    if !lr.is_empty() {
        // The stable flow's η/√ν grows without bound once it sharpens past the edge: cap the
        // axis at `STEP_SIZE_CAP` times the largest of the other curves.
        let others = lr
            .iter()
            .filter(|s| !s.label.starts_with("stable"))
            .flat_map(|s| s.y.iter().copied())
            .fold(0.0, f64::max);
        let mut figure = plot(
            "Scalar RMSProp: effective step size against 2/sharpness",
            "step size",
            lr,
        );
        figure.y_range = cap_range(&figure.series, STEP_SIZE_CAP * others);
        out.push(("central_step_size", figure.into()));
    }

    let nu: Vec<Figure> =
        c.t.names()
            .filter_map(|n| n.strip_prefix("nu["))
            .take(4)
            .map(|index| {
                let col = format!("nu[{index}");
                let s = PROCESSES
                    .iter()
                    .filter_map(|(process, label, color)| {
                        let kind = if process.is_empty() {
                            SeriesKind::Line
                        } else {
                            SeriesKind::Dashed
                        };
                        c.series(label, &name(process, &col), kind, *color)
                    })
                    .collect();
                plot(
                    &format!("RMSProp: ν at parameter {}", index.trim_end_matches(']')),
                    "ν",
                    s,
                )
                .into()
            })
            .collect();
    if !nu.is_empty() {
        out.push((
            "central_nu",
            Figure::Grid {
                cols: nu.len().min(2),
                panels: nu,
            },
        ));
    }
    out
}

fn kind_index(kind: SeriesKind) -> usize {
    match kind {
        SeriesKind::Points => 0,
        SeriesKind::Dashed => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &str, y: &[f64]) -> Series {
        Series {
            label: label.into(),
            x: (0..y.len()).map(|i| i as f64).collect(),
            y: y.to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn the_axis_is_capped_only_when_a_curve_runs_past_the_cap() {
        let s = [series("a", &[-1.0, 2.0]), series("b", &[0.5, 40.0])];
        assert_eq!(cap_range(&s, 10.0), Some((-1.0, 10.0)));
        assert_eq!(cap_range(&s, 50.0), None);
        assert_eq!(cap_range(&s, f64::NAN), None);
        assert_eq!(
            cap_range(&[series("c", &[1.0, 3.0])], 2.0),
            Some((0.0, 2.0))
        );
    }

    /// A warm-up schedule: the threshold is drawn as a curve, and its huge first values (and a
    /// stable flow past the edge) do not set the eigenvalue axis; a scalar RMSProp stable flow
    /// running away does not set the step-size axis.
    #[test]
    fn runaway_curves_do_not_set_the_axes() {
        let n = 50;
        let mut t = Table::new();
        t.push_i64("step", (0..n as i64).collect()).unwrap();
        let col = |f: &dyn Fn(f64) -> f64| (0..n).map(|i| f(i as f64)).collect::<Vec<f64>>();
        for (name, v) in [
            ("loss", col(&|_| 1.0)),
            ("central.loss", col(&|_| 1.0)),
            ("threshold", col(&|i| 2.0 / (0.1 * (i + 1.0) / n as f64))),
            ("eig_1", col(&|_| 20.0)),
            ("central.eig_1", col(&|_| 20.0)),
            ("stable.eig_1", col(&|i| 20.0 + 10.0 * i)),
            ("effective_lr", col(&|_| 0.1)),
            ("central.effective_lr", col(&|_| 0.1)),
            ("central.edge_lr", col(&|_| 0.1)),
            ("stable.effective_lr", col(&|i| 0.1 * (1.0 + i))),
        ] {
            t.push_f64(name, v).unwrap();
        }
        let plots = central_plots(&t, 2.0);
        let line = |stem: &str| match &plots.iter().find(|(s, _)| *s == stem).unwrap().1 {
            Figure::Line(p) => p.clone(),
            _ => panic!("{stem} is not a line plot"),
        };
        let eigs = line("central_eigenvalues");
        assert!(eigs.series.iter().any(|s| s.label == "threshold"));
        assert_eq!(eigs.y_range, Some((0.0, EIG_CAP * 20.0)));
        let lr = line("central_step_size");
        let (lo, hi) = lr.y_range.unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - STEP_SIZE_CAP * 0.1).abs() < 1e-15, "{hi}");
    }
}
