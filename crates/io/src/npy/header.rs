//! The `.npy` header: magic, version, and a Python dict literal
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces to a
//! multiple of 64 bytes and ended by `\n` (format versions 1.0, 2.0 and 3.0).

use anyhow::{bail, Context, Result};

use super::dtype::DType;

pub(crate) const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// What the header says about the array that follows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// Parses the header at the start of `bytes`; returns it with the offset of the data.
pub(crate) fn parse(bytes: &[u8]) -> Result<(Header, usize)> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        bail!("not a .npy file: it does not start with the magic string \\x93NUMPY");
    }
    let Some(&[major, minor]) = bytes.get(6..8) else {
        bail!("truncated .npy file: it ends inside the version bytes");
    };
    let (len_bytes, utf8) = match major {
        1 => (2, false),
        2 => (4, false),
        3 => (4, true),
        _ => bail!("unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are known)"),
    };
    let Some(len_field) = bytes.get(8..8 + len_bytes) else {
        bail!("truncated .npy file: it ends inside the header length");
    };
    let header_len = len_field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let start = 8 + len_bytes;
    let Some(text) = bytes.get(start..start + header_len) else {
        bail!(
            "truncated .npy file: the header announces {header_len} bytes but only {} follow",
            bytes.len() - start
        );
    };
    let text = if utf8 {
        std::str::from_utf8(text).context("bad .npy header: not UTF-8")?
    } else {
        if !text.is_ascii() {
            bail!("bad .npy header: non-ASCII bytes in a version {major} header");
        }
        std::str::from_utf8(text).context("bad .npy header")?
    };
    let header =
        parse_dict(text).with_context(|| format!("bad .npy header {:?}", text.trim_end()))?;
    Ok((header, start + header_len))
}

/// Builds a version 1.0 header (2.0 when the text exceeds 65535 bytes), padded so that
/// the data start at a multiple of 64 bytes as numpy does.
pub(crate) fn format(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        dtype.descr()
    );
    let build = |len_bytes: usize| {
        let unpadded = MAGIC.len() + 2 + len_bytes + dict.len() + 1;
        let total = unpadded.div_ceil(64) * 64;
        let mut text = dict.clone().into_bytes();
        text.resize(dict.len() + (total - unpadded), b' ');
        text.push(b'\n');
        text
    };
    let text = build(2);
    let mut out = MAGIC.to_vec();
    if let Ok(len) = u16::try_from(text.len()) {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&text);
    } else {
        let text = build(4);
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(&text);
    }
    out
}

/// The values a header dict holds.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Int(usize),
    Tuple(Vec<Value>),
    List,
}

fn parse_dict(text: &str) -> Result<Header> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut descr = None;
    let mut fortran = None;
    let mut shape = None;
    p.expect(b'{')?;
    loop {
        p.skip_ws();
        if p.eat(b'}') {
            break;
        }
        let Value::Str(key) = p.value()? else {
            bail!("dict keys must be strings (at byte {})", p.i);
        };
        p.expect(b':')?;
        let value = p.value()?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(DType::from_descr(&s)?),
            ("descr", Value::List) => {
                bail!("structured (record) dtypes are not supported; save a plain numeric array")
            }
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Tuple(items)) => {
                let dims = items
                    .into_iter()
                    .map(|v| match v {
                        Value::Int(n) => Ok(n),
                        other => bail!("shape entries must be integers, found {other:?}"),
                    })
                    .collect::<Result<Vec<_>>>()?;
                shape = Some(dims);
            }
            (k @ ("descr" | "fortran_order" | "shape"), v) => {
                bail!("key '{k}' has an unexpected value {v:?}")
            }
            (k, _) => bail!("unexpected key '{k}' (expected descr, fortran_order, shape)"),
        }
        p.skip_ws();
        if !p.eat(b',') {
            p.skip_ws();
            p.expect(b'}')?;
            break;
        }
    }
    p.skip_ws();
    if p.i != p.s.len() {
        bail!("unexpected text after the dict at byte {}", p.i);
    }
    let (Some(dtype), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        bail!("the dict must have the keys 'descr', 'fortran_order' and 'shape'");
    };
    if fortran {
        bail!(
            "the array is stored in Fortran (column-major) order; save it in C order, \
             e.g. np.save(path, np.ascontiguousarray(a))"
        );
    }
    Ok(Header { dtype, shape })
}

