//! MNIST in its original IDX format: `train-images-idx3-ubyte` (magic 0x00000803, then the
//! big-endian u32 sizes n, rows, cols, then n·rows·cols pixel bytes), `train-labels-idx1-ubyte`
//! (magic 0x00000801, n, then n label bytes) and the `t10k-` test pair. Each file may also be
//! gzipped (`.gz`, as distributed) or named with a dot (`train-images.idx3-ubyte`).

use std::io::Read;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use flate2::read::GzDecoder;

use super::find_file;
use crate::balance::BalancedPicker;
use crate::standardize::standardize_channels;
use crate::{Dataset, Split};

const UNSIGNED_BYTE: u8 = 0x08;
const CLASSES: usize = 10;

/// Loads a class-balanced MNIST subset from `dir`: the first `n/classes` training images of
/// each class `0..classes` in file order; with `test`, every `t10k` image of those classes in
/// file order. Pixels /255, then standardized with the train subset's mean and std (one
/// channel), applied to both splits. Shape `[1, rows, cols]` (28×28 for MNIST; any IDX image
/// size is accepted, so Fashion-MNIST works too).
pub fn load_mnist(dir: &Path, n: usize, classes: usize, test: bool) -> Result<Split> {
    ensure!(
        (1..=CLASSES).contains(&classes),
        "mnist: classes must be between 1 and 10 (got {classes})"
    );
    let mut picker = BalancedPicker::new(n, classes, "mnist")?;
    let (images, labels, shape) = read_pair(dir, "train")?;
    ensure!(
        n <= labels.len(),
        "mnist: n = {n} exceeds the {} training images in {}",
        labels.len(),
        dir.display()
    );
    let plane = shape.iter().product::<usize>();
    let (mut x, mut picked) = (Vec::with_capacity(n * plane), Vec::with_capacity(n));
    for (i, &l) in labels.iter().enumerate() {
        if picker.is_full() {
            break;
        }
        if picker.offer(usize::from(l)) {
            picked.push(usize::from(l));
            x.extend(
                images[i * plane..(i + 1) * plane]
                    .iter()
                    .map(|&b| f64::from(b) / 255.0),
            );
        }
    }
    picker.finish("mnist", &format!("the {} training images", labels.len()))?;
    let input_shape = vec![1, shape[0], shape[1]];
    let mut train =
        Dataset::classification("mnist-train", x, input_shape.clone(), picked, classes)?;
    let mut test_set = if test {
        let (images, labels, test_shape) = read_pair(dir, "t10k")?;
        ensure!(
            test_shape == shape,
            "mnist: test images are {test_shape:?} but training images {shape:?}"
        );
        let (mut x, mut kept) = (Vec::new(), Vec::new());
        for (i, &l) in labels.iter().enumerate() {
            if usize::from(l) < classes {
                kept.push(usize::from(l));
                x.extend(
                    images[i * plane..(i + 1) * plane]
                        .iter()
                        .map(|&b| f64::from(b) / 255.0),
                );
            }
        }
        ensure!(
            !kept.is_empty(),
            "mnist: the test files have no images of the first {classes} classes"
        );
        Some(Dataset::classification(
            "mnist-test",
            x,
            input_shape,
            kept,
            classes,
        )?)
    } else {
        None
    };
    standardize_channels(&mut train, test_set.as_mut())?;
    Ok(Split {
        train,
        test: test_set,
    })
}

/// Reads `<prefix>-images` and `<prefix>-labels`; returns pixels, labels and `[rows, cols]`.
fn read_pair(dir: &Path, prefix: &str) -> Result<(Vec<u8>, Vec<u8>, Vec<usize>)> {
    let (images_path, images) = read_idx_file(dir, prefix, "images", 3)?;
    let (labels_path, labels) = read_idx_file(dir, prefix, "labels", 1)?;
    let (img_dims, pixels) = images;
    let (lab_dims, labels) = labels;
    ensure!(
        img_dims[0] == lab_dims[0],
        "mnist: {} holds {} images but {} holds {} labels",
        images_path,
        img_dims[0],
        labels_path,
        lab_dims[0]
    );
    if let Some(i) = labels.iter().position(|&l| usize::from(l) >= CLASSES) {
        bail!(
            "mnist: label {} of example {i} in {labels_path} is not a digit 0–9",
            labels[i]
        );
    }
    Ok((pixels, labels, img_dims[1..].to_vec()))
}

type Idx = (Vec<usize>, Vec<u8>);

fn read_idx_file(dir: &Path, prefix: &str, what: &str, ndim: u8) -> Result<(String, Idx)> {
    let stem = format!("{prefix}-{what}");
    let names: Vec<String> = [
        format!("{stem}-idx{ndim}-ubyte"),
        format!("{stem}.idx{ndim}-ubyte"),
    ]
    .iter()
    .flat_map(|n| [n.clone(), format!("{n}.gz")])
    .collect();
    let Some(path) = find_file(dir, &names) else {
        bail!(
            "mnist: none of {} found in {}. Expected the four MNIST IDX files train-images-idx3-ubyte, \
             train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (optionally .gz), \
             e.g. from https://ossci-datasets.s3.amazonaws.com/mnist/ or a mirror of yann.lecun.com/exdb/mnist",
            names.join(", "),
            dir.display()
        );
    };
    let raw =
        std::fs::read(&path).with_context(|| format!("mnist: cannot read {}", path.display()))?;
    let bytes = if path.extension().is_some_and(|e| e == "gz") {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("mnist: {} is not a valid gzip file", path.display()))?;
        out
    } else {
        raw
    };
    let shown = path.display().to_string();
    let idx = parse_idx(bytes, ndim).with_context(|| format!("mnist: {shown}"))?;
    Ok((shown, idx))
}

