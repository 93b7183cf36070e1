//! NumPy `.npz` data sets, read and written through `gdscope_io::npy`.
//!
//! Arrays: `x` (n×d, or n×C×H×W, any numeric dtype → f64); `y` either integer labels (1-D,
//! values `0..k`, turned into one-hot targets with `k = 1 + max label` over train and test) or
//! float targets (n×k, or 1-D → n×1); optional `labels` (integer, n) next to float `y` marks a
//! classification set whose `y` must be its one-hot rows; optional `x_test`, `y_test`,
//! `labels_test` with the same rules. This is exactly what [`export_npz`] writes.
//!
//! A 1-D float `y` whose values are all whole numbers ≥ 0 (at least two distinct) is refused:
//! it is almost always class labels saved as floats, and reading it as regression would
//! silently train a different task. The error says how to save either meaning unambiguously.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use gdscope_io::npy::{read_npz, write_npz, NdArray};

use crate::{Dataset, Split};

/// Loads `x`/`y` (and the optional test arrays) from an `.npz` file; no preprocessing.
pub fn load_npz(path: &Path) -> Result<Split> {
    if !path.is_file() {
        bail!(
            "npz: no file {}; write one with numpy (`np.savez(path, x=X, y=Y)`) or `gdscope data export`",
            path.display()
        );
    }
    let arrays = read_npz(path)?;
    let shown = path.display().to_string();
    let get = |name: &str| arrays.get(name);
    let (Some(x), Some(y)) = (get("x"), get("y")) else {
        bail!(
            "npz: {shown} must hold arrays `x` and `y` (it has: {})",
            arrays.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let test = match (get("x_test"), get("y_test")) {
        (Some(xt), Some(yt)) => Some((xt, yt, get("labels_test"))),
        (None, None) => None,
        _ => bail!("npz: {shown} has only one of `x_test` and `y_test`; give both or neither"),
    };
    let mut k_labels = max_label(y)?;
    if let Some((_, yt, _)) = &test {
        k_labels = k_labels.max(max_label(yt)?);
    }
    let train = to_dataset("npz-train", x, y, get("labels"), k_labels)
        .with_context(|| format!("npz: {shown}: arrays `x`, `y`"))?;
    let test = match test {
        Some((xt, yt, lt)) => {
            let ds = to_dataset("npz-test", xt, yt, lt, k_labels)
                .with_context(|| format!("npz: {shown}: arrays `x_test`, `y_test`"))?;
            ensure!(
                ds.input_shape == train.input_shape && ds.k == train.k,
                "npz: {shown}: test inputs/targets have shape {:?}/{} but training {:?}/{}",
                ds.input_shape,
                ds.k,
                train.input_shape,
                train.k
            );
            Some(ds)
        }
        None => None,
    };
    Ok(Split { train, test })
}

/// `1 + max` of an integer 1-D label array (0 for anything else).
fn max_label(y: &NdArray) -> Result<usize> {
    if !(y.is_integer() && y.ndim() == 1) {
        return Ok(0);
    }
    let labels = labels_of(y, "y")?;
    Ok(labels.iter().max().map_or(0, |m| m + 1))
}

fn labels_of(a: &NdArray, what: &str) -> Result<Vec<usize>> {
    ensure!(
        a.ndim() == 1 && a.is_integer(),
        "`{what}` must be a 1-D integer array of class labels (shape {:?}, dtype {})",
        a.shape,
        a.dtype
    );
    a.data
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            ensure!(
                v >= 0.0,
                "`{what}`[{i}] = {v} is negative; class labels are 0, 1, …"
            );
            Ok(v as usize)
        })
        .collect()
}

