//! NumPy `.npy` and `.npz` files.
//!
//! Reading accepts little-endian `float32/64`, `int8..int64`, `uint8..uint64` and `bool`
//! arrays in C order (format versions 1.0–3.0) and converts every element to `f64`
//! (64-bit integers beyond 2^53 round to the nearest `f64`); [`NdArray::dtype`] keeps
//! the stored type. Writing produces what `np.save` / `np.savez` produce. An `.npz`
//! file is a zip archive of `.npy` members; stored and deflated members are read
//! (`np.savez` and `np.savez_compressed`), members are written stored.

mod dtype;
mod header;

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

use self::dtype::DType;
use crate::write_atomic;

/// An n-dimensional array in C (row-major) order, held as `f64`.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// Dimensions; `[]` is a scalar (one element).
    pub shape: Vec<usize>,
    /// Elements in C order; `data.len()` is the product of `shape`.
    pub data: Vec<f64>,
    /// NumPy's name of the stored element type: `float64`, `float32`, `int64`, …,
    /// `uint8`, `bool`. [`write_npz`] stores the array with this type.
    pub dtype: String,
}

impl NdArray {
    /// A `float64` array; fails when `data.len()` is not the product of `shape`.
    pub fn from_f64(shape: Vec<usize>, data: Vec<f64>) -> Result<NdArray> {
        let n = element_count(&shape)?;
        ensure!(
            n == data.len(),
            "shape {shape:?} holds {n} elements but {} values were given",
            data.len()
        );
        Ok(NdArray {
            shape,
            data,
            dtype: "float64".into(),
        })
    }

    /// The same array, stored as `dtype` (a NumPy name such as `int64` or `float32`)
    /// when written; fails for unknown names or values the type cannot hold exactly
    /// (`float32` rounds instead).
    pub fn with_dtype(mut self, dtype: &str) -> Result<NdArray> {
        DType::from_name(dtype)?.encode(&self.data)?;
        self.dtype = dtype.to_string();
        Ok(self)
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// True when the stored type is a signed or unsigned integer type.
    pub fn is_integer(&self) -> bool {
        DType::from_name(&self.dtype).is_ok_and(DType::is_integer)
    }

    /// The `(rows, cols)` of a 2-D array, or an error naming `what` otherwise.
    pub fn dims2(&self, what: &str) -> Result<(usize, usize)> {
        match self.shape[..] {
            [r, c] => Ok((r, c)),
            _ => bail!(
                "{what} must be a 2-D array, but its shape is {:?}",
                self.shape
            ),
        }
    }
}

fn element_count(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .with_context(|| format!("shape {shape:?} has too many elements"))
}

/// Decodes the bytes of a `.npy` file.
pub fn parse_npy(bytes: &[u8]) -> Result<NdArray> {
    let (h, offset) = header::parse(bytes)?;
    let n = element_count(&h.shape)?;
    let want = n
        .checked_mul(h.dtype.size())
        .with_context(|| format!("shape {:?} is too large", h.shape))?;
    let have = bytes.len() - offset;
    if have < want {
        bail!(
            "truncated .npy file: shape {:?} of {} needs {want} data bytes but only {have} follow the header",
            h.shape,
            h.dtype.name()
        );
    }
    if have > want {
        bail!(
            "malformed .npy file: {} bytes follow the data of shape {:?} ({})",
            have - want,
            h.shape,
            h.dtype.name()
        );
    }
    Ok(NdArray {
        shape: h.shape,
        data: h.dtype.decode(&bytes[offset..])?,
        dtype: h.dtype.name().to_string(),
    })
}

/// Encodes `array` as the bytes of a `.npy` file, in its [`NdArray::dtype`].
pub fn npy_bytes(array: &NdArray) -> Result<Vec<u8>> {
    let n = element_count(&array.shape)?;
    ensure!(
        n == array.data.len(),
        "shape {:?} holds {n} elements but the array has {}",
        array.shape,
        array.data.len()
    );
    let dtype = DType::from_name(&array.dtype)?;
    let mut out = header::format(dtype, &array.shape);
    out.extend(dtype.encode(&array.data)?);
    Ok(out)
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NdArray> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_npy(&bytes).with_context(|| format!("cannot load {}", path.display()))
}

/// Writes `data` (C order) with the given shape as a `float64` `.npy` file, atomically.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f64]) -> Result<()> {
    let array = NdArray::from_f64(shape.to_vec(), data.to_vec())?;
    write_npy_array(path, &array)
}

/// Writes `array` as a `.npy` file in its own dtype, atomically.
pub fn write_npy_array(path: &Path, array: &NdArray) -> Result<()> {
    let bytes = npy_bytes(array).with_context(|| format!("cannot encode {}", path.display()))?;
    write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Reads every array of an `.npz` file, keyed by name (the member name without `.npy`).
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, NdArray>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_npz(&bytes).with_context(|| format!("cannot load {}", path.display()))
}