/// A cursor over the header text, for the small subset of Python literals numpy writes.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<()> {
        self.skip_ws();
        if !self.eat(c) {
            bail!("expected '{}' at byte {}", c as char, self.i);
        }
        Ok(())
    }

    fn value(&mut self) -> Result<Value> {
        self.skip_ws();
        let rest = &self.s[self.i..];
        match rest.first() {
            Some(&q @ (b'\'' | b'"')) => {
                let end = rest[1..]
                    .iter()
                    .position(|&c| c == q)
                    .with_context(|| format!("unterminated string at byte {}", self.i))?;
                let s = String::from_utf8_lossy(&rest[1..1 + end]).into_owned();
                self.i += end + 2;
                Ok(Value::Str(s))
            }
            Some(b'(') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.eat(b')') {
                        return Ok(Value::Tuple(items));
                    }
                    items.push(self.value()?);
                    self.skip_ws();
                    if !self.eat(b',') {
                        self.expect(b')')?;
                        return Ok(Value::Tuple(items));
                    }
                }
            }
            Some(b'[') => Ok(Value::List),
            Some(c) if c.is_ascii_digit() => {
                let len = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                let digits = std::str::from_utf8(&rest[..len]).context("digits")?;
                // Python 2 headers may write 3L for a long integer.
                self.i += len;
                self.eat(b'L');
                let n = digits
                    .parse()
                    .with_context(|| format!("dimension {digits} is too large"))?;
                Ok(Value::Int(n))
            }
            _ if rest.starts_with(b"True") => {
                self.i += 4;
                Ok(Value::Bool(true))
            }
            _ if rest.starts_with(b"False") => {
                self.i += 5;
                Ok(Value::Bool(false))
            }
            _ => bail!("unexpected character at byte {}", self.i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_text(text: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(text.len() as u16).to_le_bytes());
        b.extend_from_slice(text.as_bytes());
        b
    }

    #[test]
    fn formats_like_numpy() {
        // np.save of np.zeros(3) writes exactly this 128-byte-aligned header.
        let h = format(DType::F64, &[3]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }"));
        assert!(text.ends_with(" \n"));
        let (parsed, off) = parse(&h).unwrap();
        assert_eq!(off, h.len());
        assert_eq!(
            parsed,
            Header {
                dtype: DType::F64,
                shape: vec![3]
            }
        );
        for shape in [vec![], vec![2, 3], vec![0, 5, 1]] {
            let h = format(DType::I32, &shape);
            assert_eq!(parse(&h).unwrap().0.shape, shape);
        }
    }

    #[test]
    fn accepts_python_variants() {
        let h = with_text("{\"shape\": (2L, 3L), \"fortran_order\": False, \"descr\": \"|u1\"}\n");
        let (parsed, _) = parse(&h).unwrap();
        assert_eq!(
            parsed,
            Header {
                dtype: DType::U8,
                shape: vec![2, 3]
            }
        );
        let v3 = {
            let text = "{'descr': '<i8', 'fortran_order': False, 'shape': (), }\n";
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&[3, 0]);
            b.extend_from_slice(&(text.len() as u32).to_le_bytes());
            b.extend_from_slice(text.as_bytes());
            b
        };
        assert_eq!(parse(&v3).unwrap().0.shape, Vec::<usize>::new());
    }

    #[test]
    fn clear_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"PK\x03\x04", "magic"),
            (b"\x93NUMPY\x01", "version"),
            (b"\x93NUMPY\x09\x00\x10\x00", "version 9.0"),
            (b"\x93NUMPY\x01\x00\x50\x00{'descr'", "announces 80 bytes"),
        ];
        for (bytes, want) in cases {
            let e = format!("{:#}", parse(bytes).unwrap_err());
            assert!(e.contains(want), "{e} should mention {want}");
        }
        let texts = [
            (
                "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
                "Fortran",
            ),
            (
                "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
                "structured",
            ),
            ("{'descr': '<f8', 'shape': (2,), }", "must have the keys"),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",
                "unexpected key",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }",
                "unexpected character",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': ('a',), }",
                "integers",
            ),
            ("{'descr' '<f8', 'fortran_order': False}", "expected ':'"),
            (
                "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
                "big-endian",
            ),
            (
                "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
                "too large",
            ),
        ];
        for (text, want) in texts {
            let e = format!("{:#}", parse(&with_text(text)).unwrap_err());
            assert!(e.contains(want), "{e} should mention {want}");
        }
    }
}
