//! Recursive-descent parser for expressions (grammar in `docs/expressions.md`):
//!
//! ```text
//! sum     := product (('+' | '-') product)*
//! product := unary (('*' | '/') unary)*
//! unary   := ('-' | '+') unary | power
//! power   := atom (('^' | '**') unary)?        right-associative; -x^2 = -(x^2)
//! atom    := number | name | name '(' sum ')' | '(' sum ')'
//! ```

use std::ops::Range;

use crate::ast::{BinOp, Constant, Expr};
use crate::error::{ExprError, ParseError};
use crate::func::Func;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Plus,
    Minus,
    Star,
    Slash,
    Pow,
    LParen,
    RParen,
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Num(x) => format!("found the number `{x}`"),
            Tok::Name(n) => format!("found the name `{n}`"),
            Tok::Plus => "found `+`".into(),
            Tok::Minus => "found `-`".into(),
            Tok::Star => "found `*`".into(),
            Tok::Slash => "found `/`".into(),
            Tok::Pow => "found a power operator".into(),
            Tok::LParen => "found `(`".into(),
            Tok::RParen => "found `)`".into(),
            Tok::End => "found the end of the expression".into(),
        }
    }
}

fn err(src: &str, span: Range<usize>, expected: &str, found: String) -> ParseError {
    ParseError {
        input: src.to_string(),
        span,
        found,
        expected: expected.to_string(),
    }
}

/// Splits `src` into tokens with their byte spans; the last token is `End`.
fn lex(src: &str) -> Result<Vec<(Tok, Range<usize>)>, ParseError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let single = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'+' => Some(Tok::Plus),
            b'-' => Some(Tok::Minus),
            b'/' => Some(Tok::Slash),
            b'^' => Some(Tok::Pow),
            b'(' => Some(Tok::LParen),
            b')' => Some(Tok::RParen),
            b'*' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                toks.push((Tok::Pow, start..i));
                continue;
            }
            b'*' => Some(Tok::Star),
            _ => None,
        };
        if let Some(t) = single {
            i += 1;
            toks.push((t, start..i));
        } else if c.is_ascii_digit() || c == b'.' {
            i = lex_number(src, i)?;
            let text = &src[start..i];
            let value: f64 = text.parse().map_err(|_| {
                err(
                    src,
                    start..i,
                    "a number like 2, 0.5 or 1e-3",
                    format!("found `{text}`"),
                )
            })?;
            if !value.is_finite() {
                return Err(err(
                    src,
                    start..i,
                    "a number within the f64 range (|x| < 1.8e308)",
                    format!("found `{text}`"),
                ));
            }
            toks.push((Tok::Num(value), start..i));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            toks.push((Tok::Name(src[start..i].to_string()), start..i));
        } else {
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(err(
                src,
                i..i + ch.len_utf8(),
                "a number, a name, an operator (+ - * / ^ **) or a parenthesis",
                format!("found the character `{ch}`"),
            ));
        }
    }
    toks.push((Tok::End, src.len()..src.len()));
    Ok(toks)
}

/// Scans a number starting at `i`: digits, optional fraction, optional exponent.
/// Returns the end offset, or an error for a malformed exponent / lone dot.
fn lex_number(src: &str, mut i: usize) -> Result<usize, ParseError> {
    let b = src.as_bytes();
    let start = i;
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    i = digits(i);
    if i < b.len() && b[i] == b'.' {
        i = digits(i + 1);
    }
    if &src[start..i] == "." {
        return Err(err(
            src,
            start..i,
            "a digit before or after `.`",
            "found a lone `.`".into(),
        ));
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        let k = digits(j);
        if k == j {
            let found = match src[j..].chars().next() {
                Some(c) => format!("found `{c}`"),
                None => "found the end of the expression".into(),
            };
            let end = j + src[j..].chars().next().map_or(0, char::len_utf8);
            return Err(err(
                src,
                j..end,
                "digits of the exponent (as in 1e-3 or 2.5E+2)",
                found,
            ));
        }
        i = k;
    }
    Ok(i)
}

/// The result of parsing: the tree and the ordered variable list.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The syntax tree.
    pub expr: Expr,
    /// Variables in order: the explicit list if one was given, otherwise the free names
    /// of the expression in natural order ([`crate::ast::natural_cmp`]).
    pub vars: Vec<String>,
}

