//! Evaluation of an expression DAG on any `num-dual` scalar: a forward sweep for the value
//! and a reverse (adjoint) sweep for the gradient.
//!
//! Running the reverse sweep on dual numbers gives every higher derivative exactly
//! (forward-over-reverse, `docs/expressions.md` § Derivatives): seed `xᵢ + vᵢ ε` with
//! `Dual64` and the ε-part of the gradient is `H v`; seed `xᵢ + uᵢ ε₁ + vᵢ ε₂` with
//! `HyperDual64` and the ε₁ε₂-part is `∇(uᵀ H v)`; seed `xᵢ + uᵢ t` with `Dual2_64` and the
//! three parts are `∇f`, `H u`, `∇(uᵀ H u)`. Each costs a small constant times one value.

use crate::func::Scalar;
use crate::graph::{Graph, Node, NodeId};

/// A pruned DAG with one output, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Tape {
    nodes: Vec<Node>,
    root: NodeId,
    nvars: usize,
}

impl Tape {
    /// The tape of `root` in `graph`, over `nvars` variables.
    pub fn new(graph: &Graph, root: NodeId, nvars: usize) -> Tape {
        let (g, roots) = graph.prune(&[root]);
        Tape {
            nodes: g.nodes().to_vec(),
            root: roots[0],
            nvars,
        }
    }

    /// Number of variables.
    pub fn nvars(&self) -> usize {
        self.nvars
    }

    /// The nodes in evaluation order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Forward sweep: fills `vals` with every node's value and returns `f(x)`.
    pub fn forward<T: Scalar>(&self, x: &[T], vals: &mut Vec<T>) -> T {
        vals.clear();
        for node in &self.nodes {
            let v = node.apply(vals, x);
            vals.push(v);
        }
        vals[self.root]
    }

    /// `f(x)` alone.
    pub fn value<T: Scalar>(&self, x: &[T]) -> T {
        let mut vals = Vec::with_capacity(self.nodes.len());
        self.forward(x, &mut vals)
    }

    /// Returns `f(x)` and writes `∇f(x)` into `grad` (length [`nvars`](Self::nvars)).
    pub fn gradient<T: Scalar>(&self, x: &[T], grad: &mut [T]) -> T {
        let mut vals = Vec::with_capacity(self.nodes.len());
        let value = self.forward(x, &mut vals);
        let mut adj = vec![T::zero(); self.nodes.len()];
        adj[self.root] = T::one();
        grad.fill(T::zero());
        for id in (0..=self.root).rev() {
            let w = adj[id];
            let y = vals[id];
            match self.nodes[id] {
                Node::Const(_) => {}
                Node::Var(i) => grad[i] += w,
                Node::Add(a, b) => {
                    adj[a] += w;
                    adj[b] += w;
                }
                Node::Sub(a, b) => {
                    adj[a] += w;
                    adj[b] -= w;
                }
                Node::Mul(a, b) => {
                    adj[a] += w * vals[b];
                    adj[b] += w * vals[a];
                }
                Node::Div(a, b) => {
                    let t = w / vals[b];
                    adj[a] += t;
                    adj[b] -= t * y;
                }
                Node::Neg(a) => adj[a] -= w,
                Node::PowI(a, n) => adj[a] += w * vals[a].powi(n - 1) * f64::from(n),
                Node::PowF(a, c) => adj[a] += w * vals[a].powf(c - 1.0) * c,
                Node::Pow(a, b) => {
                    let ln_a = vals[a].ln();
                    adj[a] += w * vals[b] * ((vals[b] - 1.0) * ln_a).exp();
                    adj[b] += w * y * ln_a;
                }
                Node::Func(f, a) => adj[a] += w * f.derivative(vals[a], y),
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;
    use num_dual::{Dual2_64, Dual64, HyperDual64};

    fn tape(src: &str) -> Tape {
        let p = parse(src, None).unwrap();
        let (g, root) = Graph::from_expr(&p.expr, &p.vars);
        Tape::new(&g, root, p.vars.len())
    }

    #[test]
    fn gradient_of_paper_fig2_matches_closed_form() {
        let t = tape("x^2 + y^2/2 + x^2*y + x^3");
        let (x, y) = (0.3f64, -0.7f64);
        let mut g = [0.0; 2];
        let f = t.gradient(&[x, y], &mut g);
        assert!((f - (x * x + y * y / 2.0 + x * x * y + x * x * x)).abs() < 1e-15);
        assert!((g[0] - (2.0 * x + 2.0 * x * y + 3.0 * x * x)).abs() < 1e-15);
        assert!((g[1] - (y + x * x)).abs() < 1e-15);
    }

    #[test]
    fn dual_seeds_give_hvp_and_third_order() {
        // f = x^2 y + sin(x y): Hessian and third derivatives in closed form.
        let t = tape("x^2*y + sin(x*y)");
        let (x, y) = (0.4f64, 1.3f64);
        let (u, v) = ([0.7, -0.2], [0.1, 0.5]);
        let s = (x * y).sin();
        let c = (x * y).cos();
        let h = [
            [2.0 * y - y * y * s, 2.0 * x + c - x * y * s],
            [2.0 * x + c - x * y * s, -x * x * s],
        ];
        // ∂³f: f_xxx = -y³c, f_xxy = 2 - 2ys - xy²c, f_xyy = -2xs - x²yc, f_yyy = -x³c.
        let t3 = [
            [
                [-y * y * y * c, 2.0 - 2.0 * y * s - x * y * y * c],
                [
                    2.0 - 2.0 * y * s - x * y * y * c,
                    -2.0 * x * s - x * x * y * c,
                ],
            ],
            [
                [
                    2.0 - 2.0 * y * s - x * y * y * c,
                    -2.0 * x * s - x * x * y * c,
                ],
                [-2.0 * x * s - x * x * y * c, -x * x * x * c],
            ],
        ];
        let xs = [Dual64::new(x, v[0]), Dual64::new(y, v[1])];
        let mut g = [Dual64::from(0.0); 2];
        t.gradient(&xs, &mut g);
        let xs3 = [
            HyperDual64::new(x, u[0], v[0], 0.0),
            HyperDual64::new(y, u[1], v[1], 0.0),
        ];
        let mut g3 = [HyperDual64::from(0.0); 2];
        t.gradient(&xs3, &mut g3);
        let xs2 = [Dual2_64::new(x, u[0], 0.0), Dual2_64::new(y, u[1], 0.0)];
        let mut g2 = [Dual2_64::from(0.0); 2];
        t.gradient(&xs2, &mut g2);
        for i in 0..2 {
            let hv = h[i][0] * v[0] + h[i][1] * v[1];
            let hu = h[i][0] * u[0] + h[i][1] * u[1];
            let uhv: f64 = (0..2)
                .flat_map(|j| (0..2).map(move |k| (j, k)))
                .map(|(j, k)| t3[i][j][k] * u[j] * v[k])
                .sum();
            let uhu: f64 = (0..2)
                .flat_map(|j| (0..2).map(move |k| (j, k)))
                .map(|(j, k)| t3[i][j][k] * u[j] * u[k])
                .sum();
            assert!((g[i].eps - hv).abs() < 1e-14);
            assert!((g3[i].eps1eps2 - uhv).abs() < 1e-14);
            assert!((g2[i].v1 - hu).abs() < 1e-14);
            assert!((g2[i].v2 - uhu).abs() < 1e-14);
        }
    }
}
