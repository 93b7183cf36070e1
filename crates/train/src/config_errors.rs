//! Config errors that say where: the dotted path of the offending field and its line in the
//! file, or the `--set` override that supplied it (`invalid config: field optimizer.lr (line
//! 3): invalid type: string "fast", expected f64`).
//!
//! The path comes from `serde_path_to_error`. Inside tagged sections (`[optimizer]`,
//! `[schedule]`, `[data]`, whose `kind` picks the fields) serde buffers the section and loses
//! the field, so the path is completed from the error itself: the field an "unknown/missing
//! field" message names, or the one field of the section holding the value an "invalid
//! type/value" message quotes. The line comes from the spans of `toml`'s parser.

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

/// Deserializes `table` (parsed from `text`, then overridden by `overrides`) as `T`, with
/// the error located as described in the module docs.
pub fn deserialize<T: DeserializeOwned>(
    table: toml::Table,
    text: &str,
    overrides: &[String],
) -> anyhow::Result<T> {
    let value = toml::Value::Table(table.clone());
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let message = e.inner().message().to_string();
        let mut path: Vec<String> = e
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                _ => None,
            })
            .collect();
        complete_path(&table, &mut path, &message);
        let field = path.join(".");
        let place = match (line_of(text, &path), override_for(overrides, &path)) {
            (_, Some(o)) => format!(" (set by --set {o})"),
            (Some(line), None) => format!(" (line {line})"),
            (None, None) => String::new(),
        };
        if field.is_empty() {
            anyhow::anyhow!("invalid config{place}: {message}")
        } else {
            anyhow::anyhow!("invalid config: field {field}{place}: {message}")
        }
    })
}

/// Extends a path that stops at a section with the field the message is about.
fn complete_path(table: &toml::Table, path: &mut Vec<String>, message: &str) {
    let mut node = Some(table);
    for key in path.iter() {
        node = node
            .and_then(|t| t.get(key))
            .and_then(toml::Value::as_table);
    }
    let Some(section) = node else { return };
    for pattern in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.split(pattern).nth(1) {
            if let Some(name) = rest.split('`').next() {
                path.push(name.to_string());
                return;
            }
        }
    }
    let quoted = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(|m| m.split(", expected").next());
    if let Some(unexpected) = quoted {
        let mut matches = section
            .iter()
            .filter(|(_, v)| unexpected_of(v).as_deref() == Some(unexpected));
        if let (Some((name, _)), None) = (matches.next(), matches.next()) {
            path.push(name.clone());
        }
    }
}

/// How serde's `Unexpected` names a TOML value in its messages.
fn unexpected_of(v: &toml::Value) -> Option<String> {
    Some(match v {
        toml::Value::String(s) => format!("string {s:?}"),
        toml::Value::Integer(i) => format!("integer `{i}`"),
        toml::Value::Float(f) => {
            let mut text = f.to_string();
            if f.is_finite() && !text.contains(['.', 'e']) {
                text.push_str(".0");
            }
            format!("floating point `{text}`")
        }
        toml::Value::Boolean(b) => format!("boolean `{b}`"),
        toml::Value::Array(_) => "sequence".into(),
        toml::Value::Table(_) => "map".into(),
        toml::Value::Datetime(_) => return None,
    })
}

/// The line of the deepest element of `path` present in `text`.
fn line_of(text: &str, path: &[String]) -> Option<usize> {
    let doc = DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut span = None;
    for key in path {
        let (_, value) = table.iter().find(|(k, _)| k.get_ref() == key)?;
        span = Some(value.span());
        match value.get_ref() {
            DeValue::Table(t) => table = t,
            _ => break,
        }
    }
    span.map(|s| text[..s.start].matches('\n').count() + 1)
}

/// The override that set `path` or one of its parents (the last one given wins).
fn override_for<'a>(overrides: &'a [String], path: &[String]) -> Option<&'a str> {
    let dotted = path.join(".");
    overrides.iter().rev().map(String::as_str).find(|o| {
        let key = o.split('=').next().unwrap_or("").trim();
        !key.is_empty() && (dotted == key || dotted.starts_with(&format!("{key}.")))
    })
}

#[cfg(test)]
mod tests {
    use crate::config::TrainConfig;

    fn error(text: &str, overrides: &[&str]) -> String {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        format!(
            "{:#}",
            TrainConfig::from_toml(text, &overrides).unwrap_err()
        )
    }

    #[test]
    fn errors_name_the_field_path_and_line() {
        let e = error(
            "steps = 10\n\n[optimizer]\nkind = \"gd\"\nlr = \"fast\"\n",
            &[],
        );
        assert!(e.contains("optimizer.lr") && e.contains("line 5"), "{e}");
        assert!(e.contains("expected f64"), "{e}");
        let e = error(
            "[schedule]\nkind = \"step\"\nevery = \"often\"\ngamma = 0.5\n",
            &[],
        );
        assert!(e.contains("schedule.every") && e.contains("line 3"), "{e}");
        let e = error("steps = \"many\"\n", &[]);
        assert!(e.contains("field steps") && e.contains("line 1"), "{e}");
        let e = error("[tracking]\nevery = 5\ntop_k = -1\n", &[]);
        assert!(e.contains("tracking.top_k") && e.contains("line 3"), "{e}");
        let e = error(
            "[optimizer]\nkind = \"gd\"\nlr = 0.1\nmomentum = 0.9\n",
            &[],
        );
        assert!(
            e.contains("optimizer.momentum") && e.contains("line"),
            "{e}"
        );
        let e = error("[model]\ninit = \"gauss\"\n", &[]);
        assert!(
            e.contains("model.init") && e.contains("line 2") && e.contains("npy:PATH"),
            "{e}"
        );
    }

    #[test]
    fn override_errors_name_the_override() {
        let e = error("", &["optimizer.lr=fast"]);
        assert!(
            e.contains("optimizer.lr") && e.contains("--set optimizer.lr=fast"),
            "{e}"
        );
    }

    #[test]
    fn replaced_fields_say_what_replaced_them() {
        let e = error("[tracking]\nflow = true\n", &[]);
        assert!(e.contains("processes = [\"discrete\", \"stable\"]"), "{e}");
    }
}
