//! One table for the sweep (docs/sweeps.md "Tables"):
//!
//! * `sweep.parquet`: a row per member — `run_id`, `index`, `dir`, one column per swept
//!   setting (named by its key, e.g. `optimizer.lr`), `status`, `reason`, then every scalar
//!   field of the member's `summary.json` (nested fields joined with `.`, e.g.
//!   `edge.median_ratio`; missing values are NaN, or an empty string in text columns);
//! * `metrics.parquet`: long form — `run_id`, the swept settings, `step`, then every metric
//!   column of any member (NaN where a member has no such column), all rows of all members.
//!
//! Both load in one call: `pandas.read_parquet("DIR/sweep.parquet")`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use gdscope_io::{Column, Table};
use gdscope_plot::Format;

use crate::figures;
use crate::manifest::Sweep;
use crate::slurm::Queue;
use crate::status::{sweep_status, MemberStatus};

/// What to draw besides the tables.
#[derive(Debug, Clone, PartialEq)]
pub struct CollectOptions {
    /// Draw the figures.
    pub figures: bool,
    /// Metric drawn against step for every member (default `sharpness`, else `loss`).
    pub metric: Option<String>,
    /// Summary field drawn against a swept setting (default `sharpness_final`, else `final_loss`).
    pub summary_field: Option<String>,
    /// The swept setting on that figure's x axis (default: the first numeric axis).
    pub vs: Option<String>,
    /// Figure formats.
    pub formats: Vec<Format>,
}

impl Default for CollectOptions {
    fn default() -> Self {
        Self {
            figures: true,
            metric: None,
            summary_field: None,
            vs: None,
            formats: vec![Format::Png],
        }
    }
}

/// What collect wrote.
#[derive(Debug, Clone)]
pub struct Collected {
    /// `sweep.parquet`.
    pub runs: PathBuf,
    /// `metrics.parquet`.
    pub metrics: PathBuf,
    /// Figures written.
    pub figures: Vec<PathBuf>,
    /// Figures that could not be drawn, and why.
    pub skipped_figures: Vec<String>,
    /// Status of every member.
    pub statuses: Vec<MemberStatus>,
    /// Rows of `metrics.parquet`.
    pub metric_rows: usize,
}

/// Writes `sweep.parquet`, `metrics.parquet` and (unless disabled) the sweep figures.
pub fn collect(sweep: &Sweep, opts: &CollectOptions) -> Result<Collected> {
    let queue = Queue::for_sweep(sweep);
    let statuses = sweep_status(sweep, queue.as_ref())?;
    let summaries: Vec<Option<serde_json::Value>> = statuses
        .iter()
        .map(|s| {
            std::fs::read_to_string(s.dir.join("summary.json"))
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
        })
        .collect();
    let metrics: Vec<Option<Table>> = statuses
        .iter()
        .map(|s| gdscope_train::metrics::read_run_metrics(&s.dir).ok())
        .collect();

    let runs_table = runs_table(sweep, &statuses, &summaries)?;
    let runs = sweep.dir.join("sweep.parquet");
    gdscope_io::write_parquet(&runs, &runs_table)?;
    let long = metrics_table(sweep, &metrics)?;
    let metrics_path = sweep.dir.join("metrics.parquet");
    gdscope_io::write_parquet(&metrics_path, &long)?;

    let (mut figure_files, mut skipped) = (Vec::new(), Vec::new());
    if opts.figures {
        for result in figures::sweep_figures(sweep, &statuses, &metrics, &runs_table, opts) {
            match result {
                Ok(files) => figure_files.extend(files),
                Err(e) => skipped.push(format!("{e:#}")),
            }
        }
    }
    Ok(Collected {
        runs,
        metrics: metrics_path,
        figures: figure_files,
        skipped_figures: skipped,
        statuses,
        metric_rows: long.nrows(),
    })
}

/// A scalar of a summary or a setting.
#[derive(Debug, Clone, PartialEq)]
enum Scalar {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

impl Scalar {
    fn from_toml(v: &toml::Value) -> Scalar {
        match v {
            toml::Value::Integer(i) => Scalar::Int(*i),
            toml::Value::Float(f) => Scalar::Float(*f),
            toml::Value::Boolean(b) => Scalar::Bool(*b),
            other => Scalar::Text(crate::manifest::display_value(other)),
        }
    }

    fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s.clone(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// A column from per-row values: integers (none missing) → `i64`; numbers → `f64` with NaN
/// for missing; booleans (none missing) → `bool`; anything else → text, "" for missing.
fn typed_column(values: &[Option<Scalar>]) -> Column {
    let present = || values.iter().flatten();
    let complete = values.iter().all(Option::is_some);
    if complete && present().all(|v| matches!(v, Scalar::Int(_))) && !values.is_empty() {
        return Column::I64(
            present()
                .filter_map(|v| match v {
                    Scalar::Int(i) => Some(*i),
                    _ => None,
                })
                .collect(),
        );
    }
    if present().all(|v| matches!(v, Scalar::Int(_) | Scalar::Float(_))) {
        return Column::F64(
            values
                .iter()
                .map(|v| match v {
                    Some(Scalar::Int(i)) => *i as f64,
                    Some(Scalar::Float(f)) => *f,
                    _ => f64::NAN,
                })
                .collect(),
        );
    }
    if complete && present().all(|v| matches!(v, Scalar::Bool(_))) {
        return Column::Bool(present().map(|v| matches!(v, Scalar::Bool(true))).collect());
    }
    Column::Str(
        values
            .iter()
            .map(|v| v.as_ref().map_or(String::new(), Scalar::text))
            .collect(),
    )
}

/// Scalar leaves of a JSON object, nested keys joined with `.`; arrays are left out.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, Option<Scalar>)>) {
    let name = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                flatten(&name(k), x, out);
            }
        }
        serde_json::Value::Null => out.push((prefix.to_string(), None)),
        serde_json::Value::Bool(b) => out.push((prefix.to_string(), Some(Scalar::Bool(*b)))),
        serde_json::Value::Number(n) => out.push((
            prefix.to_string(),
            Some(match n.as_i64() {
                Some(i) => Scalar::Int(i),
                None => Scalar::Float(n.as_f64().unwrap_or(f64::NAN)),
            }),
        )),
        serde_json::Value::String(s) => {
            out.push((prefix.to_string(), Some(Scalar::Text(s.clone()))))
        }
        serde_json::Value::Array(_) => {}
    }
}

/// The setting columns: key → typed values, one per member.
fn setting_columns(sweep: &Sweep, rows: &[usize]) -> Vec<(String, Column)> {
    sweep
        .manifest
        .axes
        .iter()
        .map(|axis| {
            let values: Vec<Option<Scalar>> = rows
                .iter()
                .map(|&i| {
                    sweep.manifest.members[i]
                        .settings
                        .get(&axis.key)
                        .map(Scalar::from_toml)
                })
                .collect();
            (axis.key.clone(), typed_column(&values))
        })
        .collect()
}

/// `sweep.parquet`'s table.
fn runs_table(
    sweep: &Sweep,
    statuses: &[MemberStatus],
    summaries: &[Option<serde_json::Value>],
) -> Result<Table> {
    let mut t = Table::new();
    t.push_str("run_id", statuses.iter().map(|s| s.id.clone()).collect())?;
    t.push_i64("index", statuses.iter().map(|s| s.index as i64).collect())?;
    t.push_str(
        "dir",
        statuses
            .iter()
            .map(|s| sweep.manifest.members[s.index].dir.clone())
            .collect(),
    )?;
    let rows: Vec<usize> = statuses.iter().map(|s| s.index).collect();
    for (key, column) in setting_columns(sweep, &rows) {
        t.push(&key, column)?;
    }
    t.push_str(
        "status",
        statuses
            .iter()
            .map(|s| s.state.as_str().to_string())
            .collect(),
    )?;
    t.push_str(
        "reason",
        statuses
            .iter()
            .map(|s| s.reason.clone().unwrap_or_default())
            .collect(),
    )?;
    t.push_f64(
        "steps_done",
        statuses
            .iter()
            .map(|s| s.steps_done.map_or(f64::NAN, |v| v as f64))
            .collect(),
    )?;
    // Summary fields in first-seen order; the summary's own `status` is the `status` column.
    let mut fields: Vec<String> = Vec::new();
    let mut per_row: Vec<BTreeMap<String, Option<Scalar>>> = Vec::new();
    for summary in summaries {
        let mut leaves = Vec::new();
        if let Some(s) = summary {
            flatten("", s, &mut leaves);
        }
        leaves.retain(|(k, _)| k != "status" && !k.starts_with("status."));
        for (k, _) in &leaves {
            if !fields.contains(k) {
                fields.push(k.clone());
            }
        }
        per_row.push(leaves.into_iter().collect());
    }
    for field in fields {
        let values: Vec<Option<Scalar>> = per_row
            .iter()
            .map(|row| row.get(&field).cloned().flatten())
            .collect();
        let name = if t.column(&field).is_some() {
            format!("summary.{field}")
        } else {
            field
        };
        t.push(&name, typed_column(&values))
            .with_context(|| format!("summary field {name}"))?;
    }
    Ok(t)
}

