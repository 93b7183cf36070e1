//! Metrics on disk, O(T) over a run: each step's record is appended to `metrics.csv` as it
//! is produced (readable while the run goes, e.g. `pandas.read_csv`), and compacted into
//! `metrics.parquet` at the end (and when the run is interrupted).
//!
//! `metrics.csv`: a header `step,<column>,…` in the run's schema order, then one row per step;
//! floats in shortest round-trip form (`1.25e-3`), `NaN` for "not measured", `inf`/`-inf`.
//! A checkpoint records the log's length; resuming truncates the log to it (rows written
//! after the checkpoint by a killed run are recomputed identically), so the log never holds a
//! step twice. The Parquet table drops the optional columns that were never measured
//! (`eig_7` when k never grew to 7; `midpoint.update_cosine`).

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use gdscope_dynamics::{Record, Schema};
use gdscope_io::Table;

/// File name of the live metrics log inside a run directory.
pub const METRICS_LOG: &str = "metrics.csv";

/// The append-only metrics log of a run.
pub struct MetricsLog {
    path: PathBuf,
    file: BufWriter<File>,
    line: String,
}

/// The header line of `schema`.
fn header(schema: &Schema) -> String {
    let mut h = String::from("step");
    for name in schema.names() {
        h.push(',');
        h.push_str(name);
    }
    h.push('\n');
    h
}

impl MetricsLog {
    /// Starts `dir/metrics.csv` with the header of `schema` (replacing any old log).
    pub fn create(dir: &Path, schema: &Schema) -> anyhow::Result<Self> {
        let path = dir.join(METRICS_LOG);
        let mut file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(header(schema).as_bytes())?;
        Ok(Self {
            path,
            file: BufWriter::new(file),
            line: String::new(),
        })
    }

    /// Starts `dir/metrics.csv` for a fork as the first `len` bytes of the parent's log
    /// `parent`: its header and its rows before the fork step ([`rows_before`]).
    pub fn create_forked(dir: &Path, parent: &Path, len: u64) -> anyhow::Result<Self> {
        let path = dir.join(METRICS_LOG);
        let source = File::open(parent).with_context(|| {
            format!("cannot read the parent's metrics log {}", parent.display())
        })?;
        let mut file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let copied = std::io::copy(&mut std::io::Read::take(source, len), &mut file)?;
        anyhow::ensure!(
            copied == len,
            "{} shrank while it was copied",
            parent.display()
        );
        Ok(Self {
            path,
            file: BufWriter::new(file),
            line: String::new(),
        })
    }

    /// Reopens the log of a resumed run, truncated to the `len` bytes its checkpoint
    /// recorded; the header must match `schema`.
    pub fn reopen(dir: &Path, schema: &Schema, len: u64) -> anyhow::Result<Self> {
        let path = dir.join(METRICS_LOG);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot open {} (the metrics log of this run); it is needed to resume",
                    path.display()
                )
            })?;
        let have = file.metadata()?.len();
        anyhow::ensure!(
            have >= len,
            "{} has {have} bytes but the checkpoint recorded {len}: the log was truncated or \
             replaced after the checkpoint, so the run cannot be resumed with its metrics intact",
            path.display()
        );
        let text = std::fs::read_to_string(&path)?;
        anyhow::ensure!(
            text.starts_with(&header(schema)),
            "{} does not start with this run's columns; was it replaced?",
            path.display()
        );
        file.set_len(len)?;
        let mut file = BufWriter::new(file);
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0))?;
        Ok(Self {
            path,
            file,
            line: String::new(),
        })
    }

    /// Appends one record (allocation-free once the line buffer has grown).
    pub fn append(&mut self, record: &Record) -> anyhow::Result<()> {
        self.line.clear();
        let _ = write!(self.line, "{}", record.step);
        for v in &record.values {
            let _ = write!(self.line, ",{}", Float(*v));
        }
        self.line.push('\n');
        self.file
            .write_all(self.line.as_bytes())
            .with_context(|| format!("cannot append to {}", self.path.display()))
    }

    /// Flushes to disk (data synced) and returns the log's length in bytes.
    pub fn sync(&mut self) -> anyhow::Result<u64> {
        self.file.flush()?;
        let f = self.file.get_ref();
        f.sync_data()?;
        Ok(f.metadata()?.len())
    }
}

/// The metrics of the run in `dir`: its `metrics.parquet` when that is at least as new as
/// its `metrics.csv` (the run ended or was interrupted), else the live `metrics.csv` (the run
/// is going, or was killed): what a reader wants to see now.
pub fn read_run_metrics(dir: &Path) -> anyhow::Result<Table> {
    let (parquet, log) = (dir.join("metrics.parquet"), dir.join(METRICS_LOG));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&parquet), modified(&log)) {
        (Some(p), Some(l)) if l > p => read_log(&log, None),
        (None, Some(_)) => read_log(&log, None),
        _ => gdscope_io::read_parquet(&parquet),
    }
}

/// Steps recorded so far in the metrics log at `path`: one more than the step of its last
/// complete row (reads only the file's end, so it is cheap on a running run); `None` when
/// the log is missing or holds no row yet.
pub fn steps_logged(path: &Path) -> Option<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let mut tail_len = 4096u64;
    loop {
        let start = len.saturating_sub(tail_len);
        file.seek(SeekFrom::Start(start)).ok()?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).ok()?;
        let complete = &tail[..tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)];
        let mut lines = complete.split(|&b| b == b'\n').rev().skip(1);
        // The last complete line, unless it may be cut at the front of the window.
        if let Some(line) = lines
            .next()
            .filter(|_| start == 0 || lines.next().is_some())
        {
            let first = line.split(|&b| b == b',').next()?;
            return std::str::from_utf8(first)
                .ok()?
                .parse::<u64>()
                .ok()
                .map(|s| s + 1);
        }
        if start == 0 {
            return None;
        }
        tail_len *= 4;
    }
}

