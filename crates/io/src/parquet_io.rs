//! [`Table`] ⇄ Parquet, through parquet-rs's low-level column API (no Arrow).
//!
//! Written files have one row group and flat, `REQUIRED` columns: `F64` → `DOUBLE`,
//! `I64` → `INT64`, `Str` → `BYTE_ARRAY` (logical type `STRING`), `Bool` → `BOOLEAN`,
//! Snappy-compressed. `NaN` is an ordinary `DOUBLE` value, so it round-trips and pandas /
//! polars read it as `NaN`. Reading also accepts what pandas / polars / pyarrow write for
//! such tables: `OPTIONAL` columns (a null becomes `NaN` in a float column and is an error
//! elsewhere), `FLOAT` (widened to `F64`), `INT32` (widened to `I64`) and several row groups.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DataType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::reader::{FileReader, RowGroupReader};
use parquet::file::serialized_reader::SerializedFileReader;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnDescriptor, Type};

use crate::{write_atomic, Column, Table};

/// Writes `table` to `path` as Parquet, atomically (see [`write_atomic`]).
pub fn write_parquet(path: &Path, table: &Table) -> Result<()> {
    let bytes = parquet_bytes(table)?;
    write_atomic(path, &bytes).with_context(|| format!("cannot write {}", path.display()))
}

