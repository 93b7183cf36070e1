//! `gdscope inspect`: what a `.parquet`, `.npy` or `.npz` file holds (columns and rows,
//! or arrays with shape and dtype, with finite min/max and NaN counts), and Parquet → CSV.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use gdscope_io::npy::{read_npy, read_npz, NdArray};
use gdscope_io::{read_parquet, write_csv, Column, Table};
use serde_json::{json, Value};

/// Arguments of `gdscope inspect`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope inspect runs/eos/metrics.parquet\n  gdscope inspect runs/eos/metrics.parquet --csv metrics.csv\n  gdscope inspect data.npz --json\n  gdscope inspect runs/eos/weights.npy"
)]
pub struct Args {
    /// A .parquet table, .npy array or .npz archive.
    pub file: PathBuf,
    /// Also write a Parquet table as CSV to this path.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Replace the CSV file if it exists.
    #[arg(long)]
    pub overwrite: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let ext = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if args.csv.is_some() && ext != "parquet" {
        bail!(
            "--csv converts Parquet tables only; {} is not a .parquet file",
            args.file.display()
        );
    }
    if let Some(csv) = &args.csv {
        crate::output_file::check_new(csv, args.overwrite)?;
    }
    let report = match ext.as_str() {
        "parquet" => {
            let table = read_parquet(&args.file)?;
            if let Some(csv) = &args.csv {
                write_csv(csv, &table)?;
            }
            table_report(&table)
        }
        "npy" => json!({ "arrays": { "": array_report(&read_npy(&args.file)?) } }),
        "npz" => {
            let arrays = read_npz(&args.file)?;
            json!({ "arrays": arrays.iter().map(|(k, a)| (k.clone(), array_report(a))).collect::<serde_json::Map<_, _>>() })
        }
        _ => bail!(
            "{}: unknown file type; expected .parquet, .npy or .npz",
            args.file.display()
        ),
    };
    if args.json {
        println!("{report}");
    } else {
        print_text(&args.file, &report);
    }
    if let Some(csv) = &args.csv {
        if !args.json {
            println!("wrote {}", csv.display());
        }
    }
    Ok(())
}

/// NaN count and finite min/max of some values.
fn stats(values: impl Iterator<Item = f64>) -> Value {
    let (mut nan, mut lo, mut hi) = (0usize, f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_nan() {
            nan += 1;
        } else if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let finite = |x: f64| if lo <= hi { json!(x) } else { Value::Null };
    json!({ "nan": nan, "min": finite(lo), "max": finite(hi) })
}

fn table_report(t: &Table) -> Value {
    let columns: Vec<Value> = t
        .columns()
        .map(|(name, c)| {
            let mut entry = json!({ "name": name, "type": c.type_name() });
            let s = match c {
                Column::F64(v) => Some(stats(v.iter().copied())),
                Column::I64(v) => Some(stats(v.iter().map(|&i| i as f64))),
                _ => None,
            };
            if let (Some(s), Some(obj)) = (s, entry.as_object_mut()) {
                obj.insert("stats".into(), s);
            }
            entry
        })
        .collect();
    json!({ "rows": t.nrows(), "columns": columns })
}

fn array_report(a: &NdArray) -> Value {
    json!({ "shape": a.shape, "dtype": a.dtype, "stats": stats(a.data.iter().copied()) })
}

fn print_text(file: &Path, report: &Value) {
    println!("{}", file.display());
    let show = |s: &Value| {
        format!(
            "min {}  max {}  NaN {}",
            s["min"].as_f64().map_or("-".into(), |v| v.to_string()),
            s["max"].as_f64().map_or("-".into(), |v| v.to_string()),
            s["nan"]
        )
    };
    if let Some(cols) = report["columns"].as_array() {
        println!("  {} rows, {} columns", report["rows"], cols.len());
        for c in cols {
            let name = c["name"].as_str().unwrap_or("");
            let kind = c["type"].as_str().unwrap_or("");
            match c.get("stats") {
                Some(s) => println!("  {name:<20} {kind:<5} {}", show(s)),
                None => println!("  {name:<20} {kind}"),
            }
        }
    }
    if let Some(arrays) = report["arrays"].as_object() {
        for (name, a) in arrays {
            let label = if name.is_empty() { "array" } else { name };
            println!(
                "  {label:<12} shape {}  {:<8} {}",
                a["shape"],
                a["dtype"].as_str().unwrap_or(""),
                show(&a["stats"])
            );
        }
    }
}