/// Parses `src`. With `vars = Some(list)` every name must be in the list (which fixes the
/// variable order); with `None` every free name is a variable, ordered alphabetically
/// (digit runs compared as numbers). Unknown names are all reported at once.
pub fn parse(src: &str, vars: Option<&[String]>) -> Result<Parsed, ExprError> {
    if let Some(v) = vars {
        validate_vars(v)?;
    }
    let toks = lex(src)?;
    let mut p = Parser {
        src,
        toks,
        pos: 0,
        vars,
        unknown: Vec::new(),
        nesting: 0,
    };
    let (expr, _) = p.sum()?;
    let (tok, span) = p.peek();
    if *tok != Tok::End {
        let expected = if *tok == Tok::RParen {
            "an operator or the end of the expression (this `)` has no matching `(`)"
        } else {
            "an operator (+ - * / ^) or the end of the expression"
        };
        return Err(err(src, span.clone(), expected, tok.describe()).into());
    }
    if !p.unknown.is_empty() {
        let mut names: Vec<String> = Vec::new();
        for (n, _) in &p.unknown {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        return Err(ExprError::UnknownNames {
            input: src.to_string(),
            names,
            spans: p.unknown.into_iter().map(|(_, s)| s).collect(),
            vars: vars.map(<[String]>::to_vec),
        });
    }
    let vars = match vars {
        Some(v) => v.to_vec(),
        None => expr.variables(),
    };
    Ok(Parsed { expr, vars })
}

/// Checks an explicit variable list: valid names, no duplicates, no clash with functions
/// or constants.
pub fn validate_vars(vars: &[String]) -> Result<(), ExprError> {
    if vars.is_empty() {
        return Err(ExprError::InvalidVars(
            "the list is empty; give names like --vars x,y".into(),
        ));
    }
    for (k, v) in vars.iter().enumerate() {
        let ok = v
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(ExprError::InvalidVars(format!(
                "`{v}` is not a name (use letters, digits and `_`, starting with a letter)"
            )));
        }
        if Func::from_name(v).is_some() || Constant::from_name(v).is_some() {
            return Err(ExprError::InvalidVars(format!(
                "`{v}` is a built-in function or constant; choose another variable name"
            )));
        }
        if vars[..k].contains(v) {
            return Err(ExprError::InvalidVars(format!("`{v}` is listed twice")));
        }
    }
    Ok(())
}

/// Deepest syntax tree accepted: every parenthesis, function call, sign, exponent and every
/// further term of a sum or product is one level. The tree is walked recursively (lowering,
/// printing, dropping), so the bound keeps every walk inside a 2 MiB thread stack; the
/// largest built-in (a rotated quadratic of 2000 dimensions) is about 4000 deep.
pub const MAX_DEPTH: usize = 10_000;

/// Deepest nesting of parentheses, function calls, signs and exponents accepted: the parser
/// recurses through several frames per such level (sums and products are loops).
pub const MAX_NESTING: usize = 500;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<(Tok, Range<usize>)>,
    pos: usize,
    vars: Option<&'a [String]>,
    unknown: Vec<(String, Range<usize>)>,
    /// Current recursion depth of the parser (nesting of parentheses, calls, signs).
    nesting: usize,
}

/// A parsed subexpression and the depth of its tree.
type Sub = (Expr, usize);