/// Encodes `table` as the bytes of a Parquet file.
pub fn parquet_bytes(table: &Table) -> Result<Vec<u8>> {
    if table.ncols() == 0 {
        bail!("cannot write a Parquet file for a table without columns");
    }
    let fields = table
        .columns()
        .map(|(name, col)| {
            let (physical, logical) = match col {
                Column::F64(_) => (PhysicalType::DOUBLE, None),
                Column::I64(_) => (PhysicalType::INT64, None),
                Column::Str(_) => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
                Column::Bool(_) => (PhysicalType::BOOLEAN, None),
            };
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let schema = Type::group_type_builder("schema")
        .with_fields(fields)
        .build()?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("gdscope-io {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut buf = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buf, Arc::new(schema), Arc::new(props))?;
    let mut group = writer.next_row_group()?;
    for (name, col) in table.columns() {
        let mut cw = group
            .next_column()?
            .with_context(|| format!("Parquet writer has no slot for column '{name}'"))?;
        match col {
            Column::F64(v) => cw.typed::<DoubleType>().write_batch(v, None, None)?,
            Column::I64(v) => cw.typed::<Int64Type>().write_batch(v, None, None)?,
            Column::Bool(v) => cw.typed::<BoolType>().write_batch(v, None, None)?,
            Column::Str(v) => {
                let values: Vec<ByteArray> =
                    v.iter().map(|s| ByteArray::from(s.as_str())).collect();
                cw.typed::<ByteArrayType>()
                    .write_batch(&values, None, None)?
            }
        };
        cw.close()?;
    }
    group.close()?;
    writer.close()?;
    Ok(buf)
}

/// Reads a flat Parquet file into a [`Table`] (see the module docs for accepted types).
pub fn read_parquet(path: &Path) -> Result<Table> {
    let file =
        File::open(path).with_context(|| format!("cannot open Parquet file {}", path.display()))?;
    read_from(file).with_context(|| format!("cannot read Parquet file {}", path.display()))
}

fn read_from(file: File) -> Result<Table> {
    let reader = SerializedFileReader::new(file)?;
    let schema = reader.metadata().file_metadata().schema_descr_ptr();
    let descrs: Vec<Arc<ColumnDescriptor>> = schema.columns().to_vec();
    for d in &descrs {
        if d.max_rep_level() > 0 || d.path().parts().len() > 1 {
            bail!(
                "column '{}' is nested or repeated; only flat tables are supported",
                d.path()
            );
        }
    }
    let mut columns = descrs
        .iter()
        .map(|d| empty_column(d))
        .collect::<Result<Vec<_>>>()?;
    for g in 0..reader.num_row_groups() {
        let group = reader.get_row_group(g)?;
        let rows = usize::try_from(group.metadata().num_rows())
            .context("row group has a negative row count")?;
        for (i, (d, col)) in descrs.iter().zip(columns.iter_mut()).enumerate() {
            let part = read_column(group.as_ref(), i, d, rows)
                .with_context(|| format!("column '{}'", d.name()))?;
            extend(col, part).with_context(|| format!("column '{}'", d.name()))?;
        }
    }
    let mut table = Table::new();
    for (d, col) in descrs.iter().zip(columns) {
        table.push(d.name(), col)?;
    }
    Ok(table)
}

/// The (empty) gdscope column a Parquet column maps to, or why it cannot be read.
fn empty_column(d: &ColumnDescriptor) -> Result<Column> {
    Ok(match d.physical_type() {
        PhysicalType::DOUBLE | PhysicalType::FLOAT => Column::F64(Vec::new()),
        PhysicalType::INT32 | PhysicalType::INT64 => Column::I64(Vec::new()),
        PhysicalType::BOOLEAN => Column::Bool(Vec::new()),
        PhysicalType::BYTE_ARRAY => Column::Str(Vec::new()),
        other => bail!(
            "column '{}' has physical type {other}, which is not supported \
             (use DOUBLE, FLOAT, INT64, INT32, BOOLEAN or UTF-8 BYTE_ARRAY)",
            d.name()
        ),
    })
}

/// Appends one row group's values to the column read so far.
fn extend(acc: &mut Column, part: Column) -> Result<()> {
    match (acc, part) {
        (Column::F64(a), Column::F64(b)) => a.extend(b),
        (Column::I64(a), Column::I64(b)) => a.extend(b),
        (Column::Str(a), Column::Str(b)) => a.extend(b),
        (Column::Bool(a), Column::Bool(b)) => a.extend(b),
        (a, b) => bail!(
            "row groups disagree: {} values after {} values",
            b.type_name(),
            a.type_name()
        ),
    }
    Ok(())
}

fn read_column(
    group: &dyn RowGroupReader,
    i: usize,
    d: &ColumnDescriptor,
    rows: usize,
) -> Result<Column> {
    let optional = d.max_def_level() > 0;
    Ok(match group.get_column_reader(i)? {
        ColumnReader::DoubleColumnReader(mut r) => {
            Column::F64(with_nulls(read_all(&mut r, rows, optional)?, Some(f64::NAN))?)
        }
        ColumnReader::FloatColumnReader(mut r) => {
            let (v, defs) = read_all(&mut r, rows, optional)?;
            let v = v.into_iter().map(f64::from).collect();
            Column::F64(with_nulls((v, defs), Some(f64::NAN))?)
        }
        ColumnReader::Int64ColumnReader(mut r) => {
            Column::I64(with_nulls(read_all(&mut r, rows, optional)?, None)?)
        }
        ColumnReader::Int32ColumnReader(mut r) => {
            let (v, defs) = read_all(&mut r, rows, optional)?;
            let v = v.into_iter().map(i64::from).collect();
            Column::I64(with_nulls((v, defs), None)?)
        }
        ColumnReader::BoolColumnReader(mut r) => {
            Column::Bool(with_nulls(read_all(&mut r, rows, optional)?, None)?)
        }
        ColumnReader::ByteArrayColumnReader(mut r) => {
            let (v, defs) = read_all(&mut r, rows, optional)?;
            let v = v
                .iter()
                .map(|b| b.as_utf8().map(str::to_owned))
                .collect::<Result<Vec<_>, _>>()
                .context("byte-array values are not UTF-8 text")?;
            Column::Str(with_nulls((v, defs), None)?)
        }
        _ => bail!(
            "physical type {} is not supported (use DOUBLE, FLOAT, INT64, INT32, BOOLEAN or UTF-8 BYTE_ARRAY)",
            d.physical_type()
        ),
    })
}

/// Values read from one column chunk, plus definition levels when the column is optional.
type Chunk<T> = (Vec<T>, Option<Vec<i16>>);

fn read_all<T: DataType>(
    r: &mut ColumnReaderImpl<T>,
    rows: usize,
    optional: bool,
) -> Result<Chunk<T::T>> {
    let mut values = Vec::with_capacity(rows);
    let mut defs = optional.then(|| Vec::with_capacity(rows));
    let mut got = 0;
    while got < rows {
        let (records, _, _) = r.read_records(rows - got, defs.as_mut(), None, &mut values)?;
        if records == 0 {
            bail!("the file ends after {got} of {rows} rows");
        }
        got += records;
    }
    Ok((values, defs))
}

/// Spreads the non-null `values` over the rows marked present in `defs`; a null becomes
/// `null` when given (NaN for floats) and is an error otherwise.
fn with_nulls<T: Clone>((values, defs): Chunk<T>, null: Option<T>) -> Result<Vec<T>> {
    let Some(defs) = defs else {
        return Ok(values);
    };
    if defs.len() == values.len() {
        return Ok(values);
    }
    let Some(null) = null else {
        bail!("it holds nulls; only float columns may have missing values (read as NaN)");
    };
    let mut it = values.into_iter();
    defs.iter()
        .map(|&d| {
            if d > 0 {
                it.next().context("fewer values than definition levels")
            } else {
                Ok(null.clone())
            }
        })
        .collect()
}
