//! `gdscope sweep`: sweeps of training runs on this machine or as a Slurm job array, their
//! status, and one table (docs/sweeps.md). The logic is in `gdscope-sweep`; this file only
//! reads flags.

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use gdscope_plot::Format;
use gdscope_sweep::slurm::Queue;
use gdscope_sweep::{
    collect, process, run_local, run_member, submit, sweep_status, Backend, CollectOptions,
    LocalOptions, MemberContext, MemberStatus, Progress, SlurmOptions, State, SubmitOptions, Sweep,
    SweepSpec,
};

const EXAMPLES: &str = "Examples:
  gdscope sweep --config examples/eos.toml --set steps=500 --grid optimizer.lr=0.02,0.04,0.08 --out runs/lr
  gdscope sweep --config base.toml --grid optimizer.lr=logspace(1e-3,1e-1,7) --grid seed=0,1 --workers 2
  gdscope sweep --config base.toml --zip optimizer.lr=0.1,0.05 --zip optimizer.beta=0.0,0.9 --out runs/pairs
  gdscope sweep --config base.toml --grid seed=range(0,8) --backend slurm --partition cpu --time 01:00:00 --max-concurrent 4
  gdscope sweep --config base.toml --grid seed=0,1 --backend slurm --dry-run     # only write the sbatch script
  gdscope sweep --fork-from runs/eos --at-step 1000 --grid optimizer.lr=0.04,0.08,0.16 --out runs/kick   # forks of one run
  gdscope sweep --resume runs/lr                  # run what did not finish (resumes from checkpoints)
  gdscope sweep status runs/lr
  gdscope sweep collect runs/lr --metric sharpness --summary-field sharpness_final --vs optimizer.lr
  python -c \"import pandas as pd; print(pd.read_parquet('runs/lr/sweep.parquet'))\"";

/// Arguments of `gdscope sweep`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, after_help = EXAMPLES)]
pub struct Args {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    launch: LaunchArgs,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Where every member stands: pending, running, completed, diverged, failed or cancelled (with the reason).
    Status(StatusArgs),
    /// Write DIR/sweep.parquet (a row per member), DIR/metrics.parquet (long form) and the sweep figures.
    Collect(CollectArgs),
    /// Run one member of the sweep in DIR (what each Slurm array task runs).
    RunMember(RunMemberArgs),
}

/// Backend choice on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum BackendArg {
    /// Members run here, `--workers` at a time.
    Local,
    /// An `sbatch --array` job, one task per member.
    Slurm,
}

