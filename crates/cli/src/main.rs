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
  gdscope info
";

#[derive(Subcommand)]
enum Command {
    /// Print build and machine facts (SIMD level, threads, version).
    Info(commands::info::Args),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(a) => commands::info::run(a),
    };
    if let Err(err) = result {
        eprintln!("error: {err:#}");
        std::process::exit(2);
    }
}
