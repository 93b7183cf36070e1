//! The NumPy element types gdscope reads and writes, and their conversion to/from `f64`.

use anyhow::{bail, Result};

/// A little-endian (or byte-order-free) NumPy scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DType {
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    Bool,
}

use DType::*;

const ALL: [DType; 11] = [F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, Bool];

impl DType {
    /// NumPy's name for the type (`np.dtype(...).name`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            F32 => "float32",
            F64 => "float64",
            I8 => "int8",
            I16 => "int16",
            I32 => "int32",
            I64 => "int64",
            U8 => "uint8",
            U16 => "uint16",
            U32 => "uint32",
            U64 => "uint64",
            Bool => "bool",
        }
    }

    /// The type descriptor in a `.npy` header (`np.dtype(...).str`).
    pub(crate) fn descr(self) -> &'static str {
        match self {
            F32 => "<f4",
            F64 => "<f8",
            I8 => "|i1",
            I16 => "<i2",
            I32 => "<i4",
            I64 => "<i8",
            U8 => "|u1",
            U16 => "<u2",
            U32 => "<u4",
            U64 => "<u8",
            Bool => "|b1",
        }
    }

    pub(crate) fn size(self) -> usize {
        match self {
            I8 | U8 | Bool => 1,
            I16 | U16 => 2,
            F32 | I32 | U32 => 4,
            F64 | I64 | U64 => 8,
        }
    }

    /// The type named `name` (as in [`DType::name`]).
    pub(crate) fn from_name(name: &str) -> Result<DType> {
        match ALL.iter().find(|d| d.name() == name) {
            Some(&d) => Ok(d),
            None => bail!(
                "unknown dtype '{name}'; use one of {}",
                ALL.map(DType::name).join(", ")
            ),
        }
    }

    /// Parses a header `descr` such as `<f8` or `|u1`; big-endian (`>f8`) is refused.
    pub(crate) fn from_descr(descr: &str) -> Result<DType> {
        let Some(order) = descr.get(..1) else {
            bail!("empty dtype descriptor");
        };
        let code = &descr[1..];
        match order {
            "<" | "|" => {}
            ">" => bail!(
                "dtype '{descr}' is big-endian; convert it with a.astype(a.dtype.newbyteorder('<')) before saving"
            ),
            _ => bail!("dtype '{descr}' has no little-endian byte-order mark (< or |)"),
        }
        let found = ALL.iter().find(|d| &d.descr()[1..] == code).copied();
        // Single-byte types are written with `|`, but `<`/`=` are harmless for them.
        match found {
            Some(d) if d.size() > 1 && order == "|" => {
                bail!("dtype '{descr}' has no byte order although it is {} bytes wide", d.size())
            }
            Some(d) => Ok(d),
            None => bail!(
                "dtype '{descr}' is not supported; use float32/64, int8..int64, uint8..uint64 or bool \
                 (e.g. a.astype('float64'))"
            ),
        }
    }

    pub(crate) fn is_integer(self) -> bool {
        !matches!(self, F32 | F64 | Bool)
    }

    /// Decodes little-endian elements to `f64` (integers beyond 2^53 round to nearest).
    pub(crate) fn decode(self, bytes: &[u8]) -> Result<Vec<f64>> {
        fn le<const N: usize>(bytes: &[u8], f: impl Fn([u8; N]) -> f64) -> Vec<f64> {
            bytes
                .chunks_exact(N)
                .map(|c| f(c.try_into().expect("chunks_exact yields N bytes")))
                .collect()
        }
        Ok(match self {
            F32 => le(bytes, |b| f32::from_le_bytes(b).into()),
            F64 => le(bytes, f64::from_le_bytes),
            I8 => le(bytes, |b| i8::from_le_bytes(b).into()),
            I16 => le(bytes, |b| i16::from_le_bytes(b).into()),
            I32 => le(bytes, |b| i32::from_le_bytes(b).into()),
            I64 => le(bytes, |b| i64::from_le_bytes(b) as f64),
            U8 => le(bytes, |b| u8::from_le_bytes(b).into()),
            U16 => le(bytes, |b| u16::from_le_bytes(b).into()),
            U32 => le(bytes, |b| u32::from_le_bytes(b).into()),
            U64 => le(bytes, |b| u64::from_le_bytes(b) as f64),
            Bool => {
                if let Some(bad) = bytes.iter().find(|&&b| b > 1) {
                    bail!("bool array holds byte {bad}, which is neither 0 nor 1");
                }
                bytes.iter().map(|&b| f64::from(b)).collect()
            }
        })
    }

    /// Encodes `f64` values as little-endian elements of this type. Integer and bool
    /// types refuse values they cannot hold exactly; float32 rounds to nearest.
    pub(crate) fn encode(self, values: &[f64]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(values.len() * self.size());
        for (i, &x) in values.iter().enumerate() {
            match self {
                F64 => out.extend_from_slice(&x.to_le_bytes()),
                F32 => out.extend_from_slice(&(x as f32).to_le_bytes()),
                Bool => out.push(match x {
                    0.0 => 0,
                    1.0 => 1,
                    _ => bail!("element {i} is {x}, which a bool array cannot hold (use 0 or 1)"),
                }),
                _ => {
                    let (lo, hi) = self.int_range();
                    if x.fract() != 0.0 || !(lo..=hi).contains(&x) {
                        bail!(
                            "element {i} is {x}, which an {} array cannot hold exactly",
                            self.name()
                        );
                    }
                    let bytes = match self {
                        I8 => (x as i8).to_le_bytes().to_vec(),
                        I16 => (x as i16).to_le_bytes().to_vec(),
                        I32 => (x as i32).to_le_bytes().to_vec(),
                        I64 => (x as i64).to_le_bytes().to_vec(),
                        U8 => (x as u8).to_le_bytes().to_vec(),
                        U16 => (x as u16).to_le_bytes().to_vec(),
                        U32 => (x as u32).to_le_bytes().to_vec(),
                        _ => (x as u64).to_le_bytes().to_vec(),
                    };
                    out.extend_from_slice(&bytes);
                }
            }
        }
        Ok(out)
    }

    /// The closed range of `f64` values an integer type holds exactly; the upper end of
    /// 64-bit types is the largest `f64` below 2^63 / 2^64.
    fn int_range(self) -> (f64, f64) {
        match self {
            I8 => (i8::MIN.into(), i8::MAX.into()),
            I16 => (i16::MIN.into(), i16::MAX.into()),
            I32 => (i32::MIN.into(), i32::MAX.into()),
            I64 => (-(2f64.powi(63)), 2f64.powi(63) - 1024.0),
            U8 => (0.0, u8::MAX.into()),
            U16 => (0.0, u16::MAX.into()),
            U32 => (0.0, u32::MAX.into()),
            _ => (0.0, 2f64.powi(64) - 2048.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descr_round_trip_and_refusals() {
        for d in ALL {
            assert_eq!(DType::from_descr(d.descr()).unwrap(), d);
            assert_eq!(DType::from_name(d.name()).unwrap(), d);
        }
        assert_eq!(DType::from_descr("<u1").unwrap(), U8);
        assert!(DType::from_descr(">f8")
            .unwrap_err()
            .to_string()
            .contains("big-endian"));
        assert!(DType::from_descr("<c16")
            .unwrap_err()
            .to_string()
            .contains("not supported"));
        assert!(DType::from_descr("|f8").is_err());
        assert!(DType::from_descr("").is_err());
        assert!(DType::from_name("float128").is_err());
    }

    #[test]
    fn integer_encoding_is_exact_or_refused() {
        let v = [-128.0, 0.0, 127.0];
        assert_eq!(I8.decode(&I8.encode(&v).unwrap()).unwrap(), v);
        assert!(I8.encode(&[128.0]).is_err());
        assert!(I32.encode(&[0.5]).is_err());
        assert!(U8.encode(&[-1.0]).is_err());
        assert!(I64.encode(&[f64::NAN]).is_err());
        assert!(I64.encode(&[2f64.powi(63)]).is_err());
        let big = 2f64.powi(63) - 1024.0;
        assert_eq!(I64.decode(&I64.encode(&[big]).unwrap()).unwrap(), [big]);
        assert!(Bool.encode(&[2.0]).is_err());
        assert!(Bool.decode(&[0, 1, 2]).is_err());
    }
}