/// Creating (or continuing) and launching a sweep.
#[derive(clap::Args)]
struct LaunchArgs {
    /// Base training config (TOML, as for `gdscope train`); may hold [sweep] and [slurm] sections.
    #[arg(long, value_name = "FILE.toml", conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Sweep forks of the training run in DIR: every member starts from its state at --at-step
    /// (default: its last checkpoint) with the member's settings changed (the intervention).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["config", "resume"])]
    fork_from: Option<PathBuf>,
    /// With --fork-from: the parent's step the members start from.
    #[arg(long, value_name = "T", requires = "fork_from")]
    at_step: Option<u64>,
    /// Override one base setting, e.g. `--set steps=500` (repeatable).
    #[arg(long = "set", value_name = "FIELD=VALUE", conflicts_with = "resume")]
    set: Vec<String>,
    /// A grid axis: every combination with the other grid axes, e.g. `optimizer.lr=0.01,0.02`,
    /// `optimizer.lr=logspace(1e-3,1e-1,7)`, `seed=range(0,4)` (repeatable).
    #[arg(long, value_name = "FIELD=VALUES", conflicts_with = "resume")]
    grid: Vec<String>,
    /// A zipped axis: all --zip axes advance together and have one length (repeatable).
    #[arg(long, value_name = "FIELD=VALUES", conflicts_with = "resume")]
    zip: Vec<String>,
    /// Sweep directory (default: runs/sweep-<UTC time>). Given again with the same sweep, it continues it.
    #[arg(long, value_name = "DIR", conflicts_with = "resume")]
    out: Option<PathBuf>,
    /// Continue the sweep in DIR: run (or submit) every member that has not completed or diverged.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Where members run (default: [sweep] backend of the config, else local).
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// Local backend: members run at once (default: one per CPU).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Local backend: compute threads per member (default: CPUs / workers).
    #[arg(long, value_name = "N")]
    threads_per_worker: Option<usize>,
    /// Local backend: do not write the tables and figures at the end.
    #[arg(long)]
    no_collect: bool,
    /// Slurm: partition.
    #[arg(long, help_heading = "Slurm backend")]
    partition: Option<String>,
    /// Slurm: time limit per member, e.g. 01:00:00.
    #[arg(long, help_heading = "Slurm backend")]
    time: Option<String>,
    /// Slurm: memory per member, e.g. 4G.
    #[arg(long, help_heading = "Slurm backend")]
    mem: Option<String>,
    /// Slurm: CPUs per member (its compute threads).
    #[arg(long, value_name = "N", help_heading = "Slurm backend")]
    cpus_per_task: Option<u32>,
    /// Slurm: at most N members at once (the array's %N).
    #[arg(long, value_name = "N", help_heading = "Slurm backend")]
    max_concurrent: Option<u32>,
    /// Slurm: job name (default gdscope-<sweep name>).
    #[arg(long, help_heading = "Slurm backend")]
    job_name: Option<String>,
    /// Slurm: an extra #SBATCH line, e.g. `--sbatch --account=proj` (repeatable).
    #[arg(
        long,
        value_name = "LINE",
        allow_hyphen_values = true,
        help_heading = "Slurm backend"
    )]
    sbatch: Vec<String>,
    /// Slurm: a shell line run before each member, e.g. `module load gcc` (repeatable).
    #[arg(long, value_name = "LINE", help_heading = "Slurm backend")]
    setup: Vec<String>,
    /// Slurm: write the sbatch script but do not submit it.
    #[arg(long, help_heading = "Slurm backend")]
    dry_run: bool,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  gdscope sweep status runs/lr
  gdscope sweep status runs/lr --json")]