fn to_dataset(
    name: &str,
    x: &NdArray,
    y: &NdArray,
    labels: Option<&NdArray>,
    k_labels: usize,
) -> Result<Dataset> {
    let n = *x
        .shape
        .first()
        .context("`x` is a scalar; it must have one row per example")?;
    let input_shape = if x.ndim() == 1 {
        vec![1]
    } else {
        x.shape[1..].to_vec()
    };
    let rows = *y
        .shape
        .first()
        .context("`y` is a scalar; it must have one entry or row per example")?;
    ensure!(rows == n, "`x` has {n} examples but `y` has {rows}");
    if y.is_integer() && y.ndim() == 1 {
        ensure!(
            labels.is_none(),
            "give either integer `y` or float `y` with `labels`, not both"
        );
        let labels = labels_of(y, "y")?;
        return Dataset::classification(name, x.data.clone(), input_shape, labels, k_labels);
    }
    if y.ndim() == 1 && labels.is_none() && looks_like_labels(&y.data) {
        bail!(
            "`y` is a 1-D float array of whole numbers ({}), which reads as class labels saved as \
             floats, but float `y` means regression targets. Save class labels as integers \
             (`y.astype(np.int64)`), or regression targets as an n×1 array (`y.reshape(-1, 1)`)",
            distinct_preview(&y.data)
        );
    }
    let k = match y.shape[..] {
        [_] => 1,
        [_, k] => k,
        _ => bail!(
            "`y` must be 1-D labels or n×k targets, but its shape is {:?}",
            y.shape
        ),
    };
    let labels = labels.map(|l| labels_of(l, "labels")).transpose()?;
    Dataset::new(name, x.data.clone(), input_shape, y.data.clone(), k, labels)
}

/// Whether float values look like class labels: all whole numbers ≥ 0 with at least two
/// distinct values (a 1-D float `y` like that is ambiguous, see [`load_npz`]).
fn looks_like_labels(values: &[f64]) -> bool {
    let whole = values
        .iter()
        .all(|v| v.is_finite() && *v >= 0.0 && v.fract() == 0.0);
    whole && values.iter().any(|&v| v != values[0])
}

/// The first few distinct values, for messages (`0, 1, 2, …`).
fn distinct_preview(values: &[f64]) -> String {
    let mut seen: Vec<f64> = Vec::new();
    for &v in values {
        if !seen.contains(&v) {
            seen.push(v);
        }
    }
    seen.sort_by(f64::total_cmp);
    let shown: Vec<String> = seen.iter().take(4).map(|v| format!("{v}")).collect();
    let more = if seen.len() > 4 { ", …" } else { "" };
    format!("values {}{more}", shown.join(", "))
}

/// The arrays [`export_npz`] writes: `x` with shape `[n, input_shape…]`, `y` (float64 n×k),
/// `labels` (int64) for classification, and `x_test`, `y_test`, `labels_test` when present.
pub fn split_arrays(split: &Split) -> Result<BTreeMap<String, NdArray>> {
    let mut out = BTreeMap::new();
    for (suffix, ds) in [("", Some(&split.train)), ("_test", split.test.as_ref())] {
        let Some(ds) = ds else { continue };
        let mut shape = vec![ds.n];
        shape.extend(&ds.input_shape);
        out.insert(
            format!("x{suffix}"),
            NdArray::from_f64(shape, ds.x.clone())?,
        );
        out.insert(
            format!("y{suffix}"),
            NdArray::from_f64(vec![ds.n, ds.k], ds.y.clone())?,
        );
        if let Some(labels) = &ds.labels {
            let data = labels.iter().map(|&l| l as f64).collect();
            out.insert(
                format!("labels{suffix}"),
                NdArray::from_f64(vec![ds.n], data)?.with_dtype("int64")?,
            );
        }
    }
    Ok(out)
}

