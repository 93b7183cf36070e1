//! CIFAR-10, binary version (`cifar-10-binary.tar.gz`): each of `data_batch_1.bin` …
//! `data_batch_5.bin` and `test_batch.bin` holds 10 000 records of 1 label byte (0–9) followed
//! by 3072 pixel bytes: the 32×32 red plane, then green, then blue, each row-major — i.e. CHW.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};

use crate::balance::BalancedPicker;
use crate::standardize::standardize_channels;
use crate::{Dataset, Split};

const SIDE: usize = 32;
const PIXELS: usize = 3 * SIDE * SIDE;
const RECORD: usize = 1 + PIXELS;
const TRAIN_FILES: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
/// Records in the five training batches together.
const TRAIN_RECORDS: usize = 50_000;
const TEST_FILE: &str = "test_batch.bin";
const SOURCE: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";

/// Loads a class-balanced CIFAR-10 subset from `dir` (the folder holding `data_batch_1.bin`
/// or its parent holding `cifar-10-batches-bin/`).
///
/// Train: the first `n/classes` records of each class `0..classes`, reading the batches in
/// order 1…5 and keeping the selected records in file order (classes interleaved as in the
/// files). Test (when `test`): every record of `test_batch.bin` with label `< classes`, in file
/// order. Pixels are scaled by 1/255, then standardized per channel with the train subset's
/// mean and std (applied to both splits). Shapes `[3, 32, 32]`, one-hot targets over `classes`.
pub fn load_cifar10(dir: &Path, n: usize, classes: usize, test: bool) -> Result<Split> {
    ensure!(
        (1..=10).contains(&classes),
        "cifar10: classes must be between 1 and 10 (got {classes})"
    );
    ensure!(
        n <= TRAIN_RECORDS,
        "cifar10: n = {n} exceeds the {TRAIN_RECORDS} training images of CIFAR-10"
    );
    let mut picker = BalancedPicker::new(n, classes, "cifar10")?;
    let dir = locate(dir)?;
    let (mut x, mut labels) = (Vec::with_capacity(n * PIXELS), Vec::with_capacity(n));
    let mut read = Vec::new();
    for name in TRAIN_FILES {
        if picker.is_full() {
            break;
        }
        let path = dir.join(name);
        for (label, pixels) in records(&path)?.iter() {
            if picker.offer(label) {
                labels.push(label);
                x.extend(pixels.iter().map(|&b| f64::from(b) / 255.0));
                if picker.is_full() {
                    break;
                }
            }
        }
        read.push(name);
    }
    picker.finish("cifar10", &read.join(", "))?;
    let mut train =
        Dataset::classification("cifar10-train", x, vec![3, SIDE, SIDE], labels, classes)?;
    let mut test_set = if test {
        Some(load_test(&dir, classes)?)
    } else {
        None
    };
    standardize_channels(&mut train, test_set.as_mut())?;
    Ok(Split {
        train,
        test: test_set,
    })
}

fn load_test(dir: &Path, classes: usize) -> Result<Dataset> {
    let path = dir.join(TEST_FILE);
    let (mut x, mut labels) = (Vec::new(), Vec::new());
    for (label, pixels) in records(&path)?.iter() {
        if label < classes {
            labels.push(label);
            x.extend(pixels.iter().map(|&b| f64::from(b) / 255.0));
        }
    }
    ensure!(
        !labels.is_empty(),
        "cifar10: {} has no records of the first {classes} classes",
        path.display()
    );
    Dataset::classification("cifar10-test", x, vec![3, SIDE, SIDE], labels, classes)
}

/// The directory holding the batch files: `dir` itself or `dir/cifar-10-batches-bin`.
fn locate(dir: &Path) -> Result<PathBuf> {
    let nested = dir.join("cifar-10-batches-bin");
    for cand in [dir.to_path_buf(), nested] {
        if cand.join(TRAIN_FILES[0]).is_file() {
            return Ok(cand);
        }
    }
    bail!(
        "cifar10: no `{}` in {} (nor in its `cifar-10-batches-bin/`). Expected the CIFAR-10 binary version: {}, {}; \
         get it from {SOURCE} and unpack it (tar xzf), then pass the folder",
        TRAIN_FILES[0],
        dir.display(),
        TRAIN_FILES.join(", "),
        TEST_FILE
    )
}

/// The records of one batch file, validated (length a multiple of the record size, labels 0–9).
struct Records {
    bytes: Vec<u8>,
}

impl Records {
    fn iter(&self) -> impl Iterator<Item = (usize, &[u8])> {
        self.bytes
            .chunks_exact(RECORD)
            .map(|r| (usize::from(r[0]), &r[1..]))
    }
}