/// Parses an unsigned-byte IDX file of `ndim` dimensions; returns the dimensions and the data.
fn parse_idx(mut bytes: Vec<u8>, ndim: u8) -> Result<Idx> {
    let header = 4 + 4 * usize::from(ndim);
    ensure!(
        bytes.len() >= header,
        "file of {} bytes is too short for an IDX header of {header} bytes (truncated?)",
        bytes.len()
    );
    ensure!(
        bytes[..4] == [0, 0, UNSIGNED_BYTE, ndim],
        "bad magic number {:02x}{:02x}{:02x}{:02x}: expected 000008{ndim:02x} (unsigned-byte IDX with {ndim} dimension(s)); \
         is this the right file, and is it decompressed?",
        bytes[0],
        bytes[1],
        bytes[2],
        bytes[3]
    );
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    let want = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .context("IDX dimensions overflow")?;
    let have = bytes.len() - header;
    ensure!(
        have == want,
        "the header announces dimensions {dims:?} = {want} data bytes but {have} follow: the file is {}",
        if have < want { "truncated" } else { "longer than announced (corrupt)" }
    );
    ensure!(
        dims.iter().all(|&d| d > 0),
        "IDX dimensions {dims:?} include a zero"
    );
    bytes.drain(..header);
    Ok((dims, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standardize::channel_stats;
    use std::io::Write;

    fn idx(ndim: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, UNSIGNED_BYTE, ndim];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    /// 2×3 images whose pixels are `(i·11 + j·40) mod 256`.
    fn write_set(dir: &Path, prefix: &str, labels: &[u8], gz: bool) {
        let pixels: Vec<u8> = (0..labels.len())
            .flat_map(|i| (0..6).map(move |j| ((i * 11 + j * 40) % 256) as u8))
            .collect();
        let files = [
            (
                format!("{prefix}-images-idx3-ubyte"),
                idx(3, &[labels.len() as u32, 2, 3], &pixels),
            ),
            (
                format!("{prefix}-labels-idx1-ubyte"),
                idx(1, &[labels.len() as u32], labels),
            ),
        ];
        for (name, bytes) in files {
            if gz {
                let mut enc =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                enc.write_all(&bytes).unwrap();
                std::fs::write(dir.join(format!("{name}.gz")), enc.finish().unwrap()).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }

    #[test]
    fn balanced_standardized_subset() {
        let dir = tempfile::tempdir().unwrap();
        write_set(dir.path(), "train", &[1, 7, 0, 1, 0, 2, 1, 0], false);
        write_set(dir.path(), "t10k", &[3, 0, 2, 1], true);
        let s = load_mnist(dir.path(), 4, 2, true).unwrap();
        assert_eq!(s.train.labels, Some(vec![1, 0, 1, 0]));
        assert_eq!(s.train.input_shape, vec![1, 2, 3]);
        let st = channel_stats(&s.train);
        assert!(st.mean[0].abs() < 1e-12 && (st.std[0] - 1.0).abs() < 1e-12);
        let test = s.test.unwrap();
        assert_eq!(test.labels, Some(vec![0, 1]));
        // recompute the first test pixel from the raw bytes: train rows 0, 2, 3, 4
        let raw: Vec<f64> = [0usize, 2, 3, 4]
            .iter()
            .flat_map(|&i| (0..6).map(move |j| ((i * 11 + j * 40) % 256) as f64 / 255.0))
            .collect();
        let mu = raw.iter().sum::<f64>() / 24.0;
        let sd = (raw.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / 24.0).sqrt();
        // test image 1 (label 0) starts with byte 11
        assert!((test.x[0] - (11.0 / 255.0 - mu) / sd).abs() < 1e-12);
    }

    #[test]
    fn clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = |r: Result<Split>| match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => format!("{e:#}"),
        };
        assert!(err(load_mnist(dir.path(), 2, 2, false)).contains("train-images-idx3-ubyte"));
        write_set(dir.path(), "train", &[1, 0, 1], false);
        assert!(err(load_mnist(dir.path(), 4, 2, false)).contains("exceeds the 3 training images"));
        write_set(dir.path(), "train", &[1, 0, 1, 1], false);
        assert!(err(load_mnist(dir.path(), 4, 2, false)).contains("class 0 has only 1"));
        assert!(err(load_mnist(dir.path(), 2, 2, true)).contains("t10k-images-idx3-ubyte"));
        let labels = dir.path().join("train-labels-idx1-ubyte");
        std::fs::write(&labels, idx(1, &[3], &[1, 0])).unwrap();
        assert!(err(load_mnist(dir.path(), 2, 2, false)).contains("truncated"));
        std::fs::write(&labels, idx(3, &[3, 1, 1], &[1, 0, 1])).unwrap();
        assert!(err(load_mnist(dir.path(), 2, 2, false)).contains("bad magic number"));
        std::fs::write(&labels, idx(1, &[2], &[1, 0])).unwrap();
        assert!(err(load_mnist(dir.path(), 2, 2, false)).contains("4 images but"));
        std::fs::write(&labels, idx(1, &[4], &[1, 0, 12, 1])).unwrap();
        assert!(err(load_mnist(dir.path(), 2, 2, false)).contains("not a digit"));
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), b"\x00\x00").unwrap();
        assert!(err(load_mnist(dir.path(), 2, 2, false)).contains("too short"));
    }
}
