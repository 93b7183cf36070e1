//! GD, its gradient flow and its central flow on the contour plot of a function of two
//! variables (docs/central-flows.md "The 2-D figure"): the three processes run in lockstep by
//! `gdscope_dynamics`' driver from the same start, their paths drawn over the level sets.
//! `gdscope reproduce central-flow` draws it for Berthier's minimal example
//! `½(y + x)x² − ε(x + y)`, where GD oscillates across the valley `x = 0` while the
//! central flow runs down its middle and the gradient flow sharpens past `2/η`.

use gdscope_core::optimizer::OptimizerConfig;
use gdscope_core::schedule::LrSchedule;
use gdscope_core::Objective;
use gdscope_dynamics::{
    Driver, Problem, ProcessName, ProcessSettings, RunSpec, StopConfig, TrackingConfig,
};
use gdscope_plot::{ContourPlot, Series, SeriesKind};

/// The three paths of [`flows_on_contour`].
#[derive(Debug, Clone)]
pub struct Paths2d {
    /// GD, its gradient flow, its central flow: `(x, y)` per step, the start first.
    pub paths: [Vec<[f64; 2]>; 3],
    /// The contour figure.
    pub figure: ContourPlot,
}

/// Runs GD at step size `lr`, its stable (gradient) flow and its central flow for `steps`
/// steps from `w0` on the 2-variable `obj` and draws their paths on its contour plot over
/// `x_range × y_range`.
pub fn flows_on_contour(
    obj: &dyn Objective,
    lr: f64,
    w0: [f64; 2],
    steps: u64,
    x_range: (f64, f64),
    y_range: (f64, f64),
    title: &str,
) -> anyhow::Result<Paths2d> {
    anyhow::ensure!(
        obj.dim() == 2,
        "the contour figure needs a function of two variables, not {}",
        obj.dim()
    );
    let spec = RunSpec {
        seed: 0,
        steps,
        batch_size: 0,
        optimizer: OptimizerConfig::gd(lr),
        schedule: LrSchedule::Constant,
        processes: vec![
            ProcessName::Discrete,
            ProcessName::Stable,
            ProcessName::Central,
        ],
        process: ProcessSettings::default(),
        tracking: TrackingConfig {
            every: 0,
            eval_every: 0,
            ..TrackingConfig::default()
        },
        stop: StopConfig::default(),
        noise: gdscope_dynamics::GradientNoise::default(),
    };
    let mut driver = Driver::new(spec, Problem::objective(obj), w0.to_vec())?;
    let point = |d: &Driver, i: usize| {
        let w = d.processes()[i].get().point();
        [w[0], w[1]]
    };
    let mut paths: [Vec<[f64; 2]>; 3] = std::array::from_fn(|i| vec![point(&driver, i)]);
    while driver.step(Problem::objective(obj))?.is_some() {
        for (i, path) in paths.iter_mut().enumerate() {
            path.push(point(&driver, i));
        }
    }
    if let Some((p, reason)) = driver.halted().first() {
        anyhow::bail!("process {} stopped: {reason}", p.as_str());
    }
    let (nx, ny) = (161, 161);
    let values = (0..ny)
        .flat_map(|j| {
            let y = y_range.0 + (y_range.1 - y_range.0) * j as f64 / (ny - 1) as f64;
            (0..nx).map(move |i| {
                let x = x_range.0 + (x_range.1 - x_range.0) * i as f64 / (nx - 1) as f64;
                (x, y)
            })
        })
        .map(|(x, y)| obj.value(&[x, y]))
        .collect();
    let styles = [
        ("GD", SeriesKind::Points, 0),
        ("gradient flow (stable)", SeriesKind::Line, 3),
        ("central flow", SeriesKind::Line, 7),
    ];
    let figure = ContourPlot {
        title: title.into(),
        x_label: "x".into(),
        y_label: "y".into(),
        x_range,
        y_range,
        nx,
        ny,
        values,
        levels: 14,
        log_levels: false,
        paths: paths
            .iter()
            .zip(styles)
            .map(|(p, (label, kind, color))| Series {
                label: label.into(),
                x: p.iter().map(|q| q[0]).collect(),
                y: p.iter().map(|q| q[1]).collect(),
                kind,
                color: Some(color),
            })
            .collect(),
        markers: vec![(w0[0], w0[1], "start".into())],
        value_label: "f(x, y)".into(),
        ..ContourPlot::default()
    };
    Ok(Paths2d { paths, figure })
}
