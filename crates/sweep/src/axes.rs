//! Sweep axes: a setting (`path.to.field` of the training config) and the values it takes.
//!
//! Values are written as a comma-separated list of TOML values (`0.01,0.02`, `"adam",gd`,
//! bare words are strings, `[1,2]` is one array value) or as a range:
//!
//! | form | values |
//! |---|---|
//! | `linspace(a,b,n)` | `a + i·(b − a)/(n − 1)`, `i = 0 … n−1` |
//! | `logspace(a,b,n)` | `a·(b/a)^(i/(n − 1))`: `n` values from `a` to `b`, evenly spaced in log scale (the endpoints themselves, like `numpy.geomspace`, not powers of ten) |
//! | `range(a,b)`, `range(a,b,s)` | the integers `a, a+s, …` below `b` (Python's `range`) |
//!
//! Generated floats are rounded to 15 significant digits, so `logspace(1e-3,1e-1,3)` is
//! exactly `0.001, 0.01, 0.1`.
//!
//! A [`Design`] holds grid axes (every combination) and zipped axes (advancing together, all
//! of one length). Members are the zipped tuples crossed with the grid; the last grid axis
//! varies fastest.

use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};

/// One swept setting and its values, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Axis {
    /// Dotted path of the setting, e.g. `optimizer.lr`.
    pub key: String,
    /// The values, as TOML values.
    pub values: Vec<toml::Value>,
}

impl Axis {
    /// Parses `key=VALUES` (see the module docs).
    pub fn parse(assignment: &str) -> Result<Axis> {
        let Some((key, values)) = assignment.split_once('=') else {
            bail!(
                "axis `{assignment}` must have the form path.to.field=VALUES, e.g. optimizer.lr=0.01,0.02 or optimizer.lr=logspace(1e-3,1e-1,7)"
            );
        };
        Self::from_text(key, values).with_context(|| format!("in axis `{assignment}`"))
    }

    /// An axis from a key and its values written as text (a list or a range).
    pub fn from_text(key: &str, values: &str) -> Result<Axis> {
        let key = check_key(key)?;
        Ok(Axis {
            key,
            values: parse_values(values)?,
        })
    }

    /// An axis from the TOML form: an array of values, or a string holding a list or range
    /// (`"logspace(1e-3,1e-1,7)"`).
    pub fn from_toml(key: &str, value: &toml::Value) -> Result<Axis> {
        let key = check_key(key)?;
        let values = match value {
            toml::Value::Array(items) => items.clone(),
            toml::Value::String(text) => parse_values(text)?,
            other => vec![other.clone()],
        };
        ensure!(!values.is_empty(), "axis `{key}` has no values");
        Ok(Axis { key, values })
    }

    /// The `index`-th value written as a `key=value` override (TOML syntax for the value).
    pub fn assignment(&self, index: usize) -> String {
        format!("{}={}", self.key, self.values[index])
    }
}

fn check_key(key: &str) -> Result<String> {
    let key = key.trim();
    ensure!(
        !key.is_empty() && key.split('.').all(|part| !part.trim().is_empty()),
        "`{key}` is not a setting path; write it like optimizer.lr or seed"
    );
    Ok(key.split('.').map(str::trim).collect::<Vec<_>>().join("."))
}

/// Grid and zipped axes of a sweep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// Axes crossed with each other (Cartesian product).
    pub grid: Vec<Axis>,
    /// Axes that advance together (paired values); all have the same length.
    pub zip: Vec<Axis>,
}

