//! Symbolic gradient: reverse-mode differentiation that builds the adjoint of every node as
//! new nodes of the same hash-consed [`Graph`], so the gradient expressions share work with
//! each other and with the function (as a reverse sweep does) and fold their constants.
//! Used by the batch kernel; the `num-dual` sweep in [`crate::tape`] is the reference.

use crate::func::Func;
use crate::graph::{Graph, Node, NodeId};

/// Adds `∂f/∂xᵢ` for every variable to `g` (where `f` is `root`) and returns their ids;
/// a variable `f` does not depend on gets the constant 0.
pub fn gradient(g: &mut Graph, root: NodeId, nvars: usize) -> Vec<NodeId> {
    let mut adj: Vec<Option<NodeId>> = vec![None; root + 1];
    let mut grad: Vec<Option<NodeId>> = vec![None; nvars];
    adj[root] = Some(g.constant(1.0));
    for id in (0..=root).rev() {
        let Some(w) = adj[id] else { continue };
        let node = g.nodes()[id];
        match node {
            Node::Const(_) => {}
            Node::Var(i) => accumulate(g, &mut grad[i], w, false),
            Node::Add(a, b) => {
                accumulate(g, &mut adj[a], w, false);
                accumulate(g, &mut adj[b], w, false);
            }
            Node::Sub(a, b) => {
                accumulate(g, &mut adj[a], w, false);
                accumulate(g, &mut adj[b], w, true);
            }
            Node::Mul(a, b) => {
                let wb = g.mul(w, b);
                accumulate(g, &mut adj[a], wb, false);
                let wa = g.mul(w, a);
                accumulate(g, &mut adj[b], wa, false);
            }
            Node::Div(a, b) => {
                let t = g.div(w, b);
                accumulate(g, &mut adj[a], t, false);
                let ty = g.mul(t, id);
                accumulate(g, &mut adj[b], ty, true);
            }
            Node::Neg(a) => accumulate(g, &mut adj[a], w, true),
            Node::PowI(a, n) => {
                let p = g.powi(a, n - 1);
                let c = g.constant(f64::from(n));
                let d = g.mul(c, p);
                let wd = g.mul(w, d);
                accumulate(g, &mut adj[a], wd, false);
            }
            Node::PowF(a, c) => {
                let p = g.powf(a, c - 1.0);
                let c = g.constant(c);
                let d = g.mul(c, p);
                let wd = g.mul(w, d);
                accumulate(g, &mut adj[a], wd, false);
            }
            Node::Pow(a, b) => {
                // ∂a: b·a^(b−1) = b·exp((b−1)·ln a);  ∂b: a^b·ln a.
                let ln_a = g.func(Func::Log, a);
                let one = g.constant(1.0);
                let bm1 = g.sub(b, one);
                let e = g.mul(bm1, ln_a);
                let p = g.func(Func::Exp, e);
                let da = g.mul(b, p);
                let wda = g.mul(w, da);
                accumulate(g, &mut adj[a], wda, false);
                let db = g.mul(id, ln_a);
                let wdb = g.mul(w, db);
                accumulate(g, &mut adj[b], wdb, false);
            }
            Node::Func(f, a) => {
                let d = func_derivative(g, f, a, id);
                let wd = g.mul(w, d);
                accumulate(g, &mut adj[a], wd, false);
            }
        }
    }
    grad.into_iter()
        .map(|d| d.unwrap_or_else(|| g.constant(0.0)))
        .collect()
}

/// `slot += term` (or `slot −= term` when `negate`), creating the slot on first use.
fn accumulate(g: &mut Graph, slot: &mut Option<NodeId>, term: NodeId, negate: bool) {
    *slot = Some(match (*slot, negate) {
        (None, false) => term,
        (None, true) => g.neg(term),
        (Some(s), false) => g.add(s, term),
        (Some(s), true) => g.sub(s, term),
    });
}

/// `f'(a)` as nodes, given the node `y = f(a)` (same rules as [`Func::derivative`]).
fn func_derivative(g: &mut Graph, f: Func, a: NodeId, y: NodeId) -> NodeId {
    let one = g.constant(1.0);
    match f {
        Func::Exp => y,
        Func::Log => g.div(one, a),
        Func::Sqrt => {
            let two = g.constant(2.0);
            let d = g.mul(two, y);
            g.div(one, d)
        }
        Func::Sin => g.func(Func::Cos, a),
        Func::Cos => {
            let s = g.func(Func::Sin, a);
            g.neg(s)
        }
        Func::Tan => {
            let y2 = g.powi(y, 2);
            g.add(one, y2)
        }
        Func::Tanh => {
            let y2 = g.powi(y, 2);
            g.sub(one, y2)
        }
        Func::Sinh => g.func(Func::Cosh, a),
        Func::Cosh => g.func(Func::Sinh, a),
        Func::Sigmoid => {
            let c = g.sub(one, y);
            g.mul(y, c)
        }
        Func::Softplus => g.func(Func::Sigmoid, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    #[test]
    fn paper_fig2_gradient_is_compact() {
        let p = parse("x^2 + y^2/2 + x^2*y + x^3", None).unwrap();
        let (mut g, root) = Graph::from_expr(&p.expr, &p.vars);
        let grads = gradient(&mut g, root, 2);
        let (pruned, _) = g.prune(&grads);
        let ops = pruned
            .nodes()
            .iter()
            .filter(|n| !matches!(n, Node::Const(_) | Node::Var(_)))
            .count();
        // e.g. x², 1+y, 2x, (1+y)·2x, 3x², sum, y + x²: a handful of operations.
        assert!(ops <= 8, "{ops} operations: {:?}", pruned.nodes());
    }
}
