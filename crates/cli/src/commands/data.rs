//! `gdscope data`: inspect and export the data sets that `--data SPEC` / `[data]` describe
//! (see `docs/data.md`). All numerics live in `gdscope-data`.

use std::path::PathBuf;

use anyhow::Result;
use gdscope_data::{describe, export_npz, load, parse_data_spec, Summary};

/// Arguments of `gdscope data`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope data describe synthetic-linear:n=1000,d=20,k=4\n  gdscope data export cifar10:/data/cifar-10-batches-bin:n=1000,classes=4 --out cifar4.npz"
)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Print n, d, k, class counts and input statistics of a data set.
    #[command(
        after_help = "Examples:\n  gdscope data describe synthetic-linear:n=1000,d=20,k=4,seed=0\n  gdscope data describe cifar10:/data/cifar-10-batches-bin:n=1000,classes=4 --json\n  gdscope data describe npz:data.npz"
    )]
    Describe {
        /// Data spec, e.g. `synthetic-linear:n=1000,d=20,k=4,seed=0`, `cifar10:/data/cifar:n=1000,classes=4`,
        /// `npz:data.npz` (see docs/data.md).
        spec: String,
        /// Print one JSON object (`spec`, `train`, `test`) instead of text.
        #[arg(long)]
        json: bool,
    },
    #[command(
        after_help = "Examples:\n  gdscope data export synthetic-linear:n=1000,d=20,k=4 --out data.npz\n  gdscope data export synthetic-images:n=512,k=4,channels=3,size=16 --out images.npz --overwrite"
    )]
    /// Write a data set as an .npz (`x`, `y`, `labels`, `x_test`, `y_test`, `labels_test`) for NumPy or `gdscope probe`.
    Export {
        /// Data spec (as for `describe`).
        spec: String,
        /// Output file, e.g. `data.npz`.
        #[arg(long)]
        out: PathBuf,
        /// Replace the output file if it exists.
        #[arg(long)]
        overwrite: bool,
    },
}

/// Runs `gdscope data describe|export`.
pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Describe { spec, json } => {
            let spec = parse_data_spec(&spec)?;
            let summary = describe(&load(&spec)?);
            if json {
                let v = serde_json::json!({
                    "spec": spec,
                    "spec_string": spec.to_string(),
                    "train": summary.train,
                    "test": summary.test,
                });
                println!("{v}");
            } else {
                println!("data:  {spec}");
                print_summary("train", &summary.train);
                match &summary.test {
                    Some(t) => print_summary("test", t),
                    None => println!("test:  none"),
                }
            }
        }
        Action::Export {
            spec,
            out,
            overwrite,
        } => {
            crate::output_file::check_new(&out, overwrite)?;
            let spec = parse_data_spec(&spec)?;
            let split = load(&spec)?;
            export_npz(&split, &out)?;
            let t = &split.train;
            let test = split
                .test
                .as_ref()
                .map_or(String::new(), |s| format!(", test n={}", s.n));
            println!(
                "wrote {} ({spec}: n={}, input shape {:?}, k={}{test})",
                out.display(),
                t.n,
                t.input_shape,
                t.k
            );
        }
    }
    Ok(())
}

fn print_summary(part: &str, s: &Summary) {
    println!(
        "{part}: n={} d={} input shape {:?} k={} ({})",
        s.n, s.d, s.input_shape, s.k, s.task
    );
    if let Some(counts) = &s.class_counts {
        let list: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(c, n)| format!("{c}:{n}"))
            .collect();
        println!("  class counts  {}", list.join(" "));
    }
    println!(
        "  x             mean {:.6} std {:.6} min {:.6} max {:.6}",
        s.x_mean, s.x_std, s.x_min, s.x_max
    );
    if let Some(ch) = &s.channels {
        for (c, (m, sd)) in ch.mean.iter().zip(&ch.std).enumerate() {
            println!("  channel {c}     mean {m:.6} std {sd:.6}");
        }
    }
    let y: Vec<String> = s.y_mean.iter().map(|v| format!("{v:.4}")).collect();
    println!("  y mean        [{}]", y.join(", "));
}
