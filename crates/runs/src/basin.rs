//! The `basin` run: GD from every start of a 2-D grid, each start classified (diverged /
//! +q1 / −q1 / alternating along ±qn / other) — the basin `V_η` of the paper
//! (docs/direction.md, docs/theory.md). [`BasinRunSpec`] says what to run; [`run`] runs it
//! (one unit of progress per start) and writes `config.toml`, `summary.json`,
//! `outcomes.parquet` (one row per start) and the map `basin.png`/`.svg`.

use anyhow::{bail, Result};
use gdscope_direction::basin::{
    basin_map_with_progress, BasinClass, BasinCounts, BasinMap, BasinSpec, BatchGradient,
};
use gdscope_direction::{examine_point, find_minimum, predict, Regime, Thresholds, Tolerances};
use gdscope_expr::{GradientKernel, KernelScratch};
use gdscope_io::Table;
use gdscope_plot::{CategoryMap, Format};
use serde::{Deserialize, Serialize};

use crate::{write_config, ObjectiveSpec, Output, Reporter, ResolvedObjective};

/// What `gdscope basin` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasinRunSpec {
    /// The function f (of two variables).
    pub objective: ObjectiveSpec,
    /// Range of the first variable.
    #[serde(default = "default_range")]
    pub x_range: [f64; 2],
    /// Range of the second variable.
    #[serde(default = "default_range")]
    pub y_range: [f64; 2],
    /// Starts per axis (N × N starts, NumPy linspace on both axes).
    #[serde(default = "default_resolution")]
    pub resolution: usize,
    /// Learning rate η.
    pub lr: f64,
    /// GD steps per start.
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// The minimum x* (default: the known minimum, else damped Newton from the box centre).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Vec<f64>>,
}

fn default_range() -> [f64; 2] {
    [-0.5, 0.5]
}

fn default_resolution() -> usize {
    200
}

fn default_steps() -> usize {
    1000
}

impl BasinRunSpec {
    /// The default map of `objective` at rate `lr`.
    pub fn new(objective: ObjectiveSpec, lr: f64) -> BasinRunSpec {
        BasinRunSpec {
            objective,
            x_range: default_range(),
            y_range: default_range(),
            resolution: default_resolution(),
            lr,
            steps: default_steps(),
            minimum: None,
        }
    }
}

/// What a basin run found.
#[derive(Debug, Clone)]
pub struct BasinRun {
    /// The objective the spec resolved to.
    pub objective: ResolvedObjective,
    /// Counts, thresholds, prediction.
    pub summary: BasinSummary,
    /// Every start's outcome.
    pub map: BasinMap,
}

/// The expression engine's compiled gradient as a [`BatchGradient`].
struct ExprBatch(GradientKernel);

impl BatchGradient for ExprBatch {
    type Scratch = KernelScratch;
    fn dim(&self) -> usize {
        self.0.nvars()
    }
    fn scratch(&self, chunk: usize) -> KernelScratch {
        KernelScratch::new(&self.0, chunk)
    }
    fn grad_batch(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], scratch: &mut KernelScratch) {
        self.0.eval_grad_batch(xs, grads, scratch);
    }
}

/// `summary.json` of a basin run, and the CLI's `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct BasinSummary {
    /// Name of the objective (built-in, or `expr`).
    pub objective: String,
    /// The expression evaluated.
    pub expr: String,
    /// The grid, learning rate and steps.
    pub spec: BasinSpec,
    /// The minimum x* outcomes are classified around.
    pub minimum: Vec<f64>,
    /// Hessian eigenvalues at x*.
    pub eigenvalues: Vec<f64>,
    /// 2/(λ1+λn) and 2/λn at x*.
    pub thresholds: Thresholds,
    /// Theorem 1's regime at this η.
    pub regime_predicted: Regime,
    /// How many starts ended in each class.
    pub counts: BasinCounts,
    /// Fraction of starts with ‖x_K − x*‖ < 1e-8.
    pub converged_fraction: f64,
    /// Wall time of the map in seconds.
    pub elapsed_s: f64,
}

