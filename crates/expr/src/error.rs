//! Errors of the expression toolkit. Every message names the problem and the fix; parse
//! errors quote the source line with a caret under the offending character.

use std::fmt;
use std::ops::Range;

use crate::func::Func;

/// A syntax error at one position of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The whole expression that was parsed.
    pub input: String,
    /// Byte range of the offending token (an empty range at the end for "unexpected end").
    pub span: Range<usize>,
    /// What went wrong, e.g. "found `)`".
    pub found: String,
    /// What the parser expected at that position.
    pub expected: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "cannot parse the expression: expected {}, {}",
            self.expected, self.found
        )?;
        write!(
            f,
            "{}",
            caret_block(&self.input, std::slice::from_ref(&self.span))
        )
    }
}

impl std::error::Error for ParseError {}

/// Errors of parsing, building and evaluating expression objectives.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// Syntax error (see [`ParseError`]).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Names that are neither functions, constants nor allowed variables.
    #[error("{}", unknown_names_message(.input, .names, .spans, .vars))]
    UnknownNames {
        /// The expression.
        input: String,
        /// Each unknown name once, in order of first appearance.
        names: Vec<String>,
        /// Byte ranges of every occurrence.
        spans: Vec<Range<usize>>,
        /// The variables that were allowed (`--vars`), if a list was given.
        vars: Option<Vec<String>>,
    },
    /// A bad variable list (`--vars`).
    #[error("invalid variable list: {0}")]
    InvalidVars(String),
    /// A bad built-in name or parameter.
    #[error("{0}")]
    Builtin(String),
}

fn unknown_names_message(
    input: &str,
    names: &[String],
    spans: &[Range<usize>],
    vars: &Option<Vec<String>>,
) -> String {
    let functions: Vec<&str> = Func::ALL.iter().map(|f| f.name()).collect();
    let vars_note = match vars {
        Some(v) => format!(
            "; variables from --vars: {} (add the missing ones to --vars, or omit --vars to take every free name as a variable)",
            v.join(", ")
        ),
        None => String::new(),
    };
    format!(
        "unknown names: {}; known functions: {}; constants: pi, e{}\n{}",
        names.join(", "),
        functions.join(", "),
        vars_note,
        caret_block(input, spans)
    )
}

/// The source line(s) holding `spans`, each followed by a line of carets under the spans.
/// Columns count characters, not bytes, so the carets line up for any UTF-8 input.
pub(crate) fn caret_block(source: &str, spans: &[Range<usize>]) -> String {
    let mut spans = spans.to_vec();
    spans.sort_by_key(|s| s.start);
    let mut out = String::new();
    let mut line_start = 0;
    for line in source.split_inclusive('\n') {
        let line_end = line_start + line.len();
        let text = line.trim_end_matches(['\n', '\r']);
        let mut marks = String::new();
        for span in &spans {
            // An empty span at the very end of the source marks "end of input".
            let at_end = span.start == source.len() && line_end == source.len();
            if (span.start >= line_start && span.start < line_end) || at_end {
                let col = source[line_start..span.start].chars().count();
                let width = source[span.start..span.end.min(line_end)]
                    .chars()
                    .count()
                    .max(1);
                let have = marks.chars().count();
                if col >= have {
                    marks.push_str(&" ".repeat(col - have));
                    marks.push_str(&"^".repeat(width));
                }
            }
        }
        if !marks.is_empty() {
            out.push_str(&format!("  {text}\n  {marks}\n"));
        }
        line_start = line_end;
    }
    if source.is_empty() {
        out.push_str("  \n  ^\n");
    }
    out.trim_end_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_offending_character() {
        let b = caret_block("x + * y", std::slice::from_ref(&(4..5)));
        assert_eq!(b, "  x + * y\n      ^");
    }

    #[test]
    fn caret_at_end_of_input_and_unicode_columns() {
        assert_eq!(
            caret_block("x +", std::slice::from_ref(&(3..3))),
            "  x +\n     ^"
        );
        // 'é' is two bytes but one column.
        assert_eq!(
            caret_block("é + $", std::slice::from_ref(&(5..6))),
            "  é + $\n      ^"
        );
    }

    #[test]
    fn several_spans_on_one_line() {
        assert_eq!(
            caret_block("foo(x) + bar", &[0..3, 9..12]),
            "  foo(x) + bar\n  ^^^      ^^^"
        );
    }
}
