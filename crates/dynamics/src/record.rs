//! Records: at every step, an ordered map from column name to value (`NaN` = not measured
//! at this step). The names are fixed when the run is built ([`Schema`]: observers declare
//! their columns), so a record is a flat `Vec<f64>` in schema order — a new metric needs a
//! new observer, never a struct edit, and writing a row allocates nothing.

/// The ordered column names of a run's records (`step` is implicit and comes first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schema {
    names: Vec<String>,
    optional: Vec<bool>,
}

impl Schema {
    /// Adds a column and returns its index. Names must be unique.
    pub fn add(&mut self, name: String) -> usize {
        debug_assert!(!self.names.contains(&name), "duplicate column {name}");
        self.names.push(name);
        self.optional.push(false);
        self.names.len() - 1
    }

    /// Adds a column that output writers may drop when it was never measured (for example
    /// `eig_7` in a run where k never grew to 7).
    pub fn add_optional(&mut self, name: String) -> usize {
        let i = self.add(name);
        self.optional[i] = true;
        i
    }

    /// The column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether column `i` may be dropped when it holds no finite value.
    pub fn is_optional(&self, i: usize) -> bool {
        self.optional[i]
    }

    /// The index of `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The values of one step, in [`Schema`] order.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The step `t`.
    pub step: u64,
    /// One value per schema column, `NaN` where nothing was measured.
    pub values: Vec<f64>,
}

impl Record {
    /// An empty record for `schema`.
    pub fn new(schema: &Schema) -> Self {
        Self {
            step: 0,
            values: vec![f64::NAN; schema.len()],
        }
    }

    /// Starts step `t`: every value unmeasured.
    pub fn reset(&mut self, t: u64) {
        self.step = t;
        self.values.fill(f64::NAN);
    }

    /// Sets column `i`.
    pub fn set(&mut self, i: usize, value: f64) {
        self.values[i] = value;
    }

    /// Column `i`.
    pub fn get(&self, i: usize) -> f64 {
        self.values[i]
    }

    /// `(name, value)` pairs in order.
    pub fn iter<'a>(&'a self, schema: &'a Schema) -> impl Iterator<Item = (&'a str, f64)> + 'a {
        schema
            .names()
            .iter()
            .map(String::as_str)
            .zip(self.values.iter().copied())
    }
}

/// The column name of `metric` for process `process`: unprefixed for `discrete` (so its
/// columns keep the historic names `loss`, `sharpness`, `eig_1`, …), else
/// `<process>.<metric>`.
pub fn column_name(process: &str, metric: &str) -> String {
    if process == "discrete" {
        metric.to_string()
    } else {
        format!("{process}.{metric}")
    }
}
