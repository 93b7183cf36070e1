//! `gdscope`: a thin command-line front end. Each subcommand lives in
//! `commands/<name>.rs` as a clap `Args` struct plus a `run` function; this file only
//! dispatches and turns errors into a clear message and a non-zero exit.

mod analysis_args;
#[cfg(test)]
mod cli_surface_tests;
mod commands;
mod network_args;
mod objective_args;
mod output_file;
mod progress;
#[cfg(test)]
mod robustness_tests;

use std::any::TypeId;

use clap::{Arg, CommandFactory, FromArgMatches, Parser, Subcommand};

/// How gradient descent really moves: convergence direction, edge of stability, curvature.
#[derive(Parser)]
#[command(name = "gdscope", version, about, long_about = None, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const EXAMPLES: &str = "Examples:
  gdscope data describe synthetic-linear:n=1000,d=20,k=4,seed=0
  gdscope info
  gdscope plot runs/eos/metrics.parquet --y sharpness --hline 20=2/η --log-y
  gdscope inspect runs/eos/metrics.parquet --csv metrics.csv
  gdscope direction --objective paper-fig2 --lr 0.95 --x0 0.2,0.2 --json
  gdscope sweep-lr --objective paper-fig1-perturbed --x0 0.05,0.04 --out runs/sweep
  gdscope basin --objective paper-fig2 --lr 0.95 --resolution 1000 --steps 1000 --json
  gdscope reproduce paper-fig2 --out runs/fig2
  gdscope objectives --objective paper-fig2 --at 0.1,-0.2 --json
  gdscope curvature --model mlp:20-64-4:gelu-tanh --data data.npz --params w.npy --top-k 3 --smallest 1 --trace --json
  gdscope probe --model mlp:20-64-4:gelu-tanh --data data.npz --params w.npy --u u.npy --v v.npy --out probe.npz
  gdscope bench --dtype both --json
  gdscope reproduce eos --out runs/eos
  gdscope train --config examples/eos.toml --set optimizer.lr=0.04 --out runs/eos-lr004
  gdscope sweep --config examples/eos.toml --set steps=500 --grid optimizer.lr=0.02,0.04,0.08 --out runs/lr
";

#[derive(Subcommand)]
enum Command {
    /// Describe or export a data set (synthetic, CIFAR-10, MNIST, NPZ).
    Data(commands::data::Args),
    /// Hessian eigenvalues (top, smallest), trace and spectral density of a network, optionally per layer.
    Curvature(commands::curvature::Args),
    /// List built-in objectives, or evaluate one: value, exact gradient, Hessian, eigenvalues.
    Objectives(commands::objectives::Args),
    /// Print build and machine facts (SIMD level, threads, version).
    Info(commands::info::Args),
    /// Plot columns of a metrics table (.parquet) to PNG/SVG, with log axes and reference lines.
    Plot(commands::plot::Args),
    /// Show what a .parquet, .npy or .npz file holds; convert Parquet to CSV.
    Inspect(commands::inspect::Args),
    /// Loss, gradient, HVPs and third-order vector of a network at given parameters (.npz out).
    Probe(commands::probe::Args),
    /// Time the network engine on reference workload A (MLP 3072-256-256-4).
    Bench(commands::bench::Args),
    /// Theorem 1 for one (f, η, x0): thresholds, predicted regime and eigenvector, GD, verdict.
    Direction(commands::direction::Args),
    /// Predicted vs observed regime of GD over a range of learning rates.
    SweepLr(commands::sweep_lr::Args),
    /// Classify GD from a 2-D grid of starts (the basin V_η): diverged / ±q1 / alternating / other.
    Basin(commands::basin::Args),
    /// Regenerate a paper figure (paper-fig1, paper-fig2) and say whether each panel agrees.
    Reproduce(commands::reproduce::Args),
    /// Train a network from a TOML config: sharpness tracking, diagnostics, checkpoints, figures.
    Train(commands::train::Args),
    /// Sweep training runs over a grid of settings, here or as a Slurm job array; status; one table.
    Sweep(Box<commands::sweep::Args>),
}

fn main() {
    restore_default_sigpipe();
    keep_freed_memory();
    let cli = parse(std::env::args_os()).unwrap_or_else(|e| e.exit());
    if let Err(err) = dispatch(cli) {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}

/// The command-line interface: the derived one, with every numeric option accepting values
/// that start with `-` (`--lr -0.1`, `--at -0.1,0.2`, `--spectrum -1,2`). A single number
/// needs `allow_negative_numbers`; a comma list such as `-0.1,0.2` is not itself a number,
/// so list options take hyphenated values as they come (a mistake such as `--x0 --json`
/// then fails as "invalid float literal" for `--json`).
fn command() -> clap::Command {
    accept_negative_numbers(Cli::command())
}

/// Parses a command line (program name first) with [`command`].
fn parse<I, T>(argv: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::from_arg_matches(&command().try_get_matches_from(argv)?)
}

fn accept_negative_numbers(cmd: clap::Command) -> clap::Command {
    cmd.mut_args(|arg| {
        if !takes_numbers(&arg) {
            arg
        } else if arg.get_value_delimiter().is_some() {
            arg.allow_hyphen_values(true)
        } else {
            arg.allow_negative_numbers(true)
        }
    })
    .mut_subcommands(accept_negative_numbers)
}

/// Whether `arg` takes numeric values (signed or not: `--steps -1` should say "invalid
/// digit", not "unexpected argument").
fn takes_numbers(arg: &Arg) -> bool {
    let id = arg.get_value_parser().type_id();
    arg.get_action().takes_values()
        && [
            TypeId::of::<f64>(),
            TypeId::of::<f32>(),
            TypeId::of::<i64>(),
            TypeId::of::<i32>(),
            TypeId::of::<isize>(),
            TypeId::of::<u64>(),
            TypeId::of::<u32>(),
            TypeId::of::<usize>(),
        ]
        .iter()
        .any(|t| id == *t)
}

/// Runs the chosen subcommand.
fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Data(a) => commands::data::run(a),
        Command::Curvature(a) => commands::curvature::run(a),
        Command::Info(a) => commands::info::run(a),
        Command::Plot(a) => commands::plot::run(a),
        Command::Inspect(a) => commands::inspect::run(a),
        Command::Objectives(a) => commands::objectives::run(a),
        Command::Probe(a) => commands::probe::run(a),
        Command::Bench(a) => commands::bench::run(a),
        Command::Train(a) => commands::train::run(a),
        Command::Sweep(a) => commands::sweep::run(*a),
        Command::Direction(a) => commands::direction::run(a),
        Command::SweepLr(a) => commands::sweep_lr::run(a),
        Command::Basin(a) => commands::basin::run(a),
        Command::Reproduce(a) => commands::reproduce::run(a),
    }
}

/// Lets `gdscope … | head` end quietly, as Unix tools do, instead of panicking on a closed
/// stdout (Rust ignores SIGPIPE by default, which turns it into a write error).
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Keeps freed heap memory in the process for reuse (glibc only). By default glibc returns
/// large freed blocks to the kernel and maps them afresh on the next allocation, so blocks
/// allocated per step — the eigen-solver's `P × 3k` matrices, a block HVP's result — cost
/// page faults on every step and a long run's faults grow with its length
/// (docs/PERFORMANCE.md §"Allocation"). Blocks up to 32 MiB (glibc's maximum) now come from
/// the heap, which is not trimmed below 1 GiB of free space.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only changes allocator parameters; it is called before any allocation
    // that these settings would affect matters, and glibc serialises it internally.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