/// Writes `split` as an `.npz` (see [`split_arrays`]) that [`load_npz`] and
/// `numpy.load` read back unchanged.
pub fn export_npz(split: &Split, path: &Path) -> Result<()> {
    let arrays = split_arrays(split)?;
    let named: Vec<(&str, &NdArray)> = arrays.iter().map(|(k, v)| (k.as_str(), v)).collect();
    write_npz(path, &named)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synthetic::{regression, synthetic_images};

    #[test]
    fn export_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        for split in [
            synthetic_images(12, 3, 2, 4, 6, 1).unwrap(),
            regression(10, 3, 2, 0.1, 0, 2).unwrap(),
        ] {
            let path = dir.path().join("d.npz");
            export_npz(&split, &path).unwrap();
            let mut back = load_npz(&path).unwrap();
            back.train.name = split.train.name.clone();
            if let (Some(t), Some(orig)) = (back.test.as_mut(), split.test.as_ref()) {
                t.name = orig.name.clone();
            }
            assert_eq!(back, split);
        }
    }

    fn save(path: &Path, arrays: &[(&str, NdArray)]) {
        let named: Vec<(&str, &NdArray)> = arrays.iter().map(|(k, v)| (*k, v)).collect();
        write_npz(path, &named).unwrap();
    }

    fn int(data: &[f64]) -> NdArray {
        NdArray::from_f64(vec![data.len()], data.to_vec())
            .unwrap()
            .with_dtype("int64")
            .unwrap()
    }

    #[test]
    fn integer_labels_become_one_hot_with_k_from_both_splits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npz");
        let x = NdArray::from_f64(vec![3, 2], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        let xt = NdArray::from_f64(vec![1, 2], vec![6.0, 7.0]).unwrap();
        save(
            &path,
            &[
                ("x", x),
                ("y", int(&[0.0, 1.0, 0.0])),
                ("x_test", xt),
                ("y_test", int(&[2.0])),
            ],
        );
        let s = load_npz(&path).unwrap();
        assert_eq!(s.train.k, 3);
        assert_eq!(s.train.y, vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(s.test.unwrap().labels, Some(vec![2]));
    }

    #[test]
    fn clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npz");
        let err = |p: &Path| format!("{:#}", load_npz(p).unwrap_err());
        assert!(err(&path).contains("np.savez"));
        let x = NdArray::from_f64(vec![2, 1], vec![0.0, 1.0]).unwrap();
        save(&path, &[("x", x.clone())]);
        assert!(err(&path).contains("must hold arrays `x` and `y`"));
        save(&path, &[("x", x.clone()), ("y", int(&[0.0, -1.0]))]);
        assert!(err(&path).contains("negative"));
        save(&path, &[("x", x.clone()), ("y", int(&[0.0]))]);
        assert!(err(&path).contains("2 examples but `y` has 1"));
        save(
            &path,
            &[
                ("x", x.clone()),
                ("y", int(&[0.0, 1.0])),
                ("x_test", x.clone()),
            ],
        );
        assert!(err(&path).contains("only one of"));
        let y = NdArray::from_f64(vec![2, 2], vec![1.0, 0.0, 1.0, 0.0]).unwrap();
        save(
            &path,
            &[("x", x.clone()), ("y", y), ("labels", int(&[0.0, 1.0]))],
        );
        assert!(err(&path).contains("one-hot"));
        let y = NdArray::from_f64(vec![2], vec![0.5, f64::NAN]).unwrap();
        save(&path, &[("x", x), ("y", y)]);
        assert!(err(&path).contains("not finite"));
    }

    #[test]
    fn float_class_labels_are_refused_with_both_fixes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.npz");
        let x = NdArray::from_f64(vec![3, 1], vec![0.0, 1.0, 2.0]).unwrap();
        let y = NdArray::from_f64(vec![3], vec![0.0, 2.0, 1.0]).unwrap();
        save(&path, &[("x", x.clone()), ("y", y)]);
        let e = format!("{:#}", load_npz(&path).unwrap_err());
        assert!(
            e.contains("astype(np.int64)") && e.contains("reshape(-1, 1)"),
            "{e}"
        );
        assert!(e.contains("values 0, 1, 2"), "{e}");
        // The two unambiguous spellings load as classification and regression.
        save(&path, &[("x", x.clone()), ("y", int(&[0.0, 2.0, 1.0]))]);
        assert_eq!(load_npz(&path).unwrap().train.k, 3);
        let y = NdArray::from_f64(vec![3, 1], vec![0.0, 2.0, 1.0]).unwrap();
        save(&path, &[("x", x.clone()), ("y", y)]);
        let s = load_npz(&path).unwrap();
        assert!(!s.train.is_classification() && s.train.k == 1);
        // Non-integer or constant float targets are plain regression.
        for values in [[0.5, 2.0, 1.0], [3.0, 3.0, 3.0]] {
            let y = NdArray::from_f64(vec![3], values.to_vec()).unwrap();
            save(&path, &[("x", x.clone()), ("y", y)]);
            assert!(!load_npz(&path).unwrap().train.is_classification());
        }
    }
}