/// Maps the basin and, with `output`, writes its run directory.
pub fn run(
    spec: &BasinRunSpec,
    output: Option<&Output>,
    reporter: &dyn Reporter,
) -> Result<BasinRun> {
    let resolved = spec.objective.resolve()?;
    if resolved.vars.len() != 2 {
        bail!(
            "basin maps need a function of 2 variables; this one has {} ({})",
            resolved.vars.len(),
            resolved.vars.join(",")
        );
    }
    let grid = BasinSpec {
        x_range: spec.x_range,
        y_range: spec.y_range,
        resolution: spec.resolution,
        lr: spec.lr,
        steps: spec.steps,
    };
    grid.validate()?;
    let tol = Tolerances::default();
    let obj = &resolved.objective;
    let min = match (&spec.minimum, &resolved.known_minimum) {
        (Some(x), _) => examine_point(obj, x, &tol)?,
        (None, Some(x)) => find_minimum(obj, x, &tol)?,
        (None, None) => {
            let centre = [
                0.5 * (grid.x_range[0] + grid.x_range[1]),
                0.5 * (grid.y_range[0] + grid.y_range[1]),
            ];
            find_minimum(obj, &centre, &tol)?
        }
    };
    let prediction = predict(&min, spec.lr, &tol);
    reporter.start(
        "basin",
        (grid.resolution * grid.resolution) as u64,
        "starts",
    );
    let map = basin_map_with_progress(&ExprBatch(obj.gradient_kernel()), &min, &grid, &tol, &|n| {
        reporter.advance(n as u64)
    });
    reporter.finish();
    let map = map?;
    let summary = BasinSummary {
        objective: resolved.name.clone(),
        expr: resolved.expr.clone(),
        spec: grid,
        minimum: min.x.clone(),
        eigenvalues: min.eigenvalues.clone(),
        thresholds: prediction.thresholds,
        regime_predicted: prediction.regime,
        counts: map.counts.clone(),
        converged_fraction: map.counts.converged as f64 / map.counts.total as f64,
        elapsed_s: map.elapsed_s,
    };
    if let Some(output) = output {
        let run = output.create()?;
        let config = serde_json::json!({"objective": &resolved, "grid": &summary.spec,
                                        "minimum": &min.x, "tolerances": &tol});
        write_config(&run, "basin", spec, config)?;
        run.write_json("summary.json", &summary)?;
        run.write_metrics("outcomes", &outcomes_table(&map)?, output.csv)?;
        let title = format!(
            "basin of {} at η = {} ({})",
            resolved.name,
            spec.lr,
            prediction.regime.as_str()
        );
        gdscope_plot::save(
            &image(&map, title).into(),
            &run.file("basin"),
            &[Format::Png, Format::Svg],
        )?;
    }
    Ok(BasinRun {
        objective: resolved,
        summary,
        map,
    })
}

fn outcomes_table(map: &BasinMap) -> Result<Table> {
    let starts: Vec<[f64; 2]> = (0..map.outcomes.len()).map(|i| map.spec.start(i)).collect();
    let mut t = Table::new();
    t.push_f64("x0", starts.iter().map(|s| s[0]).collect())?;
    t.push_f64("y0", starts.iter().map(|s| s[1]).collect())?;
    t.push_str(
        "class",
        map.outcomes
            .iter()
            .map(|o| o.class.as_str().to_string())
            .collect(),
    )?;
    t.push_bool(
        "converged",
        map.outcomes.iter().map(|o| o.converged).collect(),
    )?;
    t.push_f64(
        "final_distance",
        map.outcomes.iter().map(|o| o.final_distance).collect(),
    )?;
    t.push_i64(
        "read_at_step",
        map.outcomes
            .iter()
            .map(|o| i64::from(o.read_at_step))
            .collect(),
    )?;
    Ok(t)
}

fn image(map: &BasinMap, title: String) -> CategoryMap {
    let n = map.spec.resolution;
    // Outcomes are indexed i·N + j (x major); the image wants cells[j·N + i].
    let mut cells = vec![0u8; n * n];
    for (idx, o) in map.outcomes.iter().enumerate() {
        let (i, j) = (idx / n, idx % n);
        cells[j * n + i] = o.class.code() as u8;
    }
    let colour = |c: BasinClass| match c {
        BasinClass::Diverged => [230, 230, 230],
        BasinClass::PlusQ1 => [31, 119, 180],
        BasinClass::MinusQ1 => [255, 127, 14],
        BasinClass::AlternatingQn => [44, 160, 44],
        BasinClass::Other => [120, 120, 120],
    };
    let half = |r: [f64; 2]| {
        let d = if n > 1 {
            0.5 * (r[1] - r[0]) / (n - 1) as f64
        } else {
            0.5
        };
        (r[0] - d, r[1] + d)
    };
    CategoryMap {
        title,
        x_label: "x0".into(),
        y_label: "y0".into(),
        x_range: half(map.spec.x_range),
        y_range: half(map.spec.y_range),
        nx: n,
        ny: n,
        cells,
        categories: BasinClass::ALL
            .iter()
            .map(|&c| (c.describe().to_string(), colour(c)))
            .collect(),
        equal_aspect: true,
    }
}
