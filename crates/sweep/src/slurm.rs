//! The Slurm backend: an `sbatch --array` script whose task `i` runs member `i`
//! (`gdscope sweep run-member DIR i`), its submission, and what `squeue` says about the
//! tasks (docs/sweeps.md "Slurm"). No accounting database is used: member states come from
//! the run directories, and `squeue` only tells queued tasks apart from vanished ones.
//!
//! Slurm writes each task's output to `slurm/tasks/<index>/slurm-<job>_<index>.log`, where
//! `slurm/tasks/<index>` is a link to the member's run directory, so the log lies next to the
//! run it belongs to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

use crate::manifest::{Launch, Sweep};
use crate::status::{sweep_status, State};

/// Resources and extra lines of the array job (`[slurm]` in the config file, or flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlurmOptions {
    /// `--partition`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// `--time` per member, e.g. `01:00:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// `--mem` per member, e.g. `4G`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// `--cpus-per-task`; each member computes with that many threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_per_task: Option<u32>,
    /// At most this many members run at once (the array's `%N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// `--job-name` (default `gdscope-<sweep name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_name: Option<String>,
    /// Further `#SBATCH` lines, with or without the `#SBATCH` prefix
    /// (e.g. `--account=proj`, `--qos=short`, `--gres=gpu:1`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<String>,
    /// Shell lines run before the member (e.g. `module load …`, `source venv/bin/activate`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
}

impl SlurmOptions {
    /// `self` with every field that `flags` sets replaced (lists are appended).
    pub fn merged(&self, flags: &SlurmOptions) -> SlurmOptions {
        let pick = |a: &Option<String>, b: &Option<String>| b.clone().or_else(|| a.clone());
        SlurmOptions {
            partition: pick(&self.partition, &flags.partition),
            time: pick(&self.time, &flags.time),
            mem: pick(&self.mem, &flags.mem),
            cpus_per_task: flags.cpus_per_task.or(self.cpus_per_task),
            max_concurrent: flags.max_concurrent.or(self.max_concurrent),
            job_name: pick(&self.job_name, &flags.job_name),
            extra: [self.extra.clone(), flags.extra.clone()].concat(),
            setup: [self.setup.clone(), flags.setup.clone()].concat(),
        }
    }
}

/// How to submit.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// Options of this submission (already merged with the manifest's).
    pub slurm: SlurmOptions,
    /// Only write the script.
    pub dry_run: bool,
    /// The command a task runs, before `DIR INDEX`: e.g. `[/path/gdscope, sweep, run-member]`.
    pub member_command: Vec<String>,
}

/// What a submission did.
#[derive(Debug, Clone)]
pub struct SubmitReport {
    /// The sbatch script written.
    pub script: Option<PathBuf>,
    /// The array job id (`None` for a dry run or when nothing was left to run).
    pub job_id: Option<String>,
    /// Members submitted (or that a dry run would submit).
    pub members: Vec<usize>,
    /// Members skipped, with their state (completed, diverged, still queued or running).
    pub skipped: Vec<(usize, State)>,
}

/// Submits every member that has not finished and is not queued or running: writes
/// `slurm/submit-<n>.sh`, links `slurm/tasks/<index>` to the member directories, calls
/// `sbatch --parsable` (unless `dry_run`) and records the job id in the manifest.
pub fn submit(sweep: &mut Sweep, opts: &SubmitOptions) -> Result<SubmitReport> {
    ensure!(
        !opts.member_command.is_empty(),
        "no command to run members with"
    );
    let queue = Queue::for_sweep(sweep);
    let statuses = sweep_status(sweep, queue.as_ref())?;
    let (todo, skipped): (Vec<_>, Vec<_>) = statuses.iter().partition(|s| s.wants_run());
    let todo: Vec<usize> = todo.iter().map(|s| s.index).collect();
    let skipped = skipped.iter().map(|s| (s.index, s.state)).collect();
    if todo.is_empty() {
        return Ok(SubmitReport {
            script: None,
            job_id: None,
            members: todo,
            skipped,
        });
    }
    if let Some(&last) = todo.last() {
        ensure!(
            last <= 1000 || opts.dry_run,
            "member index {last} is above 1000, Slurm's default MaxArraySize; split the sweep"
        );
    }
    let slurm_dir = sweep.dir.join("slurm");
    let tasks = slurm_dir.join("tasks");
    std::fs::create_dir_all(&tasks)
        .with_context(|| format!("cannot create {}", tasks.display()))?;
    for &i in &todo {
        link_task(sweep, &tasks, i)?;
    }
    let number = std::fs::read_dir(&slurm_dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("submit-"))
        .count()
        + 1;
    let script = slurm_dir.join(format!("submit-{number}.sh"));
    let text = script_text(sweep, &todo, &opts.slurm, &opts.member_command);
    gdscope_io::write_atomic(&script, text.as_bytes())
        .with_context(|| format!("cannot write {}", script.display()))?;
    if opts.dry_run {
        return Ok(SubmitReport {
            script: Some(script),
            job_id: None,
            members: todo,
            skipped,
        });
    }
    let job_id = sbatch(&script, &sweep.dir)?;
    sweep.manifest.slurm = opts.slurm.clone();
    sweep.record_launch(Launch {
        backend: "slurm".into(),
        time: crate::process::utc_now(),
        members: todo.clone(),
        job_id: Some(job_id.clone()),
        script: Some(format!("slurm/submit-{number}.sh")),
        host: crate::process::host_name(),
    })?;
    Ok(SubmitReport {
        script: Some(script),
        job_id: Some(job_id),
        members: todo,
        skipped,
    })
}

