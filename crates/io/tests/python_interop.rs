//! Interoperability with real numpy / pandas / pyarrow / polars, run by the interpreter
//! `$GDSCOPE_TEST_PYTHON` (default `python3`).
//!
//! These tests need a Python with those packages, so they are `#[ignore]`d: a plain
//! `cargo test` lists them as ignored (with the reason) instead of passing without
//! checking anything. Run them with `-- --include-ignored`; then a missing package is a
//! failure, never a skip. `.ci/run` makes the venv and runs them that way:
//!
//! ```text
//! python3 -m venv .venv-interop && .venv-interop/bin/pip install numpy pandas pyarrow polars
//! GDSCOPE_TEST_PYTHON=.venv-interop/bin/python \
//!     cargo test --release -p gdscope-io --test python_interop -- --include-ignored
//! ```

use std::path::Path;
use std::process::Command;

use gdscope_io::npy::{read_npy, read_npz, write_npz, NdArray};
use gdscope_io::{read_parquet, write_parquet, Column, RunDir, Table};

fn python() -> String {
    std::env::var("GDSCOPE_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Fails the test, saying what to install, unless the interpreter imports all `modules`.
fn require(modules: &str) {
    let out = Command::new(python())
        .args(["-c", &format!("import {modules}")])
        .output();
    let why = match out {
        Ok(o) if o.status.success() => return,
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_string(),
        Err(e) => e.to_string(),
    };
    panic!(
        "{} cannot import {modules} ({why}). Make a venv: python3 -m venv .venv-interop && \
         .venv-interop/bin/pip install numpy pandas pyarrow polars, then set \
         GDSCOPE_TEST_PYTHON=.venv-interop/bin/python",
        python()
    );
}

fn run(script: &str, dir: &Path) {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs Python with numpy, pandas, pyarrow, polars: set GDSCOPE_TEST_PYTHON and pass --include-ignored (as .ci/run does)"]
fn reads_arrays_written_by_numpy() {
    require("numpy");
    let dir = tempfile::tempdir().unwrap();
    run(
        r#"
import sys, numpy as np
d = sys.argv[1]
a = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
for t in ['float64', 'float32', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64']:
    np.save(f'{d}/{t}.npy', (a * 7).astype(t))
np.save(f'{d}/bool.npy', np.array([True, False, True]))
np.save(f'{d}/scalar.npy', np.float64(2.5))
np.save(f'{d}/nan.npy', np.array([np.nan, -np.inf, -0.0]))
np.save(f'{d}/fortran.npy', np.asfortranarray(a))
np.save(f'{d}/big.npy', a.astype('>f8'))
np.save(f'{d}/complex.npy', a.astype(np.complex128))
np.savez(f'{d}/plain.npz', x=a, y=np.array([0, 1, 2]))
np.savez_compressed(f'{d}/packed.npz', x=a, y=np.array([0, 1, 2]))
"#,
        dir.path(),
    );
    let p = |n: &str| dir.path().join(n);
    let want: Vec<f64> = (0..12).map(f64::from).collect();
    for t in [
        "float64", "float32", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64",
    ] {
        let a = read_npy(&p(&format!("{t}.npy"))).unwrap();
        assert_eq!((a.shape.as_slice(), a.dtype.as_str()), (&[3, 4][..], t));
        assert_eq!(a.data, want, "{t}");
    }
    assert_eq!(read_npy(&p("bool.npy")).unwrap().data, [1.0, 0.0, 1.0]);
    let s = read_npy(&p("scalar.npy")).unwrap();
    assert_eq!((s.shape.len(), s.data.as_slice()), (0, &[2.5][..]));
    let n = read_npy(&p("nan.npy")).unwrap();
    assert!(n.data[0].is_nan() && n.data[1] == f64::NEG_INFINITY && n.data[2].is_sign_negative());
    for (file, msg) in [
        ("fortran.npy", "Fortran"),
        ("big.npy", "big-endian"),
        ("complex.npy", "not supported"),
    ] {
        let e = format!("{:#}", read_npy(&p(file)).unwrap_err());
        assert!(e.contains(msg) && e.contains(file), "{e}");
    }
    for file in ["plain.npz", "packed.npz"] {
        let z = read_npz(&p(file)).unwrap();
        assert_eq!(z["x"].shape, [3, 4]);
        assert!((z["x"].data[5] - 5.0 / 7.0).abs() == 0.0);
        assert_eq!(z["y"].data, [0.0, 1.0, 2.0]);
        assert!(z["y"].is_integer());
    }
}

#[test]
#[ignore = "needs Python with numpy, pandas, pyarrow, polars: set GDSCOPE_TEST_PYTHON and pass --include-ignored (as .ci/run does)"]
fn numpy_reads_arrays_we_write() {
    require("numpy");
    let dir = tempfile::tempdir().unwrap();
    let x = NdArray::from_f64(vec![2, 3], vec![0.1, -2.0, f64::NAN, 1e300, -0.0, 3.0]).unwrap();
    let y = NdArray::from_f64(vec![2], vec![4.0, 9.0])
        .unwrap()
        .with_dtype("int64")
        .unwrap();
    write_npz(&dir.path().join("d.npz"), &[("x", &x), ("y", &y)]).unwrap();
    gdscope_io::npy::write_npy(&dir.path().join("w.npy"), &[3], &[1.0, 2.0, 3.5]).unwrap();
    run(
        r#"
import sys, numpy as np
d = sys.argv[1]
z = np.load(f'{d}/d.npz')
x, y = z['x'], z['y']
assert x.dtype == np.float64 and x.shape == (2, 3), (x.dtype, x.shape)
assert x[0, 0] == 0.1 and np.isnan(x[0, 2]) and x[1, 0] == 1e300 and np.signbit(x[1, 1])
assert y.dtype == np.int64 and list(y) == [4, 9]
w = np.load(f'{d}/w.npy')
assert w.dtype == np.float64 and list(w) == [1.0, 2.0, 3.5]
"#,
        dir.path(),
    );
}

#[test]
#[ignore = "needs Python with numpy, pandas, pyarrow, polars: set GDSCOPE_TEST_PYTHON and pass --include-ignored (as .ci/run does)"]
fn pandas_reads_our_parquet_and_we_read_theirs() {
    require("pandas, pyarrow");
    let dir = tempfile::tempdir().unwrap();
    let run_dir = RunDir::create(&dir.path().join("run"), false).unwrap();
    let mut t = Table::new();
    t.push_i64("step", vec![0, 1, 2]).unwrap();
    t.push_f64("sharpness", vec![1.5, f64::NAN, 2.0]).unwrap();
    t.push_str(
        "status",
        vec!["ok".into(), "ok".into(), "diverged ∞".into()],
    )
    .unwrap();
    t.push_bool("stable", vec![true, true, false]).unwrap();
    run_dir.write_metrics("metrics", &t, true).unwrap();
    run(
        r#"
import sys, math, pandas as pd
d = sys.argv[1]
for df in [pd.read_parquet(f'{d}/run/metrics.parquet'), pd.read_csv(f'{d}/run/metrics.csv')]:
    assert list(df.columns) == ['step', 'sharpness', 'status', 'stable'], df.columns
    assert list(df.step) == [0, 1, 2] and str(df.step.dtype) == 'int64'
    assert df.sharpness[0] == 1.5 and math.isnan(df.sharpness[1])
    assert list(df.status) == ['ok', 'ok', 'diverged ∞']
    assert list(df.stable) == [True, True, False] and str(df.stable.dtype) == 'bool'
pd.DataFrame({'a': [1.0, None, 3.0], 'n': pd.array([1, 2, 3], dtype='int32'),
              'f': pd.array([0.5, 1.5, 2.5], dtype='float32'), 's': ['x', 'y', 'z']}
             ).to_parquet(f'{d}/theirs.parquet')
pd.DataFrame({'n': pd.array([1, None], dtype='Int64')}).to_parquet(f'{d}/nulls.parquet')
"#,
        dir.path(),
    );
    let theirs = read_parquet(&dir.path().join("theirs.parquet")).unwrap();
    let a = theirs.f64_column("a").unwrap();
    assert!(a[0] == 1.0 && a[1].is_nan() && a[2] == 3.0);
    assert_eq!(theirs.column("n"), Some(&Column::I64(vec![1, 2, 3])));
    assert_eq!(theirs.f64_column("f").unwrap(), [0.5, 1.5, 2.5]);
    assert_eq!(
        theirs.column("s").and_then(Column::as_str).unwrap(),
        ["x", "y", "z"]
    );
    let e = format!(
        "{:#}",
        read_parquet(&dir.path().join("nulls.parquet")).unwrap_err()
    );
    assert!(e.contains("nulls") && e.contains("'n'"), "{e}");

    // The same file through our own writer, for completeness of the round trip.
    write_parquet(&dir.path().join("again.parquet"), &theirs).unwrap();
}

#[test]
#[ignore = "needs Python with numpy, pandas, pyarrow, polars: set GDSCOPE_TEST_PYTHON and pass --include-ignored (as .ci/run does)"]
fn polars_reads_our_parquet_in_one_call_and_we_read_theirs() {
    require("polars");
    let dir = tempfile::tempdir().unwrap();
    let mut t = Table::new();
    t.push_i64("step", vec![0, 1, 2]).unwrap();
    t.push_f64("loss", vec![1.0, f64::NAN, 0.25]).unwrap();
    t.push_str(
        "verdict",
        vec!["agrees".into(), "inconclusive".into(), "agrees".into()],
    )
    .unwrap();
    write_parquet(&dir.path().join("ours.parquet"), &t).unwrap();
    run(
        r#"
import sys, math, polars as pl
d = sys.argv[1]
df = pl.read_parquet(f'{d}/ours.parquet')
assert df.columns == ['step', 'loss', 'verdict'], df.columns
assert df['step'].dtype == pl.Int64 and df['step'].to_list() == [0, 1, 2]
loss = df['loss'].to_list()
assert loss[0] == 1.0 and math.isnan(loss[1]) and loss[2] == 0.25
assert df['verdict'].to_list() == ['agrees', 'inconclusive', 'agrees']
# gdscope reads Snappy (pandas' and pyarrow's default), not polars' default zstd.
pl.DataFrame({'x': [0.5, 1.5], 'k': [3, 4]}).write_parquet(f'{d}/theirs.parquet', compression='snappy')
"#,
        dir.path(),
    );
    let theirs = read_parquet(&dir.path().join("theirs.parquet")).unwrap();
    assert_eq!(theirs.f64_column("x").unwrap(), [0.5, 1.5]);
    assert_eq!(theirs.column("k"), Some(&Column::I64(vec![3, 4])));
}