/// Checks that the metrics log `parent` has the columns of `schema` and the rows of steps
/// `0 … t−1` (a fork copies them); returns the length in bytes of its header and those rows.
pub fn rows_before(parent: &Path, schema: &Schema, t: u64) -> anyhow::Result<u64> {
    let file = File::open(parent)
        .with_context(|| format!("cannot read the parent's metrics log {}", parent.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut reader, &mut line)?;
    anyhow::ensure!(
        line == header(schema),
        "{} has other columns than the fork records (written by another gdscope version?)",
        parent.display()
    );
    let mut len = line.len() as u64;
    for expected in 0..t {
        line.clear();
        std::io::BufRead::read_line(&mut reader, &mut line)?;
        anyhow::ensure!(
            line.ends_with('\n'),
            "{} ends before the row of step {expected}; the fork needs the parent's rows of \
             steps 0 to {}",
            parent.display(),
            t - 1
        );
        anyhow::ensure!(
            line.split(',').next().and_then(|s| s.parse::<u64>().ok()) == Some(expected),
            "{} line {}: expected the row of step {expected}",
            parent.display(),
            expected + 2
        );
        len += line.len() as u64;
    }
    Ok(len)
}

/// A float in the log's notation.
struct Float(f64);

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            x if x.is_nan() => f.write_str("NaN"),
            x if x.is_infinite() => f.write_str(if x > 0.0 { "inf" } else { "-inf" }),
            x => write!(f, "{x:e}"),
        }
    }
}

/// Reads a metrics log into a table (`step` as integers, every other column as floats).
/// A last line without its newline (a run killed mid-write) is ignored. With `schema`, the
/// optional columns it marks are dropped when they hold no finite value.
pub fn read_log(path: &Path, schema: Option<&Schema>) -> anyhow::Result<Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.split_inclusive('\n').filter(|l| l.ends_with('\n'));
    let names: Vec<&str> = lines
        .next()
        .with_context(|| format!("{} is empty", path.display()))?
        .trim_end()
        .split(',')
        .collect();
    anyhow::ensure!(
        names.first() == Some(&"step"),
        "{} does not start with a step column",
        path.display()
    );
    let mut steps = Vec::new();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); names.len() - 1];
    for (i, line) in lines.enumerate() {
        let mut fields = line.trim_end().split(',');
        let bad = || format!("{} line {}: malformed row", path.display(), i + 2);
        steps.push(
            fields
                .next()
                .with_context(bad)?
                .parse::<i64>()
                .with_context(bad)?,
        );
        for col in cols.iter_mut() {
            col.push(
                fields
                    .next()
                    .with_context(bad)?
                    .parse::<f64>()
                    .with_context(bad)?,
            );
        }
        anyhow::ensure!(fields.next().is_none(), "{}", bad());
    }
    let mut table = Table::new();
    table.push_i64("step", steps)?;
    for (name, values) in names[1..].iter().zip(cols) {
        let optional = schema.is_some_and(|s| s.index(name).is_some_and(|i| s.is_optional(i)));
        if optional && !values.iter().any(|v| v.is_finite()) {
            continue;
        }
        table.push_f64(name, values)?;
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_logged_reads_the_last_complete_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(METRICS_LOG);
        assert_eq!(steps_logged(&path), None);
        std::fs::write(&path, "step,loss\n").unwrap();
        assert_eq!(steps_logged(&path), None, "header only");
        // Rows longer than the first window, and a cut last row.
        let wide = "0.5,".repeat(3000);
        let text = format!("step,loss\n0,{wide}1\n1,{wide}1\n2,0.");
        std::fs::write(&path, text).unwrap();
        assert_eq!(steps_logged(&path), Some(2));
        std::fs::write(&path, "step,loss\n0,1\n").unwrap();
        assert_eq!(steps_logged(&path), Some(1));
    }

    #[test]
    fn log_round_trips_bits_and_truncates_on_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut schema = Schema::default();
        schema.add("loss".into());
        schema.add_optional("eig_9".into());
        let values = [0.1 + 0.2, f64::NAN, f64::INFINITY, -1e-300, 5e300, -0.0];
        let mut log = MetricsLog::create(dir.path(), &schema).unwrap();
        let mut r = Record::new(&schema);
        for (t, v) in values.iter().enumerate() {
            r.reset(t as u64);
            r.set(0, *v);
            log.append(&r).unwrap();
        }
        let len = log.sync().unwrap();
        r.reset(99);
        log.append(&r).unwrap();
        log.sync().unwrap();
        drop(log);
        // A killed run leaves a partial line, ignored by readers.
        let path = dir.path().join(METRICS_LOG);
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"100,0.5")
            .unwrap();
        let t = read_log(&path, Some(&schema)).unwrap();
        assert_eq!(t.nrows(), 7);
        assert!(t.column("eig_9").is_none(), "never measured: dropped");
        let loss = t.f64_column("loss").unwrap();
        for (a, b) in loss.iter().zip(values) {
            assert_eq!(a.to_bits(), b.to_bits());
        }
        assert_eq!(
            steps_logged(&path),
            Some(100),
            "the last complete row is step 99"
        );
        MetricsLog::reopen(dir.path(), &schema, len).unwrap();
        assert_eq!(read_log(&path, None).unwrap().nrows(), 6);
        assert_eq!(steps_logged(&path), Some(6));
        let mut other = Schema::default();
        other.add("sharpness".into());
        assert!(MetricsLog::reopen(dir.path(), &other, len).is_err());
        assert!(MetricsLog::reopen(dir.path(), &schema, len + 1000).is_err());
    }
}