/// `slurm/tasks/<index>` → `../../<member dir>` (replaced if it exists).
fn link_task(sweep: &Sweep, tasks: &Path, index: usize) -> Result<()> {
    let member = sweep.member(index)?;
    let link = tasks.join(index.to_string());
    let target = Path::new("../..").join(&member.dir);
    if std::fs::symlink_metadata(&link).is_ok() {
        std::fs::remove_file(&link)
            .with_context(|| format!("cannot replace {}", link.display()))?;
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(&target, &link)
        .with_context(|| format!("cannot link {}", link.display()))?;
    #[cfg(not(unix))]
    bail!("the Slurm backend needs a Unix file system (symbolic links)");
    Ok(())
}

/// The sbatch script for members `indices`.
pub fn script_text(
    sweep: &Sweep,
    indices: &[usize],
    opts: &SlurmOptions,
    member_command: &[String],
) -> String {
    let dir = sweep.dir.display().to_string();
    let mut array = array_spec(indices);
    if let Some(n) = opts.max_concurrent {
        array.push_str(&format!("%{n}"));
    }
    let job_name = opts
        .job_name
        .clone()
        .unwrap_or_else(|| format!("gdscope-{}", sweep.manifest.name));
    let mut lines = vec![
        "#!/bin/bash".to_string(),
        format!(
            "# Written by gdscope sweep: array task i runs member i of the sweep in {dir}."
        ),
        "# Re-submit with `gdscope sweep --resume DIR --backend slurm`: finished members are skipped.".into(),
        format!("#SBATCH --job-name={job_name}"),
        format!("#SBATCH --array={array}"),
        format!("#SBATCH --output={dir}/slurm/tasks/%a/slurm-%A_%a.log"),
        format!("#SBATCH --chdir={dir}"),
        "#SBATCH --nodes=1".into(),
        "#SBATCH --ntasks=1".into(),
    ];
    let mut opt = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            lines.push(format!("#SBATCH --{name}={v}"));
        }
    };
    opt("partition", &opts.partition);
    opt("time", &opts.time);
    opt("mem", &opts.mem);
    opt("cpus-per-task", &opts.cpus_per_task.map(|c| c.to_string()));
    for extra in &opts.extra {
        let e = extra.trim();
        let e = e.strip_prefix("#SBATCH").map_or(e, str::trim);
        lines.push(format!("#SBATCH {e}"));
    }
    lines.push("set -eu".into());
    lines.extend(opts.setup.iter().cloned());
    let command: Vec<String> = member_command.iter().map(|w| shell_quote(w)).collect();
    lines.push(format!(
        "exec {} {} \"$SLURM_ARRAY_TASK_ID\"",
        command.join(" "),
        shell_quote(&dir)
    ));
    lines.join("\n") + "\n"
}

/// Sorted indices as a Slurm array list: `0-3,5,7-9`.
pub fn array_spec(indices: &[usize]) -> String {
    let mut sorted = indices.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if end > start {
            format!("{start}-{end}")
        } else {
            start.to_string()
        });
        i += 1;
    }
    parts.join(",")
}

/// `'text'` with embedded single quotes escaped, for bash.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}