/// Decodes the bytes of an `.npz` file.
pub fn parse_npz(bytes: &[u8]) -> Result<BTreeMap<String, NdArray>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .context("not an .npz file: it is not a readable zip archive")?;
    let mut arrays = BTreeMap::new();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).context("cannot open a zip member")?;
        if member.is_dir() {
            continue;
        }
        let name = member.name().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            bail!("member '{name}' is not an .npy array (an .npz file holds only .npy members)");
        };
        let mut data = Vec::with_capacity(usize::try_from(member.size()).unwrap_or(0));
        member
            .read_to_end(&mut data)
            .with_context(|| format!("member '{name}' is corrupt"))?;
        let array = parse_npy(&data).with_context(|| format!("member '{name}'"))?;
        arrays.insert(key.to_string(), array);
    }
    Ok(arrays)
}

/// Writes named arrays (each in its own dtype) as an uncompressed `.npz`, atomically;
/// `np.load(path)[name]` gives them back. Names must be unique and non-empty.
pub fn write_npz(path: &Path, arrays: &[(&str, &NdArray)]) -> Result<()> {
    let bytes = npz_bytes(arrays).with_context(|| format!("cannot encode {}", path.display()))?;
    write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Encodes named arrays as the bytes of an uncompressed `.npz` file.
pub fn npz_bytes(arrays: &[(&str, &NdArray)]) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let mut seen = std::collections::BTreeSet::new();
    for &(name, array) in arrays {
        ensure!(!name.is_empty(), "an .npz array needs a non-empty name");
        ensure!(seen.insert(name), "the array name '{name}' is used twice");
        let npy = npy_bytes(array).with_context(|| format!("array '{name}'"))?;
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(npy.len() >= u32::MAX as usize);
        zip.start_file(format!("{name}.npy"), options)?;
        zip.write_all(&npy)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trip_in_each_dtype() {
        let a = NdArray::from_f64(vec![2, 3], vec![0.0, 1.0, -2.0, 3.0, 4.0, 5.0]).unwrap();
        for dtype in ["float64", "float32", "int8", "int16", "int32", "int64"] {
            let a = a.clone().with_dtype(dtype).unwrap();
            assert_eq!(parse_npy(&npy_bytes(&a).unwrap()).unwrap(), a, "{dtype}");
        }
        let b = NdArray::from_f64(vec![3], vec![0.0, 1.0, 1.0]).unwrap();
        for dtype in ["uint8", "uint16", "uint32", "uint64", "bool"] {
            let b = b.clone().with_dtype(dtype).unwrap();
            assert_eq!(parse_npy(&npy_bytes(&b).unwrap()).unwrap(), b, "{dtype}");
        }
        assert!(a.clone().with_dtype("uint8").is_err(), "-2 is not a uint8");
        assert!(a.with_dtype("complex128").is_err());
    }

    #[test]
    fn shape_and_length_must_agree() {
        assert!(NdArray::from_f64(vec![2, 2], vec![1.0]).is_err());
        assert!(NdArray::from_f64(vec![usize::MAX, 3], vec![]).is_err());
        let s = NdArray::from_f64(vec![], vec![7.0]).unwrap();
        assert_eq!((s.ndim(), s.len()), (0, 1));
        let bad = NdArray {
            shape: vec![3],
            data: vec![1.0],
            dtype: "float64".into(),
        };
        assert!(npy_bytes(&bad).is_err());
    }

    #[test]
    fn data_length_is_checked() {
        let a = NdArray::from_f64(vec![4], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let bytes = npy_bytes(&a).unwrap();
        let e = parse_npy(&bytes[..bytes.len() - 3])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated") && e.contains("needs 32 data bytes"),
            "{e}"
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse_npy(&longer)
            .unwrap_err()
            .to_string()
            .contains("1 bytes follow"));
    }

    #[test]
    fn npz_round_trip_and_errors() {
        let x = NdArray::from_f64(vec![2, 2], vec![1.0, f64::NAN, -0.0, 4.5]).unwrap();
        let y = NdArray::from_f64(vec![2], vec![0.0, 3.0])
            .unwrap()
            .with_dtype("int64")
            .unwrap();
        let bytes = npz_bytes(&[("x", &x), ("y", &y)]).unwrap();
        let back = parse_npz(&bytes).unwrap();
        assert_eq!(back.keys().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(back["y"], y);
        assert!(back["y"].is_integer() && !back["x"].is_integer());
        let bx = &back["x"];
        assert_eq!(bx.shape, x.shape);
        assert!(bx
            .data
            .iter()
            .zip(&x.data)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert!(npz_bytes(&[("x", &x), ("x", &x)]).is_err());
        assert!(npz_bytes(&[("", &x)]).is_err());
        let e = format!("{:#}", parse_npz(b"not a zip").unwrap_err());
        assert!(e.contains("not an .npz file"), "{e}");
        let e = format!("{:#}", parse_npz(&bytes[..bytes.len() / 2]).unwrap_err());
        assert!(e.contains("not an .npz file"), "{e}");
    }
}
