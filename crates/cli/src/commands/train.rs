//! `gdscope train`: a training run from a TOML config, with curvature tracking, diagnostics,
//! processes in lockstep, checkpoints, forks and figures (docs/training.md). SIGINT/SIGTERM stop the
//! run after the current step with a checkpoint and the metrics so far (a second signal ends
//! it at once).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use gdscope_train::config::TrainConfig;
use gdscope_train::run::{self, Progress, RunOptions, RunReport};

/// Arguments of `gdscope train`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope train --config examples/eos.toml --out runs/eos\n  gdscope train --config examples/eos.toml --set optimizer.lr=0.04 --set steps=500\n  gdscope train --config examples/stable-flow.toml --out runs/flow   # GD beside its gradient flow and midpoints\n  gdscope train --config examples/step-curvature.toml --out runs/step   # batch sharpness, GNI, critical sharpness, … with intervals\n  gdscope train --config examples/sharpness-gap.toml --set batch_size=16 --out runs/gap-b16   # SGD: λmax and batch sharpness\n  gdscope train --resume runs/eos --set steps=4000\n  gdscope train --resume runs/eos --fork runs/eos-lr01 --at-step 1000 --set optimizer.lr=0.1   # a child from step 1000\n  gdscope train --print-config        # every field with its default\n\nCtrl-C (SIGINT) or SIGTERM stops after the current step, writes a checkpoint and the metrics\nso far, and prints the --resume command. Progress goes to stderr: a bar on a terminal, a line\nevery 5% of the steps otherwise (Slurm logs)."
)]
pub struct Args {
    /// TOML config file; fields it omits take their defaults (the synthetic edge-of-stability demo).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Override one config field, e.g. `--set optimizer.lr=0.04 --set steps=500` (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    set: Vec<String>,
    /// Run directory (default: runs/train-<UTC time>). Must be new or empty.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the run in DIR from its last checkpoint (only `--set steps=N` may be given),
    /// or, with --fork, start a child run from its state.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    resume: Option<PathBuf>,
    /// With --resume PARENT: start a new run in NEWDIR from the parent's state (at --at-step,
    /// default its last checkpoint) with the --set changes; the parent is only read, and the
    /// child's metrics begin with the parent's rows before that step.
    #[arg(long, value_name = "NEWDIR", requires = "resume")]
    fork: Option<PathBuf>,
    /// With --fork: the parent's step to start from (0 … its last checkpoint; a kept checkpoint
    /// starts at once, another step is replayed from the nearest earlier one).
    #[arg(long, value_name = "T", requires = "fork")]
    at_step: Option<u64>,
    /// Allow --out (or --fork) to replace the files of an existing run directory.
    #[arg(long)]
    overwrite: bool,
    /// Print the resolved config (every default written out) and exit without training.
    #[arg(long)]
    print_config: bool,
    /// Print the summary as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs (or resumes) the training run and prints its summary.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (stop, signal) = interrupt_flags()?;
    let options = RunOptions {
        overwrite: args.overwrite,
        progress: Progress::auto(),
        stop: Some(stop),
    };
    let report = if let (Some(parent), Some(child)) = (&args.resume, &args.fork) {
        let config = gdscope_train::fork::fork_config(parent, args.at_step, &args.set)?;
        if args.print_config {
            print!("{}", config.to_toml()?);
            return Ok(());
        }
        run::start_with(config, child, &options)?
    } else if let Some(dir) = &args.resume {
        anyhow::ensure!(
            !args.overwrite,
            "--overwrite cannot be combined with --resume (a resumed run keeps its files);              with --fork NEWDIR it replaces NEWDIR's"
        );
        let mut steps = None;
        for s in &args.set {
            match s.split_once('=') {
                Some((k, v)) if k.trim() == "steps" => {
                    steps = Some(v.trim().parse::<u64>().map_err(|_| {
                        anyhow::anyhow!("--set {s}: steps must be a non-negative integer")
                    })?);
                }
                _ => anyhow::bail!(
                    "--set {s} cannot be used with --resume: a resumed run keeps its config (only --set steps=N may extend it); to change settings, fork it: --resume DIR --fork NEWDIR --set {s}"
                ),
            }
        }
        anyhow::ensure!(
            !args.print_config,
            "--print-config cannot be combined with --resume; read DIR/config.toml"
        );
        run::resume_with(dir, steps, &options)?
    } else {
        let config = match &args.config {
            Some(path) => TrainConfig::load(path, &args.set)?,
            None => TrainConfig::from_toml("", &args.set)?,
        };
        if args.print_config {
            print!("{}", config.to_toml()?);
            return Ok(());
        }
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| gdscope_io::RunDir::default_path("train"));
        run::start_with(config, &out, &options)?
    };
    print_report(&report, args.json)?;
    if report.interrupted {
        let sig = signal.load(Ordering::SeqCst) as i32;
        let name = if sig == signal_hook::consts::SIGTERM {
            "SIGTERM"
        } else {
            "SIGINT"
        };
        eprintln!(
            "interrupted by {name} at step {}: checkpoint, metrics and summary are in {}; \
             resume with: gdscope train --resume {}",
            report.summary.steps_run,
            report.dir.display(),
            report.dir.display()
        );
        std::process::exit(128 + sig);
    }
    Ok(())
}