struct StatusArgs {
    /// Sweep directory.
    dir: PathBuf,
    /// Print one JSON object (members with state, reason, steps, Slurm task).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  gdscope sweep collect runs/lr
  gdscope sweep collect runs/lr --metric sharpness --summary-field sharpness_final --vs optimizer.lr --format png,svg")]
struct CollectArgs {
    /// Sweep directory.
    dir: PathBuf,
    /// Metric drawn against step, a line per member (default: sharpness, else loss).
    #[arg(long)]
    metric: Option<String>,
    /// Summary field drawn against a swept setting (default: sharpness_final, else final_loss).
    #[arg(long)]
    summary_field: Option<String>,
    /// The swept setting on that figure's x axis (default: the first numeric one).
    #[arg(long, value_name = "FIELD")]
    vs: Option<String>,
    /// Figure formats.
    #[arg(long, value_delimiter = ',', default_value = "png")]
    format: Vec<Format>,
    /// Only the tables.
    #[arg(long)]
    no_figures: bool,
}

#[derive(clap::Args)]
#[command(after_help = "Examples:
  gdscope sweep run-member runs/lr 3                # what Slurm array task 3 runs
  gdscope sweep run-member runs/lr 0 --threads 2")]
struct RunMemberArgs {
    /// Sweep directory.
    dir: PathBuf,
    /// Member index (the Slurm array task id).
    index: usize,
    /// Compute threads (default: SLURM_CPUS_PER_TASK, else every CPU).
    #[arg(long)]
    threads: Option<usize>,
}

/// Dispatches to the action.
pub fn run(args: Args) -> Result<()> {
    match args.action {
        Some(Action::Status(a)) => status(&a),
        Some(Action::Collect(a)) => collect_cmd(&a),
        Some(Action::RunMember(a)) => member(&a),
        None => launch(&args.launch),
    }
}

fn launch(a: &LaunchArgs) -> Result<()> {
    let spec = match (&a.resume, &a.fork_from) {
        (Some(_), _) => None,
        (None, Some(parent)) => Some(SweepSpec::load_fork(
            parent, a.at_step, &a.set, &a.grid, &a.zip,
        )?),
        (None, None) => Some(SweepSpec::load(
            a.config.as_deref(),
            &a.set,
            &a.grid,
            &a.zip,
        )?),
    };
    let backend = match a.backend {
        Some(BackendArg::Local) => Backend::Local,
        Some(BackendArg::Slurm) => Backend::Slurm,
        None => spec.as_ref().and_then(|s| s.backend).unwrap_or_default(),
    };
    let flags = SlurmOptions {
        partition: a.partition.clone(),
        time: a.time.clone(),
        mem: a.mem.clone(),
        cpus_per_task: a.cpus_per_task,
        max_concurrent: a.max_concurrent,
        job_name: a.job_name.clone(),
        extra: a.sbatch.clone(),
        setup: a.setup.clone(),
    };
    match backend {
        Backend::Local => ensure!(
            flags == SlurmOptions::default() && !a.dry_run,
            "Slurm options (--partition, --time, --mem, --cpus-per-task, --max-concurrent, --job-name, --sbatch, --setup, --dry-run) need --backend slurm"
        ),
        Backend::Slurm => ensure!(
            a.workers.is_none() && a.threads_per_worker.is_none() && !a.no_collect,
            "--workers, --threads-per-worker and --no-collect apply to the local backend; under Slurm use --cpus-per-task and --max-concurrent, then `gdscope sweep collect DIR`"
        ),
    }
    let mut sweep = match &spec {
        Some(spec) => {
            let out = a
                .out
                .clone()
                .unwrap_or_else(|| gdscope_io::RunDir::default_path("sweep"));
            spec.create(&out)?
        }
        None => Sweep::open(a.resume.as_deref().context("give --resume DIR, or axes")?)?,
    };
    eprintln!(
        "sweep {}: {} members",
        sweep.dir.display(),
        sweep.manifest.members.len()
    );
    match backend {
        Backend::Local => {
            process::install_signal_handlers()?;
            let opts = LocalOptions {
                workers: a.workers.or(spec.as_ref().and_then(|s| s.workers)),
                threads_per_worker: a
                    .threads_per_worker
                    .or(spec.as_ref().and_then(|s| s.threads_per_worker)),
            };
            let report = run_local(&mut sweep, &opts, &Progress::new())?;
            for e in &report.errors {
                eprintln!("sweep: could not run {e}");
            }
            let statuses = sweep_status(&sweep, None)?;
            print_table(&sweep, &statuses);
            if !a.no_collect {
                let done = collect(&sweep, &CollectOptions::default())?;
                print_collected(&done);
            }
            ensure!(
                report.errors.is_empty(),
                "{} member(s) could not be started (see above)",
                report.errors.len()
            );
        }
        Backend::Slurm => {
            let exe = std::env::current_exe().context("cannot find the gdscope executable")?;
            let opts = SubmitOptions {
                slurm: sweep.manifest.slurm.merged(&flags),
                dry_run: a.dry_run,
                member_command: vec![
                    exe.display().to_string(),
                    "sweep".into(),
                    "run-member".into(),
                ],
            };
            let report = submit(&mut sweep, &opts)?;
            if !report.skipped.is_empty() {
                let states: Vec<String> = report
                    .skipped
                    .iter()
                    .map(|(i, s)| format!("{i} {s}"))
                    .collect();
                println!("skipped:   {}", states.join(", "));
            }
            match (&report.script, &report.job_id) {
                (None, _) => println!("nothing to submit: every member has completed, diverged, or is queued or running"),
                (Some(script), None) => println!(
                    "wrote {} for members {:?} (dry run: not submitted; submit with `sbatch {}`)",
                    script.display(),
                    report.members,
                    script.display()
                ),
                (Some(script), Some(job)) => {
                    println!("submitted: job {job}, members {:?}", report.members);
                    println!("script:    {}", script.display());
                    println!("status:    gdscope sweep status {}", sweep.dir.display());
                    println!("tables:    gdscope sweep collect {}", sweep.dir.display());
                }
            }
        }
    }
    Ok(())
}

fn status(a: &StatusArgs) -> Result<()> {
    let sweep = Sweep::open(&a.dir)?;
    let queue = Queue::for_sweep(&sweep);
    let statuses = sweep_status(&sweep, queue.as_ref())?;
    if a.json {
        let v = serde_json::json!({
            "dir": sweep.dir,
            "name": sweep.manifest.name,
            "counts": counts(&statuses).into_iter().map(|(s, n)| (s.as_str().to_string(), serde_json::json!(n))).collect::<serde_json::Map<_, _>>(),
            "members": statuses,
        });
        println!("{v}");
        return Ok(());
    }
    print_table(&sweep, &statuses);
    Ok(())
}

fn counts(statuses: &[MemberStatus]) -> Vec<(State, usize)> {
    [
        State::Pending,
        State::Running,
        State::Completed,
        State::Diverged,
        State::Failed,
        State::Cancelled,
    ]
    .into_iter()
    .map(|s| (s, statuses.iter().filter(|m| m.state == s).count()))
    .collect()
}

fn print_table(sweep: &Sweep, statuses: &[MemberStatus]) {
    let summary: Vec<String> = counts(statuses)
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    println!(
        "sweep {} ({} members): {}",
        sweep.dir.display(),
        statuses.len(),
        summary.join(", ")
    );
    let width = statuses
        .iter()
        .map(|s| s.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    println!(
        "{:>5}  {:width$}  {:9}  {:>11}  reason",
        "index", "id", "state", "steps"
    );
    for s in statuses {
        let steps = match (s.steps_done, s.steps_total) {
            (Some(d), Some(t)) => format!("{d}/{t}"),
            (None, Some(t)) => format!("-/{t}"),
            (Some(d), None) => d.to_string(),
            (None, None) => "-".into(),
        };
        let mut reason = s.reason.clone().unwrap_or_default();
        if let Some(task) = &s.slurm_task {
            if s.state != State::Completed {
                reason = if reason.is_empty() {
                    format!("slurm {task}")
                } else {
                    format!("{reason} [slurm {task}]")
                };
            }
        }
        println!(
            "{:>5}  {:width$}  {:9}  {:>11}  {reason}",
            s.index,
            s.id,
            s.state.as_str(),
            steps
        );
    }
}

fn collect_cmd(a: &CollectArgs) -> Result<()> {
    let sweep = Sweep::open(&a.dir)?;
    let opts = CollectOptions {
        figures: !a.no_figures,
        metric: a.metric.clone(),
        summary_field: a.summary_field.clone(),
        vs: a.vs.clone(),
        formats: a.format.clone(),
    };
    let done = collect(&sweep, &opts)?;
    print_collected(&done);
    Ok(())
}

fn print_collected(done: &gdscope_sweep::Collected) {
    println!(
        "table:     {} ({} rows)",
        done.runs.display(),
        done.statuses.len()
    );
    println!(
        "metrics:   {} ({} rows)",
        done.metrics.display(),
        done.metric_rows
    );
    for f in &done.figures {
        println!("figure:    {}", f.display());
    }
    for why in &done.skipped_figures {
        println!("no figure: {why}");
    }
}

fn member(a: &RunMemberArgs) -> Result<()> {
    process::install_signal_handlers()?;
    let sweep = Sweep::open(&a.dir)?;
    let mut ctx = MemberContext::from_env();
    if let Some(t) = a.threads {
        ensure!(t >= 1, "--threads must be at least 1");
        ctx.threads = t;
    }
    let s = run_member(&sweep, a.index, &ctx)?;
    let reason = s
        .reason
        .as_deref()
        .map_or(String::new(), |r| format!(": {r}"));
    println!("member {} ({}): {}{reason}", s.index, s.id, s.state);
    match s.state {
        State::Completed | State::Diverged => Ok(()),
        other => bail!("member {} {other}{reason}", s.index),
    }
}