impl Design {
    /// Checks that there is at least one axis, no key is swept twice, and zipped axes have one
    /// length.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            !self.grid.is_empty() || !self.zip.is_empty(),
            "a sweep needs at least one axis: add --grid path.to.field=v1,v2 (or a [sweep.grid] table)"
        );
        let mut seen = std::collections::BTreeSet::new();
        for axis in self.grid.iter().chain(&self.zip) {
            ensure!(
                seen.insert(axis.key.as_str()),
                "`{}` is swept twice; give each setting one axis",
                axis.key
            );
            ensure!(!axis.values.is_empty(), "axis `{}` has no values", axis.key);
        }
        if let Some(first) = self.zip.first() {
            for axis in &self.zip[1..] {
                ensure!(
                    axis.values.len() == first.values.len(),
                    "zipped axes must have the same number of values: `{}` has {} but `{}` has {}",
                    first.key,
                    first.values.len(),
                    axis.key,
                    axis.values.len()
                );
            }
        }
        Ok(())
    }

    /// Every axis, zipped ones first (the order of a member's settings).
    pub fn axes(&self) -> impl Iterator<Item = &Axis> {
        self.zip.iter().chain(&self.grid)
    }

    /// Number of members: the zip length times the product of the grid lengths.
    pub fn len(&self) -> usize {
        let zip = self.zip.first().map_or(1, |a| a.values.len());
        self.grid.iter().map(|a| a.values.len()).product::<usize>() * zip
    }

    /// True when the design has no members.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The members' settings, `(key, value)` in [`axes`](Self::axes) order: zipped tuples
    /// outermost, then the grid with its last axis varying fastest.
    pub fn points(&self) -> Vec<Vec<(String, toml::Value)>> {
        let zip_len = self.zip.first().map_or(1, |a| a.values.len());
        let mut out = Vec::with_capacity(self.len());
        for z in 0..zip_len {
            let zipped: Vec<(String, toml::Value)> = self
                .zip
                .iter()
                .map(|a| (a.key.clone(), a.values[z].clone()))
                .collect();
            let mut combos: Vec<Vec<(String, toml::Value)>> = vec![zipped];
            for axis in &self.grid {
                combos = combos
                    .into_iter()
                    .flat_map(|prefix| {
                        axis.values.iter().map(move |v| {
                            let mut p = prefix.clone();
                            p.push((axis.key.clone(), v.clone()));
                            p
                        })
                    })
                    .collect();
            }
            out.extend(combos);
        }
        out
    }
}

/// Parses a list or a range of values.
pub fn parse_values(text: &str) -> Result<Vec<toml::Value>> {
    let text = text.trim();
    ensure!(
        !text.is_empty(),
        "no values; give a list (0.01,0.02) or a range (logspace(1e-3,1e-1,7))"
    );
    if let Some((name, args)) = range_call(text) {
        return expand_range(name, &args);
    }
    split_top_level(text)
        .into_iter()
        .map(|piece| {
            ensure!(
                !piece.is_empty(),
                "empty value in `{text}` (two commas in a row?)"
            );
            Ok(parse_value(piece))
        })
        .collect()
}

/// `name(a,b,…)` for the known range functions.
fn range_call(text: &str) -> Option<(&str, Vec<&str>)> {
    let open = text.find('(')?;
    let name = text[..open].trim();
    if !matches!(name, "linspace" | "logspace" | "range") || !text.ends_with(')') {
        return None;
    }
    let inner = &text[open + 1..text.len() - 1];
    Some((name, inner.split(',').map(str::trim).collect()))
}

fn expand_range(name: &str, args: &[&str]) -> Result<Vec<toml::Value>> {
    let usage = match name {
        "range" => "range(start,stop) or range(start,stop,step) with integers",
        _ => "NAME(start,stop,count), e.g. logspace(1e-3,1e-1,7)",
    };
    if name == "range" {
        ensure!(
            args.len() == 2 || args.len() == 3,
            "{name} takes 2 or 3 arguments: {usage}"
        );
        let int = |s: &str| {
            s.parse::<i64>()
                .with_context(|| format!("`{s}` is not an integer; {usage}"))
        };
        let (start, stop) = (int(args[0])?, int(args[1])?);
        let step = if args.len() == 3 { int(args[2])? } else { 1 };
        ensure!(step != 0, "range step must not be 0");
        let mut values = Vec::new();
        let mut v = start;
        while (step > 0 && v < stop) || (step < 0 && v > stop) {
            values.push(toml::Value::Integer(v));
            v += step;
        }
        ensure!(!values.is_empty(), "range({start},{stop},{step}) is empty");
        return Ok(values);
    }
    ensure!(args.len() == 3, "{name} takes 3 arguments: {usage}");
    let num = |s: &str| {
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .with_context(|| format!("`{s}` is not a finite number; {usage}"))
    };
    let (a, b) = (num(args[0])?, num(args[1])?);
    let n: usize = args[2]
        .parse()
        .ok()
        .filter(|&n| n >= 1)
        .with_context(|| format!("`{}` is not a count of at least 1; {usage}", args[2]))?;
    if name == "logspace" {
        ensure!(
            a > 0.0 && b > 0.0,
            "logspace needs positive endpoints, got {a} and {b}"
        );
    }
    let at = |i: usize| -> f64 {
        if n == 1 {
            return a;
        }
        let t = i as f64 / (n - 1) as f64;
        match name {
            "linspace" => a + t * (b - a),
            _ => (a.ln() + t * (b.ln() - a.ln())).exp(),
        }
    };
    Ok((0..n)
        .map(|i| toml::Value::Float(round_sig(at(i))))
        .collect())
}

