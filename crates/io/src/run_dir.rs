//! One directory per run: config, metrics, summary and figures side by side.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::{write_atomic, write_csv, write_parquet, Table};

/// A run directory. Every file written through it is written atomically
/// (see [`write_atomic`]); the layout is documented in `docs/outputs.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates (or adopts) the directory `path`, with its parents.
    ///
    /// An existing empty directory is used as is. A non-empty one is refused unless
    /// `overwrite` is true, so a run never silently replaces another; with `overwrite`
    /// the files this run writes replace those of the same name, and other files stay.
    pub fn create(path: &Path, overwrite: bool) -> Result<RunDir> {
        if path.exists() {
            if !path.is_dir() {
                bail!(
                    "{} exists and is not a directory; choose another --out",
                    path.display()
                );
            }
            let mut entries = std::fs::read_dir(path)
                .with_context(|| format!("cannot list run directory {}", path.display()))?;
            if entries.next().is_some() && !overwrite {
                bail!(
                    "run directory {} already holds a run; pass --overwrite or choose another --out",
                    path.display()
                );
            }
        }
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create run directory {}", path.display()))?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// The default location of a new run of `kind` (e.g. `direction`):
    /// `runs/<kind>-<UTC yyyymmdd-hhmmss>`, relative to the working directory, with a
    /// suffix `-2`, `-3`, … when that name is already taken.
    pub fn default_path(kind: &str) -> PathBuf {
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        first_free(Path::new("runs"), &format!("{kind}-{stamp}"))
    }

    /// The path of `name` inside the run directory (nothing is created).
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes raw bytes to `name`; returns the path written.
    pub fn write_bytes(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let p = self.file(name);
        write_atomic(&p, bytes).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    }

    /// Writes `value` as pretty-printed JSON (with a final newline) to `name`.
    pub fn write_json<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<PathBuf> {
        let mut text = serde_json::to_vec_pretty(value)
            .with_context(|| format!("cannot encode {name} as JSON"))?;
        text.push(b'\n');
        self.write_bytes(name, &text)
    }

    /// Writes `value` as TOML to `name` (use it for the resolved config). The top-level
    /// value must serialize as a table (a struct or map). TOML has no null: `None` struct
    /// fields are left out, and so are `null` entries of maps such as `serde_json::json!`
    /// objects (a `null` inside an array is an error).
    pub fn write_toml<T: Serialize + ?Sized>(&self, name: &str, value: &T) -> Result<PathBuf> {
        let text = match toml::to_string_pretty(value) {
            Ok(text) => text,
            // Nulls in maps; going through JSON drops them (NaN would become null there,
            // which is why this is not the first route).
            Err(_) => {
                let mut json = serde_json::to_value(value)
                    .with_context(|| format!("cannot encode {name} as TOML"))?;
                strip_nulls(&mut json);
                toml::to_string_pretty(&json)
                    .with_context(|| format!("cannot encode {name} as TOML"))?
            }
        };
        self.write_bytes(name, text.as_bytes())
    }

    /// Writes `stem.parquet`, plus `stem.csv` when `csv` is true; returns the paths written.
    pub fn write_metrics(&self, stem: &str, table: &Table, csv: bool) -> Result<Vec<PathBuf>> {
        let mut written = vec![self.file(&format!("{stem}.parquet"))];
        write_parquet(&written[0], table)?;
        if csv {
            let p = self.file(&format!("{stem}.csv"));
            write_csv(&p, table)?;
            written.push(p);
        }
        Ok(written)
    }
}

