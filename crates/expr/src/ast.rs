//! The syntax tree of a parsed expression, and its printer.
//!
//! [`Expr`]'s `Display` writes the fewest parentheses that re-parse to the same tree, and
//! numbers in Rust's shortest round-trip form, so `parse(e.to_string()) == e` exactly.

use std::cmp::Ordering;
use std::fmt;

use crate::func::Func;

/// A named constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constant {
    /// π
    Pi,
    /// Euler's number e
    E,
}

impl Constant {
    /// Its value.
    pub fn value(self) -> f64 {
        match self {
            Constant::Pi => std::f64::consts::PI,
            Constant::E => std::f64::consts::E,
        }
    }
    /// Its name in expressions.
    pub fn name(self) -> &'static str {
        match self {
            Constant::Pi => "pi",
            Constant::E => "e",
        }
    }
    /// The constant called `name`, if any.
    pub fn from_name(name: &str) -> Option<Constant> {
        match name {
            "pi" => Some(Constant::Pi),
            "e" => Some(Constant::E),
            _ => None,
        }
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^` or `**` (right-associative)
    Pow,
}

/// An expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A finite, non-negative number literal.
    Num(f64),
    /// `pi` or `e`.
    Const(Constant),
    /// A variable, by name.
    Var(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A function call.
    Call(Func, Box<Expr>),
}

impl Expr {
    /// Every variable name in the tree, each once, in natural order ([`natural_cmp`]).
    pub fn variables(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_vars(&mut out);
        out.sort_by(|a, b| natural_cmp(a, b));
        out.dedup();
        out
    }

    fn collect_vars(&self, out: &mut Vec<String>) {
        match self {
            Expr::Num(_) | Expr::Const(_) => {}
            Expr::Var(v) => out.push(v.clone()),
            Expr::Neg(a) | Expr::Call(_, a) => a.collect_vars(out),
            Expr::Binary(_, a, b) => {
                a.collect_vars(out);
                b.collect_vars(out);
            }
        }
    }

    /// Binding strength used by the printer: sum 1, product 2, unary minus 3, power 4, atom 5.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Binary(BinOp::Add | BinOp::Sub, ..) => 1,
            Expr::Binary(BinOp::Mul | BinOp::Div, ..) => 2,
            Expr::Neg(_) => 3,
            Expr::Binary(BinOp::Pow, ..) => 4,
            Expr::Num(_) | Expr::Const(_) | Expr::Var(_) | Expr::Call(..) => 5,
        }
    }
}

/// Writes `e`, wrapped in parentheses when it binds less tightly than `min`.
fn write_at(f: &mut fmt::Formatter<'_>, e: &Expr, min: u8) -> fmt::Result {
    if e.precedence() < min {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // `{:?}` is Rust's shortest representation that parses back to the same f64.
            Expr::Num(x) => write!(f, "{x:?}"),
            Expr::Const(c) => f.write_str(c.name()),
            Expr::Var(v) => f.write_str(v),
            Expr::Neg(a) => {
                f.write_str("-")?;
                write_at(f, a, 3)
            }
            Expr::Call(func, a) => write!(f, "{}({a})", func.name()),
            // Right-associative; the exponent may carry a unary minus (`x^-2`).
            Expr::Binary(BinOp::Pow, a, b) => {
                write_at(f, a, 5)?;
                f.write_str("^")?;
                write_at(f, b, 3)
            }
            Expr::Binary(..) => write_chain(f, self),
        }
    }
}

/// A sum or product: `a − b + c` is `((a − b) + c)`, so its terms hang off the left spine.
/// The spine is walked in a loop (long sums need no recursion); the first term is
/// parenthesized when it binds less tightly, every later one when it does not bind tighter.
fn write_chain(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
    let class = e.precedence();
    let mut later = Vec::new();
    let mut first = e;
    while let Expr::Binary(op, a, b) = first {
        if *op == BinOp::Pow || first.precedence() != class {
            break;
        }
        later.push((op, b));
        first = a;
    }
    write_at(f, first, class)?;
    for (op, b) in later.into_iter().rev() {
        f.write_str(match op {
            BinOp::Add => " + ",
            BinOp::Sub => " - ",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        })?;
        write_at(f, b, class + 1)?;
    }
    Ok(())
}

/// Natural order of names: digit runs compare as numbers, so `x2 < x10`; otherwise
/// character by character (plain alphabetical order for names without digits).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut ai, mut bi) = (a.char_indices().peekable(), b.char_indices().peekable());
    loop {
        match (ai.peek().copied(), bi.peek().copied()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some((i, ca)), Some((j, cb))) => {
                if ca.is_ascii_digit() && cb.is_ascii_digit() {
                    let ra = digit_run(a, i);
                    let rb = digit_run(b, j);
                    let na = ra.trim_start_matches('0');
                    let nb = rb.trim_start_matches('0');
                    let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                    if ord != Ordering::Equal {
                        return ord;
                    }
                    for _ in 0..ra.len() {
                        ai.next();
                    }
                    for _ in 0..rb.len() {
                        bi.next();
                    }
                } else {
                    if ca != cb {
                        return ca.cmp(&cb);
                    }
                    ai.next();
                    bi.next();
                }
            }
        }
    }
}

fn digit_run(s: &str, start: usize) -> &str {
    let end = s[start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(s.len(), |k| start + k);
    &s[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["x10", "x2", "y", "x1", "a", "x02"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a", "x1", "x02", "x2", "x10", "y"]);
    }

    #[test]
    fn printer_parenthesizes_minimally() {
        let x = || Box::new(Expr::Var("x".into()));
        let two = || Box::new(Expr::Num(2.0));
        let neg_sq = Expr::Neg(Box::new(Expr::Binary(BinOp::Pow, x(), two())));
        assert_eq!(neg_sq.to_string(), "-x^2.0");
        let sq_neg = Expr::Binary(BinOp::Pow, Box::new(Expr::Neg(x())), two());
        assert_eq!(sq_neg.to_string(), "(-x)^2.0");
        let sub = Expr::Binary(
            BinOp::Sub,
            x(),
            Box::new(Expr::Binary(BinOp::Sub, x(), two())),
        );
        assert_eq!(sub.to_string(), "x - (x - 2.0)");
        assert_eq!(Expr::Num(1e-7).to_string(), "1e-7");
    }
}
