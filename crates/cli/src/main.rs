//! `gdscope`: a thin command-line front end. Each subcommand lives in
//! `commands/<name>.rs` as a clap `Args` struct plus a `run` function; this file only
//! dispatches and turns errors into a clear message and a non-zero exit.

mod commands;
mod network_args;

use clap::{Parser, Subcommand};

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
  gdscope curvature --model mlp:20-64-4:gelu-tanh --data data.npz --params w.npy --top-k 3 --smallest 1 --trace --json
  gdscope probe --model mlp:20-64-4:gelu-tanh --data data.npz --params w.npy --u u.npy --v v.npy --out probe.npz
  gdscope bench --dtype both --json
";

#[derive(Subcommand)]
enum Command {
    /// Describe or export a data set (synthetic, CIFAR-10, MNIST, NPZ).
    Data(commands::data::Args),
    /// Hessian eigenvalues (top, smallest), trace and spectral density of a network, optionally per layer.
    Curvature(commands::curvature::Args),
    /// Print build and machine facts (SIMD level, threads, version).
    Info(commands::info::Args),
    /// Loss, gradient, HVPs and third-order vector of a network at given parameters (.npz out).
    Probe(commands::probe::Args),
    /// Time the network engine on reference workload A (MLP 3072-256-256-4).
    Bench(commands::bench::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Data(a) => commands::data::run(a),
        Command::Curvature(a) => commands::curvature::run(a),
        Command::Info(a) => commands::info::run(a),
        Command::Probe(a) => commands::probe::run(a),
        Command::Bench(a) => commands::bench::run(a),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}