/// Removes `null` entries from every object inside `v`.
fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, x| !x.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// `parent/name`, or `parent/name-2`, `parent/name-3`, … : the first that does not exist.
fn first_free(parent: &Path, name: &str) -> PathBuf {
    let mut candidate = parent.join(name);
    let mut k = 2u64;
    while candidate.exists() {
        candidate = parent.join(format!("{name}-{k}"));
        k += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Config {
        lr: f64,
        steps: u64,
        objective: String,
        x0: Vec<f64>,
    }

    #[test]
    fn refuses_a_non_empty_directory_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("run");
        let run = RunDir::create(&p, false).unwrap();
        // An empty existing directory is fine.
        RunDir::create(&p, false).unwrap();
        run.write_json("summary.json", &serde_json::json!({"a": 1}))
            .unwrap();
        let e = RunDir::create(&p, false).unwrap_err().to_string();
        assert!(e.contains("already holds a run"), "{e}");
        assert!(e.contains("--overwrite") && e.contains("--out"), "{e}");
        RunDir::create(&p, true).unwrap();
    }

    #[test]
    fn refuses_a_file_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"x").unwrap();
        let e = RunDir::create(&p, true).unwrap_err().to_string();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn writes_json_toml_and_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(&dir.path().join("a/b"), false).unwrap();
        let cfg = Config {
            lr: 0.1,
            steps: 10,
            objective: "rosenbrock".into(),
            x0: vec![1.0, -2.0],
        };
        let p = run.write_toml("config.toml", &cfg).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let back: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(back["lr"].as_float(), Some(0.1));
        assert_eq!(back["objective"].as_str(), Some("rosenbrock"));

        let p = run.write_json("config.json", &cfg).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        assert_eq!(back["x0"][1], -2.0);

        let mut t = Table::new();
        t.push_i64("step", vec![0, 1]).unwrap();
        t.push_f64("loss", vec![1.0, f64::NAN]).unwrap();
        let files = run.write_metrics("metrics", &t, true).unwrap();
        assert_eq!(
            files,
            [run.file("metrics.parquet"), run.file("metrics.csv")]
        );
        let back = crate::read_parquet(&files[0]).unwrap();
        assert_eq!(back.column("step"), t.column("step"));
        assert_eq!(run.write_metrics("m2", &t, false).unwrap().len(), 1);
        assert!(!run.file("m2.csv").exists());
    }

    #[test]
    fn toml_leaves_out_nulls_and_keeps_nan() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), false).unwrap();
        let v = serde_json::json!({"a": null, "b": 1, "c": {"d": null, "e": [1, 2]}});
        let text = std::fs::read_to_string(run.write_toml("c.toml", &v).unwrap()).unwrap();
        let back: toml::Value = toml::from_str(&text).unwrap();
        assert_eq!(back.get("a"), None);
        assert_eq!(back["b"].as_integer(), Some(1));
        assert_eq!(back["c"].get("d"), None);
        assert_eq!(back["c"]["e"].as_array().map(Vec::len), Some(2));

        #[derive(Serialize)]
        struct S {
            missing: Option<f64>,
            n: f64,
        }
        let text = std::fs::read_to_string(
            run.write_toml(
                "s.toml",
                &S {
                    missing: None,
                    n: f64::NAN,
                },
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(text, "n = nan\n");
        let e = run
            .write_toml("x.toml", &serde_json::json!({"a": [1, null]}))
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("cannot encode x.toml as TOML"),
            "{e:#}"
        );
    }

    #[test]
    fn default_path_has_kind_and_utc_stamp() {
        let p = RunDir::default_path("direction");
        assert_eq!(p.parent(), Some(Path::new("runs")));
        let name = p.file_name().unwrap().to_str().unwrap();
        let stamp = name.strip_prefix("direction-").unwrap();
        // yyyymmdd-hhmmss, possibly followed by -k.
        let parts: Vec<&str> = stamp.split('-').collect();
        assert!(parts.len() >= 2, "{name}");
        assert_eq!(parts[0].len(), 8);
        assert_eq!(parts[1].len(), 6);
        assert!(parts[0]
            .chars()
            .chain(parts[1].chars())
            .all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn first_free_adds_suffixes() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(first_free(dir.path(), "x"), dir.path().join("x"));
        std::fs::create_dir(dir.path().join("x")).unwrap();
        assert_eq!(first_free(dir.path(), "x"), dir.path().join("x-2"));
        std::fs::create_dir(dir.path().join("x-2")).unwrap();
        assert_eq!(first_free(dir.path(), "x"), dir.path().join("x-3"));
    }
}