fn records(path: &Path) -> Result<Records> {
    if !path.is_file() {
        bail!(
            "cifar10: missing file {}; the binary version ({SOURCE}) has {} and {TEST_FILE}",
            path.display(),
            TRAIN_FILES.join(", ")
        );
    }
    let bytes =
        std::fs::read(path).with_context(|| format!("cifar10: cannot read {}", path.display()))?;
    ensure!(
        !bytes.is_empty() && bytes.len() % RECORD == 0,
        "cifar10: {} has {} bytes, not a positive multiple of the {RECORD}-byte record (1 label byte + 3072 pixel bytes): \
         the file is truncated or not the CIFAR-10 binary version",
        path.display(),
        bytes.len()
    );
    if let Some(r) = bytes.chunks_exact(RECORD).position(|r| r[0] > 9) {
        bail!(
            "cifar10: record {r} of {} has label byte {} (CIFAR-10 labels are 0–9); is this the CIFAR-100 file format?",
            path.display(),
            bytes[r * RECORD]
        );
    }
    Ok(Records { bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standardize::channel_stats;

    /// Writes a batch file whose record `r` has label `labels[r]` and pixels `(r·7 + j·13 + c·50) mod 256`.
    fn write_batch(path: &Path, labels: &[u8], base: usize) {
        let mut bytes = Vec::new();
        for (r, &l) in labels.iter().enumerate() {
            bytes.push(l);
            for c in 0..3 {
                for j in 0..SIDE * SIDE {
                    bytes.push((((base + r) * 7 + j * 13 + c * 50) % 256) as u8);
                }
            }
        }
        std::fs::write(path, bytes).unwrap();
    }

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("cifar-10-batches-bin");
        std::fs::create_dir(&nested).unwrap();
        write_batch(&nested.join("data_batch_1.bin"), &[2, 0, 1, 0, 9, 1], 0);
        write_batch(&nested.join("data_batch_2.bin"), &[2, 1, 0, 2, 2], 6);
        write_batch(&nested.join("test_batch.bin"), &[5, 1, 0, 1, 2], 100);
        dir
    }

    #[test]
    fn balanced_subset_in_file_order_across_batches() {
        let dir = fixture();
        let s = load_cifar10(dir.path(), 6, 3, true).unwrap();
        // batch 1 gives 2, 0, 1, 0, 1 (9 skipped); batch 2 gives the second 2 (record 6)
        assert_eq!(s.train.labels, Some(vec![2, 0, 1, 0, 1, 2]));
        assert_eq!(s.train.input_shape, vec![3, 32, 32]);
        let test = s.test.unwrap();
        assert_eq!(test.labels, Some(vec![1, 0, 1, 2]));
        let st = channel_stats(&s.train);
        for c in 0..3 {
            assert!(st.mean[c].abs() < 1e-12 && (st.std[c] - 1.0).abs() < 1e-12);
        }
        // the first train pixel is raw byte 0 → (0 − μ₀)/σ₀ with the train statistics of the raw /255 data
        let raw = raw_first_channel();
        let mu = raw.iter().sum::<f64>() / raw.len() as f64;
        let sd = (raw.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / raw.len() as f64).sqrt();
        assert!((s.train.x[0] - (0.0 - mu) / sd).abs() < 1e-12);
        // test record 1 (label 1) has base 101: its first pixel is 707 mod 256 = 195
        assert!((test.x[0] - (195.0 / 255.0 - mu) / sd).abs() < 1e-12);
    }

    /// Channel-0 pixels (/255) of the six selected train records, recomputed independently.
    fn raw_first_channel() -> Vec<f64> {
        [0usize, 1, 2, 3, 5, 6]
            .iter()
            .flat_map(|&r| (0..SIDE * SIDE).map(move |j| ((r * 7 + j * 13) % 256) as f64 / 255.0))
            .collect()
    }

    #[test]
    fn clear_errors() {
        let dir = fixture();
        let err = |r: Result<Split>| match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => format!("{e:#}"),
        };
        let e = err(load_cifar10(dir.path(), 12, 3, false));
        assert!(
            e.contains("missing file") && e.contains("data_batch_3.bin"),
            "{e}"
        );
        let nested = dir.path().join("cifar-10-batches-bin");
        for (i, name) in TRAIN_FILES.iter().enumerate().skip(2) {
            write_batch(&nested.join(name), &[0, 1, 2], 20 + i);
        }
        let e = err(load_cifar10(dir.path(), 8, 4, false));
        assert!(
            e.contains("class 3 has only 0 examples in data_batch_1.bin, data_batch_2.bin"),
            "{e}"
        );
        let empty = tempfile::tempdir().unwrap();
        let e = err(load_cifar10(empty.path(), 4, 2, false));
        assert!(
            e.contains("data_batch_1.bin") && e.contains("cifar-10-binary.tar.gz"),
            "{e}"
        );
        assert!(err(load_cifar10(dir.path(), 5, 2, false)).contains("multiple"));
        assert!(err(load_cifar10(dir.path(), 11, 11, false)).contains("between 1 and 10"));
        assert!(err(load_cifar10(dir.path(), usize::MAX, 1, false)).contains("exceeds"));
        std::fs::write(nested.join("data_batch_1.bin"), vec![0u8; RECORD + 5]).unwrap();
        assert!(err(load_cifar10(&nested, 2, 2, false)).contains("truncated"));
        let mut bad = vec![0u8; RECORD];
        bad[0] = 42;
        std::fs::write(nested.join("data_batch_1.bin"), bad).unwrap();
        assert!(err(load_cifar10(&nested, 2, 2, false)).contains("label byte 42"));
    }
}