/// `metrics.parquet`'s long table.
fn metrics_table(sweep: &Sweep, metrics: &[Option<Table>]) -> Result<Table> {
    let mut names: Vec<String> = Vec::new();
    for table in metrics.iter().flatten() {
        for n in table.names() {
            if n != "step" && !names.iter().any(|x| x == n) {
                names.push(n.to_string());
            }
        }
    }
    let mut rows_of_member: Vec<usize> = Vec::new();
    let mut steps: Vec<i64> = Vec::new();
    let mut columns: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for (index, table) in metrics.iter().enumerate() {
        let Some(table) = table else { continue };
        let n = table.nrows();
        rows_of_member.extend(std::iter::repeat_n(index, n));
        match table.column("step") {
            Some(Column::I64(s)) => steps.extend_from_slice(s),
            Some(Column::F64(s)) => steps.extend(s.iter().map(|&v| v as i64)),
            _ => steps.extend(0..n as i64),
        }
        for (name, out) in names.iter().zip(columns.iter_mut()) {
            match table.column(name) {
                Some(Column::F64(v)) => out.extend_from_slice(v),
                Some(Column::I64(v)) => out.extend(v.iter().map(|&x| x as f64)),
                _ => out.extend(std::iter::repeat_n(f64::NAN, n)),
            }
        }
    }
    let mut t = Table::new();
    t.push_str(
        "run_id",
        rows_of_member
            .iter()
            .map(|&i| sweep.manifest.members[i].id.clone())
            .collect(),
    )?;
    for (key, column) in setting_columns(sweep, &rows_of_member) {
        t.push(&key, column)?;
    }
    t.push_i64("step", steps)?;
    for (name, values) in names.into_iter().zip(columns) {
        let name = if t.column(&name).is_some() {
            format!("metric.{name}")
        } else {
            name
        };
        t.push_f64(&name, values)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_take_the_narrowest_type() {
        let i = |v| Some(Scalar::Int(v));
        let f = |v| Some(Scalar::Float(v));
        assert_eq!(typed_column(&[i(1), i(2)]), Column::I64(vec![1, 2]));
        match typed_column(&[i(1), None]) {
            Column::F64(v) => assert!(v[0] == 1.0 && v[1].is_nan()),
            other => panic!("{other:?}"),
        }
        assert_eq!(typed_column(&[i(1), f(0.5)]), Column::F64(vec![1.0, 0.5]));
        assert_eq!(
            typed_column(&[Some(Scalar::Bool(true)), Some(Scalar::Bool(false))]),
            Column::Bool(vec![true, false])
        );
        assert_eq!(
            typed_column(&[Some(Scalar::Text("a".into())), None, i(3)]),
            Column::Str(vec!["a".into(), String::new(), "3".into()])
        );
    }

    #[test]
    fn summaries_flatten_with_dots() {
        let v: serde_json::Value = serde_json::json!({
            "status": {"diverged": {"reason": "x"}},
            "final_loss": 0.5,
            "edge": {"first_crossing_step": null, "median_ratio": 1.0},
            "list": [1, 2],
        });
        let mut out = Vec::new();
        flatten("", &v, &mut out);
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.contains(&"status.diverged.reason"));
        assert!(keys.contains(&"edge.first_crossing_step"));
        assert!(keys.contains(&"final_loss"));
        assert!(!keys.iter().any(|k| k.starts_with("list")));
    }
}
