//! [`Table`] → CSV (RFC 4180 quoting, header row, `\n` line ends).
//!
//! Floats are written in Rust's shortest round-trip form with an exponent when needed
//! (`0.1`, `1e-300`), `NaN` as `NaN` and infinities as `inf` / `-inf`, which
//! `pandas.read_csv` and `polars.read_csv` parse as floats. Booleans are `true` / `false`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::{write_atomic, Column, Table};

/// Writes `table` to `path` as CSV, atomically (see [`write_atomic`]).
pub fn write_csv(path: &Path, table: &Table) -> Result<()> {
    let text = csv_string(table)?;
    write_atomic(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// Renders `table` as CSV text.
pub fn csv_string(table: &Table) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(table.names())?;
    let cols: Vec<&Column> = table.columns().map(|(_, c)| c).collect();
    let mut record: Vec<String> = Vec::with_capacity(cols.len());
    for row in 0..table.nrows() {
        record.clear();
        record.extend(cols.iter().map(|c| cell(c, row)));
        w.write_record(&record)?;
    }
    let bytes = w.into_inner().context("cannot finish CSV text")?;
    Ok(String::from_utf8(bytes)?)
}

fn cell(col: &Column, row: usize) -> String {
    match col {
        Column::F64(v) => format_f64(v[row]),
        Column::I64(v) => v[row].to_string(),
        Column::Str(v) => v[row].clone(),
        Column::Bool(v) => v[row].to_string(),
    }
}

/// Shortest text that parses back to the same `f64`; `Debug` switches to exponent form for
/// very large or small magnitudes, unlike `Display`.
fn format_f64(x: f64) -> String {
    format!("{x:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_formats() {
        let mut t = Table::new();
        t.push_i64("step", vec![0, 1, 2]).unwrap();
        t.push_f64("loss", vec![0.1, f64::NAN, 1e-300]).unwrap();
        t.push_str(
            "note",
            vec!["a,b".into(), "say \"hi\"".into(), String::new()],
        )
        .unwrap();
        t.push_bool("ok", vec![true, false, true]).unwrap();
        let s = csv_string(&t).unwrap();
        assert_eq!(
            s,
            "step,loss,note,ok\n0,0.1,\"a,b\",true\n1,NaN,\"say \"\"hi\"\"\",false\n2,1e-300,,true\n"
        );
    }

    #[test]
    fn floats_round_trip_through_text() {
        for x in [
            0.1,
            -2.5e17,
            1.0 / 3.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::INFINITY,
            -0.0,
        ] {
            let back: f64 = format_f64(x).parse().unwrap();
            assert_eq!(back.to_bits(), x.to_bits(), "{x}");
        }
    }
}
