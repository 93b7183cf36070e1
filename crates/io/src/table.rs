//! An in-memory table: named columns of equal length, in insertion order.

use anyhow::{bail, Result};

/// One column of a [`Table`]. Float columns use `NaN` for "not measured".
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    F64(Vec<f64>),
    I64(Vec<i64>),
    Str(Vec<String>),
    Bool(Vec<bool>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::F64(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::Str(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The type name used in messages and docs: `f64`, `i64`, `str` or `bool`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Column::F64(_) => "f64",
            Column::I64(_) => "i64",
            Column::Str(_) => "str",
            Column::Bool(_) => "bool",
        }
    }

    /// The values when this is an `F64` column.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match self {
            Column::F64(v) => Some(v),
            _ => None,
        }
    }

    /// The values when this is an `I64` column.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match self {
            Column::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The values when this is a `Str` column.
    pub fn as_str(&self) -> Option<&[String]> {
        match self {
            Column::Str(v) => Some(v),
            _ => None,
        }
    }

    /// The values when this is a `Bool` column.
    pub fn as_bool(&self) -> Option<&[bool]> {
        match self {
            Column::Bool(v) => Some(v),
            _ => None,
        }
    }
}

/// Named columns of equal length, kept in the order they were pushed.
///
/// ```
/// use gdscope_io::Table;
/// let mut t = Table::new();
/// t.push_i64("step", vec![0, 1, 2])?;
/// t.push_f64("loss", vec![1.0, 0.5, f64::NAN])?;
/// assert_eq!(t.nrows(), 3);
/// # anyhow::Ok(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    columns: Vec<(String, Column)>,
}

impl Table {
    /// An empty table (no columns, no rows).
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a column. Fails when the name is empty or already used, or when the
    /// length differs from the columns already present.
    pub fn push(&mut self, name: &str, column: Column) -> Result<&mut Self> {
        if name.is_empty() {
            bail!("a table column needs a non-empty name");
        }
        if self.column(name).is_some() {
            bail!("the table already has a column named '{name}'");
        }
        if let Some((first, col)) = self.columns.first() {
            if col.len() != column.len() {
                bail!(
                    "column '{name}' has {} rows but column '{first}' has {}; all columns must have the same length",
                    column.len(),
                    col.len()
                );
            }
        }
        self.columns.push((name.to_string(), column));
        Ok(self)
    }

    /// Appends an `f64` column (`NaN` = not measured).
    pub fn push_f64(&mut self, name: &str, values: Vec<f64>) -> Result<&mut Self> {
        self.push(name, Column::F64(values))
    }

    /// Appends an `i64` column.
    pub fn push_i64(&mut self, name: &str, values: Vec<i64>) -> Result<&mut Self> {
        self.push(name, Column::I64(values))
    }

    /// Appends a string column.
    pub fn push_str(&mut self, name: &str, values: Vec<String>) -> Result<&mut Self> {
        self.push(name, Column::Str(values))
    }

    /// Appends a boolean column.
    pub fn push_bool(&mut self, name: &str, values: Vec<bool>) -> Result<&mut Self> {
        self.push(name, Column::Bool(values))
    }

    /// Number of rows (0 for a table without columns).
    pub fn nrows(&self) -> usize {
        self.columns.first().map_or(0, |(_, c)| c.len())
    }

    /// Number of columns.
    pub fn ncols(&self) -> usize {
        self.columns.len()
    }

    /// The column with this name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    /// The column with this name when it holds `f64` values.
    pub fn f64_column(&self, name: &str) -> Option<&[f64]> {
        self.column(name).and_then(Column::as_f64)
    }

    /// Column names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(n, _)| n.as_str())
    }

    /// `(name, column)` pairs in order.
    pub fn columns(&self) -> impl Iterator<Item = (&str, &Column)> {
        self.columns.iter().map(|(n, c)| (n.as_str(), c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_lengths() {
        let mut t = Table::new();
        assert_eq!(t.nrows(), 0);
        t.push_i64("step", vec![0, 1])
            .unwrap()
            .push_f64("loss", vec![1.0, f64::NAN])
            .unwrap()
            .push_str("status", vec!["ok".into(), "diverged".into()])
            .unwrap()
            .push_bool("stable", vec![true, false])
            .unwrap();
        assert_eq!(t.nrows(), 2);
        assert_eq!(t.ncols(), 4);
        assert_eq!(
            t.names().collect::<Vec<_>>(),
            ["step", "loss", "status", "stable"]
        );
        assert_eq!(t.column("step"), Some(&Column::I64(vec![0, 1])));
        assert!(t.f64_column("loss").unwrap()[1].is_nan());
        assert_eq!(t.f64_column("step"), None);
        assert_eq!(t.column("nope"), None);
    }

    #[test]
    fn rejects_bad_columns() {
        let mut t = Table::new();
        t.push_f64("a", vec![1.0, 2.0]).unwrap();
        let e = t.push_f64("b", vec![1.0]).unwrap_err().to_string();
        assert!(
            e.contains("'b' has 1 rows") && e.contains("'a' has 2"),
            "{e}"
        );
        let e = t.push_i64("a", vec![1, 2]).unwrap_err().to_string();
        assert!(e.contains("already has a column named 'a'"), "{e}");
        assert!(t.push_bool("", vec![true, true]).is_err());
        assert_eq!(t.ncols(), 1);
    }
}