/// Runs `sbatch --parsable SCRIPT` in `dir`; returns the job id.
fn sbatch(script: &Path, dir: &Path) -> Result<String> {
    let out = Command::new("sbatch")
        .arg("--parsable")
        .arg(script)
        .current_dir(dir)
        .output()
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run sbatch ({e}); is Slurm installed here? Use --dry-run to only write {}",
                script.display()
            )
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("sbatch refused {}: {}", script.display(), stderr.trim());
    }
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").trim();
    ensure!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
        "sbatch printed no job id (stdout `{}`, stderr `{}`)",
        stdout.trim(),
        stderr.trim()
    );
    Ok(id.to_string())
}

/// What `squeue` reports about array tasks of this user: `(job, task) → (state, reason)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Queue {
    tasks: BTreeMap<(String, usize), (String, String)>,
}

impl Queue {
    /// Queries `squeue` for the sweep's Slurm jobs; `None` when the sweep was never submitted
    /// to Slurm or `squeue` cannot be run or fails (then status reads the directories only).
    pub fn for_sweep(sweep: &Sweep) -> Option<Queue> {
        let jobs: Vec<&str> = sweep
            .manifest
            .launches
            .iter()
            .filter_map(|l| l.job_id.as_deref())
            .collect();
        if jobs.is_empty() {
            return None;
        }
        let out = Command::new("squeue")
            .args(["-h", "-r", "-t", "all", "--me", "-o", "%F|%K|%T|%r"])
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        Some(Self::parse(&String::from_utf8_lossy(&out.stdout), &jobs))
    }

    /// Parses `squeue -h -r -o '%F|%K|%T|%r'` lines, keeping the jobs in `jobs`.
    pub fn parse(text: &str, jobs: &[&str]) -> Queue {
        let mut tasks = BTreeMap::new();
        for line in text.lines() {
            let fields: Vec<&str> = line.trim().split('|').collect();
            let [job, task, state, reason] = fields[..] else {
                continue;
            };
            let Ok(task) = task.parse::<usize>() else {
                continue;
            };
            if jobs.contains(&job) {
                tasks.insert(
                    (job.to_string(), task),
                    (state.to_string(), reason.to_string()),
                );
            }
        }
        Queue { tasks }
    }

    /// `(state, reason)` of task `task` of array job `job`, if listed.
    pub fn task(&self, job: &str, task: usize) -> Option<(&str, &str)> {
        self.tasks
            .get(&(job.to_string(), task))
            .map(|(s, r)| (s.as_str(), r.as_str()))
    }

    /// Whether any task of `job` is listed (the job is known to the controller).
    pub fn knows_job(&self, job: &str) -> bool {
        self.tasks.keys().any(|(j, _)| j == job)
    }
}

/// Slurm states of a task that has not ended.
pub fn is_active_slurm_state(state: &str) -> bool {
    matches!(
        state,
        "PENDING"
            | "RUNNING"
            | "CONFIGURING"
            | "COMPLETING"
            | "SUSPENDED"
            | "REQUEUED"
            | "RESIZING"
            | "SIGNALING"
            | "STAGE_OUT"
            | "STOPPED"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_lists_are_compressed() {
        assert_eq!(array_spec(&[0, 1, 2, 3, 5, 7, 8, 9]), "0-3,5,7-9");
        assert_eq!(array_spec(&[4]), "4");
        assert_eq!(array_spec(&[3, 1, 2, 2]), "1-3");
    }

    #[test]
    fn flags_override_the_file() {
        let file = SlurmOptions {
            partition: Some("a".into()),
            time: Some("1:00:00".into()),
            extra: vec!["--qos=x".into()],
            ..Default::default()
        };
        let flags = SlurmOptions {
            partition: Some("b".into()),
            max_concurrent: Some(2),
            extra: vec!["#SBATCH --account=p".into()],
            ..Default::default()
        };
        let m = file.merged(&flags);
        assert_eq!(m.partition.as_deref(), Some("b"));
        assert_eq!(m.time.as_deref(), Some("1:00:00"));
        assert_eq!(m.max_concurrent, Some(2));
        assert_eq!(m.extra.len(), 2);
    }

    #[test]
    fn queue_lines_are_read() {
        let q = Queue::parse(
            "12|0|RUNNING|None\n12|3|PENDING|Resources\n13|N/A|RUNNING|None\n9|1|COMPLETED|None\n",
            &["12"],
        );
        assert_eq!(q.task("12", 3), Some(("PENDING", "Resources")));
        assert_eq!(q.task("12", 1), None);
        assert_eq!(q.task("9", 1), None);
        assert!(q.knows_job("12") && !q.knows_job("13"));
        assert!(is_active_slurm_state("PENDING") && !is_active_slurm_state("CANCELLED"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
