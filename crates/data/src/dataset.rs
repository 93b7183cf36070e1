//! The in-memory data set every gdscope network experiment reads: inputs `x` (n × d, row-major),
//! targets `y` (n × k) and, for classification, the class labels behind the one-hot targets.

use anyhow::{bail, ensure, Result};

/// A validated data set.
///
/// * `x`: `n × d` row-major; example `i` is `x[i·d .. (i+1)·d]`. Images are stored NCHW, so one
///   row is the CHW-flattened image and `input_shape = [C, H, W]`.
/// * `y`: `n × k` row-major float targets. For classification these are one-hot rows
///   (`y[i·k + labels[i]] = 1`, all else 0), the targets of the MSE loss
///   `½ Σ_outputs (f − y)²` of `docs/theory.md` §6.
/// * `labels`: `Some` exactly for classification; each label is `< k` and agrees with `y`.
///
/// Build it with [`Dataset::new`] (or [`Dataset::classification`]), which checks every length
/// and that all numbers are finite; the fields are public for reading.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// Short human-readable name (the spec's kind, e.g. `synthetic-linear` or `cifar10-train`).
    pub name: String,
    /// Inputs, `n × d` row-major (images NCHW flattened).
    pub x: Vec<f64>,
    /// Number of examples.
    pub n: usize,
    /// Shape of one input: `[d]` or `[C, H, W]`; its product is `d`.
    pub input_shape: Vec<usize>,
    /// Targets, `n × k` row-major; one-hot for classification.
    pub y: Vec<f64>,
    /// Number of outputs (classes for classification).
    pub k: usize,
    /// Class labels (`Some` for classification).
    pub labels: Option<Vec<usize>>,
}

/// A training set and an optional held-out test set with the same `input_shape` and `k`.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// The examples the loss is computed on.
    pub train: Dataset,
    /// Held-out examples, preprocessed with the training set's statistics.
    pub test: Option<Dataset>,
}

impl Dataset {
    /// Checks and assembles a data set; `n = x.len() / d` with `d = ∏ input_shape`.
    ///
    /// Errors (never panics) when: the shape is empty or has a zero dimension; `x.len()` is not
    /// a positive multiple of `d`; `y.len() ≠ n·k`; `k = 0`; any entry of `x` or `y` is not
    /// finite; `labels` has the wrong length, a label `≥ k`, or a row of `y` that is not the
    /// one-hot vector of its label.
    pub fn new(
        name: impl Into<String>,
        x: Vec<f64>,
        input_shape: Vec<usize>,
        y: Vec<f64>,
        k: usize,
        labels: Option<Vec<usize>>,
    ) -> Result<Self> {
        let name = name.into();
        ensure!(
            !input_shape.is_empty() && input_shape.iter().all(|&s| s > 0),
            "data set `{name}`: input shape {input_shape:?} must be non-empty with positive sizes"
        );
        let d: usize = input_shape.iter().product();
        ensure!(
            !x.is_empty() && x.len() % d == 0,
            "data set `{name}`: x has {} values, which is not a positive multiple of the input size d = {d} (shape {input_shape:?})",
            x.len()
        );
        let n = x.len() / d;
        ensure!(
            k > 0,
            "data set `{name}`: the number of outputs k must be positive"
        );
        ensure!(
            y.len() == n * k,
            "data set `{name}`: y has {} values but n·k = {n}·{k} = {} were expected",
            y.len(),
            n * k
        );
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            bail!(
                "data set `{name}`: x[{}, {}] = {} is not finite; clean the inputs (NaN/inf are not allowed)",
                i / d,
                i % d,
                x[i]
            );
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            bail!(
                "data set `{name}`: y[{}, {}] = {} is not finite; clean the targets (NaN/inf are not allowed)",
                i / k,
                i % k,
                y[i]
            );
        }
        if let Some(labels) = &labels {
            check_labels(&name, labels, &y, n, k)?;
        }
        Ok(Dataset {
            name,
            x,
            n,
            input_shape,
            y,
            k,
            labels,
        })
    }

    /// A classification set: targets are the one-hot rows of `labels` (see [`one_hot`]).
    pub fn classification(
        name: impl Into<String>,
        x: Vec<f64>,
        input_shape: Vec<usize>,
        labels: Vec<usize>,
        k: usize,
    ) -> Result<Self> {
        let name = name.into();
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= k) {
            bail!("data set `{name}`: label {l} of example {i} is not below the number of classes k = {k}");
        }
        let y = one_hot(&labels, k);
        Dataset::new(name, x, input_shape, y, k, Some(labels))
    }

    /// Input dimension `d = ∏ input_shape`.
    pub fn d(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// True when the set carries class labels (one-hot targets).
    pub fn is_classification(&self) -> bool {
        self.labels.is_some()
    }

    /// Inputs of example `i` (a slice of length `d`). Panics if `i ≥ n`, like slice indexing.
    pub fn x_row(&self, i: usize) -> &[f64] {
        let d = self.d();
        &self.x[i * d..(i + 1) * d]
    }

    /// Targets of example `i` (a slice of length `k`). Panics if `i ≥ n`, like slice indexing.
    pub fn y_row(&self, i: usize) -> &[f64] {
        &self.y[i * self.k..(i + 1) * self.k]
    }

    /// Number of examples of each class (`None` for regression).
    pub fn class_counts(&self) -> Option<Vec<usize>> {
        self.labels.as_ref().map(|labels| {
            let mut counts = vec![0; self.k];
            for &l in labels {
                counts[l] += 1;
            }
            counts
        })
    }

    /// The examples at `indices`, in that order (repeats allowed), e.g. a minibatch.
    /// Errors if `indices` is empty or an index is `≥ n`.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        ensure!(
            !indices.is_empty(),
            "data set `{}`: cannot take an empty subset",
            self.name
        );
        if let Some(&bad) = indices.iter().find(|&&i| i >= self.n) {
            bail!(
                "data set `{}`: subset index {bad} is out of range (the set has n = {} examples)",
                self.name,
                self.n
            );
        }
        let d = self.d();
        let mut x = Vec::with_capacity(indices.len() * d);
        let mut y = Vec::with_capacity(indices.len() * self.k);
        for &i in indices {
            x.extend_from_slice(self.x_row(i));
            y.extend_from_slice(self.y_row(i));
        }
        let labels = self
            .labels
            .as_ref()
            .map(|l| indices.iter().map(|&i| l[i]).collect());
        Ok(Dataset {
            name: self.name.clone(),
            x,
            n: indices.len(),
            input_shape: self.input_shape.clone(),
            y,
            k: self.k,
            labels,
        })
    }
}

