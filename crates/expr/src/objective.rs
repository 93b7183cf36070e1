//! [`ExprObjective`]: an expression as a [`gdscope_core::Objective`] with exact derivatives.

use gdscope_core::objective::{pair_index, Derivatives, Request};
use gdscope_core::{Block, Objective};
use num_dual::{Dual2_64, Dual64, HyperDual64};

use crate::ast::Expr;
use crate::error::ExprError;
use crate::graph::Graph;
use crate::kernel::GradientKernel;
use crate::parser::parse;
use crate::tape::Tape;

/// An analytic objective `f(x)` given as an expression of named variables.
///
/// Value and gradient come from a reverse sweep over the expression DAG in `f64`; the
/// Hessian-vector product, the third-order vector `∇(uᵀHv)` and the fused
/// [`derivatives`](Objective::derivatives) run the same sweep on `num-dual` numbers
/// (`Dual64`, `HyperDual64`, `Dual2_64`), so every derivative is exact up to rounding —
/// no finite differences (`docs/expressions.md` § Derivatives, `docs/theory.md` §4–5).
#[derive(Debug, Clone)]
pub struct ExprObjective {
    source: String,
    vars: Vec<String>,
    expr: Expr,
    graph: Graph,
    root: usize,
    tape: Tape,
}

impl ExprObjective {
    /// Parses `src`. `vars` fixes the variables and their order (each name must be listed;
    /// listed names may be absent from the expression); `None` takes the free names in
    /// natural alphabetical order (`x2` before `x10`).
    pub fn new(src: &str, vars: Option<&[String]>) -> Result<Self, ExprError> {
        let parsed = parse(src, vars)?;
        let (graph, root) = Graph::from_expr(&parsed.expr, &parsed.vars);
        let tape = Tape::new(&graph, root, parsed.vars.len());
        Ok(ExprObjective {
            source: src.to_string(),
            vars: parsed.vars,
            expr: parsed.expr,
            graph,
            root,
            tape,
        })
    }

    /// The variable names, in coordinate order.
    pub fn vars(&self) -> &[String] {
        &self.vars
    }

    /// The expression as given.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The parsed syntax tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Compiles the symbolic gradient into a batch kernel (see [`GradientKernel`]).
    pub fn gradient_kernel(&self) -> GradientKernel {
        GradientKernel::compile(&self.graph, self.root, self.vars.len())
    }

    fn check_len(&self, what: &str, len: usize) {
        assert_eq!(
            len,
            self.vars.len(),
            "{what} has length {len} but the objective has {} variables ({})",
            self.vars.len(),
            self.vars.join(", ")
        );
    }
}

impl Objective for ExprObjective {
    fn dim(&self) -> usize {
        self.vars.len()
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.check_len("x", x.len());
        self.tape.value(x)
    }

    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.check_len("x", x.len());
        self.check_len("grad", grad.len());
        self.tape.gradient(x, grad)
    }

    fn hvp(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        self.check_len("x", x.len());
        self.check_len("v", v.len());
        self.check_len("out", out.len());
        let xs: Vec<Dual64> = x.iter().zip(v).map(|(&a, &d)| Dual64::new(a, d)).collect();
        let mut g = vec![Dual64::from(0.0); x.len()];
        self.tape.gradient(&xs, &mut g);
        for (o, gi) in out.iter_mut().zip(&g) {
            *o = gi.eps;
        }
    }

    fn third_order(&self, x: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        self.check_len("x", x.len());
        self.check_len("u", u.len());
        self.check_len("v", v.len());
        self.check_len("out", out.len());
        let xs: Vec<HyperDual64> = (0..x.len())
            .map(|i| HyperDual64::new(x[i], u[i], v[i], 0.0))
            .collect();
        let mut g = vec![HyperDual64::from(0.0); x.len()];
        self.tape.gradient(&xs, &mut g);
        for (o, gi) in out.iter_mut().zip(&g) {
            *o = gi.eps1eps2;
        }
    }

    /// For each direction `uᵢ`, one reverse sweep on `Dual2_64` numbers seeded `x + t·uᵢ`
    /// gives `∇f` (value part), `H uᵢ` (first t-derivative) and `∇(uᵢᵀHuᵢ)` (second); each
    /// off-diagonal pair `i < j` takes one `HyperDual64` sweep (`ε₁ε₂` part). `k` sweeps plus
    /// `k(k−1)/2` instead of the `1 + k + k(k+1)/2` of the single-vector methods.
    fn derivatives(&self, x: &[f64], us: &Block, request: Request, out: &mut Derivatives) {
        let n = self.vars.len();
        self.check_len("x", x.len());
        self.check_len("each direction", us.nrows());
        let k = us.ncols();
        if request.value_grad {
            out.grad.resize(n, 0.0);
            out.value = self.value_grad(x, &mut out.grad);
        }
        if !(request.hvps || request.pairs) {
            return;
        }
        if request.hvps && out.hvps.shape() != (n, k) {
            out.hvps = Block::zeros(n, k);
        }
        let npairs = k * (k + 1) / 2;
        if request.pairs && out.pairs.shape() != (n, npairs) {
            out.pairs = Block::zeros(n, npairs);
        }
        let mut g2 = vec![Dual2_64::from(0.0); n];
        for i in 0..k {
            let xs: Vec<Dual2_64> = (0..n)
                .map(|r| Dual2_64::new(x[r], us[(r, i)], 0.0))
                .collect();
            self.tape.gradient(&xs, &mut g2);
            if request.hvps {
                for (o, gi) in out.hvps.column_mut(i).iter_mut().zip(&g2) {
                    *o = gi.v1;
                }
            }
            if request.pairs {
                for (o, gi) in out
                    .pairs
                    .column_mut(pair_index(i, i, k))
                    .iter_mut()
                    .zip(&g2)
                {
                    *o = gi.v2;
                }
            }
        }
        if !request.pairs {
            return;
        }
        let mut gh = vec![HyperDual64::from(0.0); n];
        for i in 0..k {
            for j in i + 1..k {
                let xs: Vec<HyperDual64> = (0..n)
                    .map(|r| HyperDual64::new(x[r], us[(r, i)], us[(r, j)], 0.0))
                    .collect();
                self.tape.gradient(&xs, &mut gh);
                for (o, gi) in out
                    .pairs
                    .column_mut(pair_index(i, j, k))
                    .iter_mut()
                    .zip(&gh)
                {
                    *o = gi.eps1eps2;
                }
            }
        }
    }
}