impl Parser<'_> {
    fn peek(&self) -> &(Tok, Range<usize>) {
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn bump(&mut self) -> (Tok, Range<usize>) {
        let t = self.peek().clone();
        if t.0 != Tok::End {
            self.pos += 1;
        }
        t
    }

    /// The error for a tree deeper than `limit`, pointing at the current token.
    fn too_deep(&self, limit: usize, what: &str) -> ParseError {
        let (tok, span) = self.peek().clone();
        err(
            self.src,
            span,
            &format!("an expression at most {limit} levels deep ({what}); simplify it"),
            format!("{} beyond that depth", tok.describe()),
        )
    }

    /// A node over children of depth `depth`, if within [`MAX_DEPTH`].
    fn node(&self, expr: Expr, depth: usize) -> Result<Sub, ParseError> {
        if depth + 1 > MAX_DEPTH {
            return Err(self.too_deep(
                MAX_DEPTH,
                "each parenthesis, call, sign, exponent and further term of a sum or product is a level",
            ));
        }
        Ok((expr, depth + 1))
    }

    /// Runs `f` one parser level deeper (parentheses, calls, signs, exponents recurse).
    fn nested(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<Sub, ParseError>,
    ) -> Result<Sub, ParseError> {
        if self.nesting >= MAX_NESTING {
            return Err(self.too_deep(
                MAX_NESTING,
                "counting nested parentheses, function calls, signs and exponents",
            ));
        }
        self.nesting += 1;
        let out = f(self);
        self.nesting -= 1;
        out
    }

    fn sum(&mut self) -> Result<Sub, ParseError> {
        let (mut lhs, mut depth) = self.product()?;
        loop {
            let op = match self.peek().0 {
                Tok::Plus => BinOp::Add,
                Tok::Minus => BinOp::Sub,
                _ => return Ok((lhs, depth)),
            };
            self.bump();
            let (rhs, d) = self.product()?;
            (lhs, depth) =
                self.node(Expr::Binary(op, Box::new(lhs), Box::new(rhs)), depth.max(d))?;
        }
    }

    fn product(&mut self) -> Result<Sub, ParseError> {
        let (mut lhs, mut depth) = self.unary()?;
        loop {
            let op = match self.peek().0 {
                Tok::Star => BinOp::Mul,
                Tok::Slash => BinOp::Div,
                _ => return Ok((lhs, depth)),
            };
            self.bump();
            let (rhs, d) = self.unary()?;
            (lhs, depth) =
                self.node(Expr::Binary(op, Box::new(lhs), Box::new(rhs)), depth.max(d))?;
        }
    }

    fn unary(&mut self) -> Result<Sub, ParseError> {
        match self.peek().0 {
            Tok::Minus => {
                self.bump();
                let (inner, d) = self.nested(Self::unary)?;
                self.node(Expr::Neg(Box::new(inner)), d)
            }
            Tok::Plus => {
                self.bump();
                self.nested(Self::unary)
            }
            _ => self.power(),
        }
    }

    fn power(&mut self) -> Result<Sub, ParseError> {
        let (base, db) = self.atom()?;
        if self.peek().0 == Tok::Pow {
            self.bump();
            let (exponent, de) = self.nested(Self::unary)?;
            return self.node(
                Expr::Binary(BinOp::Pow, Box::new(base), Box::new(exponent)),
                db.max(de),
            );
        }
        Ok((base, db))
    }

    fn atom(&mut self) -> Result<Sub, ParseError> {
        let (tok, span) = self.bump();
        match tok {
            Tok::Num(x) => Ok((Expr::Num(x), 1)),
            Tok::LParen => {
                let inner = self.nested(Self::sum)?;
                self.expect_close(span)?;
                Ok(inner)
            }
            Tok::Name(name) => self.name(name, span),
            other => Err(err(
                self.src,
                span,
                "a number, a name, `-` or `(`",
                other.describe(),
            )),
        }
    }

    fn expect_close(&mut self, open: Range<usize>) -> Result<(), ParseError> {
        let (tok, span) = self.peek().clone();
        if tok == Tok::RParen {
            self.bump();
            Ok(())
        } else {
            let expected = format!(
                "`)` to close the `(` at column {}",
                self.src[..open.start].chars().count() + 1
            );
            Err(err(self.src, span, &expected, tok.describe()))
        }
    }

    fn name(&mut self, name: String, span: Range<usize>) -> Result<Sub, ParseError> {
        if self.peek().0 == Tok::LParen {
            let (_, open) = self.bump();
            let (arg, d) = self.nested(Self::sum)?;
            self.expect_close(open)?;
            return match Func::from_name(&name) {
                Some(f) => self.node(Expr::Call(f, Box::new(arg)), d),
                None => {
                    self.unknown.push((name.clone(), span));
                    Ok((Expr::Var(name), 1))
                }
            };
        }
        if let Some(f) = Func::from_name(&name) {
            let (tok, next) = self.peek().clone();
            return Err(err(
                self.src,
                next,
                &format!("`(` after the function `{}`", f.name()),
                tok.describe(),
            ));
        }
        if let Some(c) = Constant::from_name(&name) {
            return Ok((Expr::Const(c), 1));
        }
        if let Some(vars) = self.vars {
            if !vars.contains(&name) {
                self.unknown.push((name.clone(), span));
            }
        }
        Ok((Expr::Var(name), 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Expr {
        parse(s, None).unwrap().expr
    }

    fn v(s: &str) -> Box<Expr> {
        Box::new(Expr::Var(s.into()))
    }

    fn n(x: f64) -> Box<Expr> {
        Box::new(Expr::Num(x))
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(
            p("-x^2"),
            Expr::Neg(Box::new(Expr::Binary(BinOp::Pow, v("x"), n(2.0))))
        );
        assert_eq!(
            p("x**y^2"),
            Expr::Binary(
                BinOp::Pow,
                v("x"),
                Box::new(Expr::Binary(BinOp::Pow, v("y"), n(2.0)))
            )
        );
        assert_eq!(
            p("x - y - 1"),
            Expr::Binary(
                BinOp::Sub,
                Box::new(Expr::Binary(BinOp::Sub, v("x"), v("y"))),
                n(1.0)
            )
        );
        assert_eq!(
            p("x^-2"),
            Expr::Binary(BinOp::Pow, v("x"), Box::new(Expr::Neg(n(2.0))))
        );
        assert_eq!(
            p("1 + 2*x"),
            Expr::Binary(
                BinOp::Add,
                n(1.0),
                Box::new(Expr::Binary(BinOp::Mul, n(2.0), v("x")))
            )
        );
    }

    #[test]
    fn numbers_constants_functions() {
        assert_eq!(p("1e-3"), Expr::Num(1e-3));
        assert_eq!(p("2.5E+2"), Expr::Num(250.0));
        assert_eq!(p(".5"), Expr::Num(0.5));
        assert_eq!(p("pi"), Expr::Const(Constant::Pi));
        assert_eq!(
            p("sigmoid(e)"),
            Expr::Call(Func::Sigmoid, Box::new(Expr::Const(Constant::E)))
        );
    }

    #[test]
    fn variables_in_natural_order_or_given_order() {
        assert_eq!(
            parse("y + x10 + x2", None).unwrap().vars,
            ["x2", "x10", "y"]
        );
        let vars = vec!["y".to_string(), "x".to_string(), "z".to_string()];
        assert_eq!(parse("x*y", Some(&vars)).unwrap().vars, vars);
    }

    fn parse_err(s: &str) -> String {
        parse(s, None).unwrap_err().to_string()
    }

    #[test]
    fn errors_point_at_the_offending_character() {
        let m = parse_err("x + * y");
        assert!(
            m.contains("expected a number, a name, `-` or `(`, found `*`"),
            "{m}"
        );
        assert!(m.ends_with("  x + * y\n      ^"), "{m}");
        let m = parse_err("(x + 1");
        assert!(m.contains("`)` to close the `(` at column 1"), "{m}");
        assert!(m.ends_with("  (x + 1\n        ^"), "{m}");
        let m = parse_err("2x");
        assert!(
            m.contains("found the name `x`") && m.ends_with("\n   ^"),
            "{m}"
        );
        let m = parse_err("1e+");
        assert!(m.contains("digits of the exponent"), "{m}");
        let m = parse_err("x $ y");
        assert!(m.contains("found the character `$`"), "{m}");
        let m = parse_err("exp + 1");
        assert!(m.contains("`(` after the function `exp`"), "{m}");
        let m = parse_err("x)");
        assert!(m.contains("no matching `(`"), "{m}");
        assert!(parse_err("").contains("found the end of the expression"));
        assert!(parse_err("1e999").contains("within the f64 range"));
    }

    #[test]
    fn unknown_names_are_listed() {
        let vars = vec!["x".to_string()];
        let e = parse("foo(x) + bar + y*bar", Some(&vars)).unwrap_err();
        let m = e.to_string();
        assert!(
            m.starts_with("unknown names: foo, bar, y; known functions: exp, log"),
            "{m}"
        );
        assert!(m.contains("variables from --vars: x"), "{m}");
        assert!(m.ends_with("  ^^^      ^^^   ^ ^^^"), "{m}");
        let m = parse_err("sinn(x)");
        assert!(m.starts_with("unknown names: sinn;"), "{m}");
    }

    #[test]
    fn bad_variable_lists() {
        let bad = |v: &[&str]| {
            let v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            parse("1", Some(&v)).unwrap_err().to_string()
        };
        assert!(bad(&["x", "x"]).contains("listed twice"));
        assert!(bad(&["exp"]).contains("built-in function or constant"));
        assert!(bad(&["1x"]).contains("is not a name"));
        assert!(bad(&[]).contains("empty"));
    }
}