/// One-hot rows: an `n × k` row-major matrix with `out[i·k + labels[i]] = 1`.
/// Labels must be `< k` (checked by the callers that take user input).
pub fn one_hot(labels: &[usize], k: usize) -> Vec<f64> {
    let mut y = vec![0.0; labels.len() * k];
    for (i, &l) in labels.iter().enumerate() {
        y[i * k + l] = 1.0;
    }
    y
}

fn check_labels(name: &str, labels: &[usize], y: &[f64], n: usize, k: usize) -> Result<()> {
    ensure!(
        labels.len() == n,
        "data set `{name}`: {} labels given for n = {n} examples",
        labels.len()
    );
    for (i, &l) in labels.iter().enumerate() {
        ensure!(
            l < k,
            "data set `{name}`: label {l} of example {i} is not below the number of classes k = {k}"
        );
        let row = &y[i * k..(i + 1) * k];
        let is_one_hot = row
            .iter()
            .enumerate()
            .all(|(j, &v)| v == if j == l { 1.0 } else { 0.0 });
        ensure!(
            is_one_hot,
            "data set `{name}`: the targets of example {i} are not the one-hot vector of its label {l}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Dataset {
        Dataset::classification(
            "t",
            vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            vec![2],
            vec![1, 0, 1],
            2,
        )
        .unwrap()
    }

    #[test]
    fn shapes_and_counts() {
        let ds = tiny();
        assert_eq!((ds.n, ds.d(), ds.k), (3, 2, 2));
        assert_eq!(ds.y, vec![0.0, 1.0, 1.0, 0.0, 0.0, 1.0]);
        assert_eq!(ds.class_counts(), Some(vec![1, 2]));
        assert_eq!(ds.x_row(2), &[4.0, 5.0]);
        assert!(ds.is_classification());
    }

    #[test]
    fn subset_keeps_rows_and_labels() {
        let s = tiny().subset(&[2, 0, 2]).unwrap();
        assert_eq!(s.n, 3);
        assert_eq!(s.x, vec![4.0, 5.0, 0.0, 1.0, 4.0, 5.0]);
        assert_eq!(s.labels, Some(vec![1, 1, 1]));
        assert!(tiny()
            .subset(&[3])
            .unwrap_err()
            .to_string()
            .contains("out of range"));
        assert!(tiny().subset(&[]).is_err());
    }

    #[test]
    fn validation_errors_name_the_problem() {
        let err = |r: Result<Dataset>| r.unwrap_err().to_string();
        assert!(err(Dataset::new(
            "a",
            vec![1.0; 5],
            vec![2],
            vec![0.0; 2],
            1,
            None
        ))
        .contains("multiple"));
        assert!(err(Dataset::new(
            "a",
            vec![1.0; 4],
            vec![2],
            vec![0.0; 3],
            1,
            None
        ))
        .contains("y has 3"));
        assert!(err(Dataset::new(
            "a",
            vec![1.0, f64::NAN],
            vec![2],
            vec![0.0],
            1,
            None
        ))
        .contains("not finite"));
        assert!(err(Dataset::new(
            "a",
            vec![1.0; 2],
            vec![2],
            vec![f64::INFINITY],
            1,
            None
        ))
        .contains("y[0, 0]"));
        assert!(err(Dataset::new(
            "a",
            vec![1.0; 2],
            vec![0, 2],
            vec![0.0],
            1,
            None
        ))
        .contains("shape"));
        assert!(err(Dataset::new("a", vec![], vec![2], vec![], 1, None)).contains("multiple"));
        assert!(err(Dataset::new("a", vec![1.0; 2], vec![2], vec![], 0, None)).contains("k must"));
        assert!(err(Dataset::new(
            "a",
            vec![1.0; 2],
            vec![2],
            vec![1.0, 0.0],
            2,
            Some(vec![1])
        ))
        .contains("one-hot"));
        assert!(err(Dataset::classification(
            "a",
            vec![1.0; 2],
            vec![2],
            vec![2],
            2
        ))
        .contains("label 2"));
        assert!(err(Dataset::new(
            "a",
            vec![1.0; 4],
            vec![2],
            vec![1.0, 0.0],
            1,
            Some(vec![0])
        ))
        .contains("1 labels"));
    }

    #[test]
    fn regression_is_not_classification() {
        let ds = Dataset::new("r", vec![0.5; 4], vec![1, 2, 2], vec![0.1], 1, None).unwrap();
        assert_eq!((ds.n, ds.d()), (1, 4));
        assert!(!ds.is_classification());
        assert_eq!(ds.class_counts(), None);
    }
}