/// A flag set by SIGINT/SIGTERM (the run stops after the current step) and the signal's
/// number; a second signal while the run is stopping ends the process at once.
fn interrupt_flags() -> anyhow::Result<(Arc<AtomicBool>, Arc<AtomicUsize>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let which = Arc::new(AtomicUsize::new(signal_hook::consts::SIGINT as usize));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&stop))?;
        signal_hook::flag::register_usize(sig, Arc::clone(&which), sig as usize)?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok((stop, which))
}

pub(crate) fn print_report(report: &RunReport, json: bool) -> anyhow::Result<()> {
    let s = &report.summary;
    if json {
        let mut v = serde_json::to_value(s)?;
        v["dir"] = serde_json::json!(report.dir);
        println!("{v}");
        return Ok(());
    }
    let fmt = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{v:.4}"));
    println!("run:        {}", report.dir.display());
    println!("status:     {}", serde_json::to_string(&s.status)?);
    println!("processes:  {}", s.processes.join(", "));
    for h in &s.halted {
        println!("halted:     {}: {}", h.process, h.reason);
    }
    println!("steps:      {}", s.steps_run);
    if let Some(f) = &s.fork {
        let changes: Vec<String> = f.changes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!(
            "fork of:    {} at step {} ({}){}",
            f.parent.display(),
            f.step,
            if changes.is_empty() {
                "no settings changed".to_string()
            } else {
                changes.join(", ")
            },
            f.replayed_from
                .map_or(String::new(), |r| format!("; replayed from step {r}"))
        );
    }
    println!(
        "final loss: {}",
        s.final_loss.map_or("—".into(), |v| format!("{v:.4e}"))
    );
    println!(
        "sharpness:  initial {}  max {}  final {}  (threshold {})",
        fmt(s.sharpness_initial),
        fmt(s.sharpness_max),
        fmt(s.sharpness_final),
        fmt(s.threshold_final)
    );
    match s.edge.first_crossing_step {
        Some(step) => println!(
            "edge:       sharpness first reached {}·threshold at step {step}; after it median ratio {} (range {} – {})",
            s.edge.crossing_fraction,
            fmt(s.edge.median_ratio),
            fmt(s.edge.min_ratio),
            fmt(s.edge.max_ratio)
        ),
        None => println!("edge:       sharpness never reached {}·threshold", s.edge.crossing_fraction),
    }
    println!(
        "verdict:    {} — {}",
        serde_json::to_value(s.edge.verdict)?
            .as_str()
            .unwrap_or("?"),
        s.edge.reason
    );
    println!(
        "time:       {:.1} s ({:.1} s eigen-solves, {} HVPs; {:.1} s flows)",
        s.timings.wall_s, s.timings.eigen_s, s.eigen_hvps, s.timings.flow_s
    );
    println!("files:");
    for f in &report.files {
        println!("  {}", f.display());
    }
    Ok(())
}