/// `v` rounded to 15 significant digits (removes the last-bit noise of generated values).
fn round_sig(v: f64) -> f64 {
    format!("{v:.14e}").parse().unwrap_or(v)
}

/// Splits at commas that are not inside brackets, braces, parentheses or quotes.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{' | '(') => depth += 1,
            (None, ']' | '}' | ')') => depth -= 1,
            (None, ',') if depth == 0 => {
                pieces.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(text[start..].trim());
    pieces
}

/// A TOML value (`0.04`, `true`, `"text"`, `[1, 2]`), or the text itself as a string when it
/// is not one (so `adam` needs no quotes): the rule of `gdscope train --set`, taken from
/// `gdscope_train::config::apply_override` itself.
pub fn parse_value(raw: &str) -> toml::Value {
    let mut table = toml::Table::new();
    match gdscope_train::config::apply_override(
        &mut table,
        &toml::Table::new(),
        &format!("v={raw}"),
    ) {
        Ok(()) => table
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value::{Float, Integer, String as Str};

    #[test]
    fn lists_ranges_and_strings() {
        let a = Axis::parse("optimizer.lr=0.01, 0.02,0.04").unwrap();
        assert_eq!(a.key, "optimizer.lr");
        assert_eq!(a.values, [Float(0.01), Float(0.02), Float(0.04)]);
        assert_eq!(a.assignment(1), "optimizer.lr=0.02");
        let a = Axis::parse("optimizer.kind=gd,\"adam\",[1, 2]").unwrap();
        assert_eq!(a.values[0], Str("gd".into()));
        assert_eq!(a.values[1], Str("adam".into()));
        assert!(matches!(a.values[2], toml::Value::Array(ref v) if v.len() == 2));
        assert_eq!(a.assignment(1), "optimizer.kind=\"adam\"");
        assert_eq!(
            Axis::parse("seed=range(0,3)").unwrap().values,
            [Integer(0), Integer(1), Integer(2)]
        );
        assert_eq!(
            Axis::parse("seed=range(10,0,-4)").unwrap().values,
            [Integer(10), Integer(6), Integer(2)]
        );
        assert_eq!(
            Axis::parse("optimizer.lr=logspace(1e-3,1e-1,3)")
                .unwrap()
                .values,
            [Float(0.001), Float(0.01), Float(0.1)]
        );
        assert_eq!(
            Axis::parse("x=linspace(0,1,5)").unwrap().values,
            [Float(0.0), Float(0.25), Float(0.5), Float(0.75), Float(1.0)]
        );
        let seven = Axis::parse("lr=logspace(1e-3,1e-1,7)").unwrap().values;
        assert_eq!(seven.len(), 7);
        assert_eq!(seven[3], Float(0.01));
    }

    #[test]
    fn errors_name_the_problem() {
        for (input, needle) in [
            ("optimizer.lr", "path.to.field=VALUES"),
            ("=1,2", "not a setting path"),
            ("a..b=1", "not a setting path"),
            ("lr=", "no values"),
            ("lr=1,,2", "empty value"),
            ("lr=logspace(0,1,3)", "positive endpoints"),
            ("lr=logspace(1e-3,1e-1)", "3 arguments"),
            ("lr=linspace(0,1,zero)", "count of at least 1"),
            ("seed=range(0,x)", "not an integer"),
            ("seed=range(3,0)", "is empty"),
            ("seed=range(0,3,0)", "must not be 0"),
        ] {
            let e = format!("{:#}", Axis::parse(input).unwrap_err());
            assert!(e.contains(needle), "{input}: {e}");
        }
    }

    fn design(grid: &[&str], zip: &[&str]) -> Design {
        Design {
            grid: grid.iter().map(|s| Axis::parse(s).unwrap()).collect(),
            zip: zip.iter().map(|s| Axis::parse(s).unwrap()).collect(),
        }
    }

    #[test]
    fn grid_is_a_product_with_the_last_axis_fastest() {
        let d = design(&["lr=1,2", "seed=0,1,2"], &[]);
        d.validate().unwrap();
        let pts = d.points();
        assert_eq!(pts.len(), 6);
        assert_eq!(d.len(), 6);
        let flat: Vec<String> = pts
            .iter()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(flat[0], "lr=1 seed=0");
        assert_eq!(flat[1], "lr=1 seed=1");
        assert_eq!(flat[3], "lr=2 seed=0");
    }

    #[test]
    fn zip_pairs_values_and_crosses_with_the_grid() {
        let d = design(&["seed=0,1"], &["lr=0.1,0.2,0.3", "beta=0.9,0.8,0.7"]);
        d.validate().unwrap();
        let pts = d.points();
        assert_eq!(pts.len(), 6);
        assert_eq!(pts[2][0], ("lr".to_string(), Float(0.2)));
        assert_eq!(pts[2][1], ("beta".to_string(), Float(0.8)));
        assert_eq!(pts[2][2], ("seed".to_string(), Integer(0)));
        let e = design(&[], &["lr=1,2", "beta=1"]).validate().unwrap_err();
        assert!(e.to_string().contains("same number of values"), "{e}");
        let e = design(&["lr=1", "lr=2"], &[]).validate().unwrap_err();
        assert!(e.to_string().contains("swept twice"), "{e}");
        let e = design(&[], &[]).validate().unwrap_err();
        assert!(e.to_string().contains("at least one axis"), "{e}");
    }

    #[test]
    fn toml_form() {
        let v: toml::Value = toml::from_str::<toml::Table>("a = [1, 2]\nb = \"range(0,2)\"")
            .map(toml::Value::Table)
            .unwrap();
        assert_eq!(
            Axis::from_toml("a", &v["a"]).unwrap().values,
            [Integer(1), Integer(2)]
        );
        assert_eq!(Axis::from_toml("b", &v["b"]).unwrap().values.len(), 2);
        assert_eq!(
            Axis::from_toml("c", &Float(0.5)).unwrap().values,
            [Float(0.5)]
        );
    }

    proptest::proptest! {
        /// Every combination appears exactly once, and the count is the product of lengths.
        #[test]
        fn grid_points_are_all_distinct(a in 1usize..5, b in 1usize..5, z in 1usize..4) {
            let d = Design {
                grid: vec![
                    Axis { key: "a".into(), values: (0..a as i64).map(Integer).collect() },
                    Axis { key: "b".into(), values: (0..b as i64).map(Integer).collect() },
                ],
                zip: vec![Axis { key: "z".into(), values: (0..z as i64).map(Integer).collect() }],
            };
            let pts = d.points();
            proptest::prop_assert_eq!(pts.len(), a * b * z);
            let set: std::collections::BTreeSet<String> =
                pts.iter().map(|p| format!("{p:?}")).collect();
            proptest::prop_assert_eq!(set.len(), pts.len());
        }

        /// linspace and logspace hit both endpoints and are monotone.
        #[test]
        fn spaces_hit_their_endpoints(a in 1e-4f64..1.0, ratio in 1.5f64..100.0, n in 2usize..12) {
            let b = a * ratio;
            for name in ["linspace", "logspace"] {
                let v: Vec<f64> = parse_values(&format!("{name}({a},{b},{n})"))
                    .unwrap()
                    .iter()
                    .map(|x| x.as_float().unwrap())
                    .collect();
                proptest::prop_assert_eq!(v.len(), n);
                proptest::prop_assert!((v[0] - a).abs() <= 1e-14 * a);
                proptest::prop_assert!((v[n - 1] - b).abs() <= 1e-14 * b);
                proptest::prop_assert!(v.windows(2).all(|w| w[1] > w[0]));
            }
        }
    }
}
