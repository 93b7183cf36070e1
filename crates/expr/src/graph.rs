//! The expression as a hash-consed DAG: every distinct subexpression is one node, so
//! repeated pieces (`(q·x)^2` and `(q·x)^3`) are computed once. Nodes are appended in
//! topological order (operands have smaller ids), so the node list *is* an evaluation tape.
//!
//! The builder folds constants and applies identities that hold for every finite input
//! (`a + 0`, `1·a`, `−(−a)`, `a − (−b) = a + b`, constant factors gathered to the front).
//! Gathering constant factors may reassociate a product, changing results by rounding only.

use std::collections::HashMap;

use crate::ast::{BinOp, Expr};
use crate::func::{Func, Scalar};

/// Index of a node in a [`Graph`].
pub type NodeId = usize;

/// One operation of the DAG.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Node {
    /// A constant.
    Const(f64),
    /// The variable with this index.
    Var(usize),
    /// `a + b`
    Add(NodeId, NodeId),
    /// `a − b`
    Sub(NodeId, NodeId),
    /// `a · b`
    Mul(NodeId, NodeId),
    /// `a / b`
    Div(NodeId, NodeId),
    /// `−a`
    Neg(NodeId),
    /// `a^n`, integer constant exponent (defined for negative `a`).
    PowI(NodeId, i32),
    /// `a^c`, non-integer constant exponent (real only for `a ≥ 0`).
    PowF(NodeId, f64),
    /// `a^b = exp(b·ln a)` with a variable exponent (real only for `a > 0`).
    Pow(NodeId, NodeId),
    /// `f(a)`
    Func(Func, NodeId),
}

impl Node {
    /// Applies the node's operation to operand values already computed in `vals`
    /// (`Var` reads `x`).
    #[inline]
    pub fn apply<T: Scalar>(&self, vals: &[T], x: &[T]) -> T {
        match *self {
            Node::Const(c) => T::from(c),
            Node::Var(i) => x[i],
            Node::Add(a, b) => vals[a] + vals[b],
            Node::Sub(a, b) => vals[a] - vals[b],
            Node::Mul(a, b) => vals[a] * vals[b],
            Node::Div(a, b) => vals[a] / vals[b],
            Node::Neg(a) => -vals[a],
            Node::PowI(a, n) => vals[a].powi(n),
            Node::PowF(a, c) => vals[a].powf(c),
            Node::Pow(a, b) => (vals[b] * vals[a].ln()).exp(),
            Node::Func(f, a) => f.eval(vals[a]),
        }
    }

    /// Operand ids (0, 1 or 2 of them).
    pub fn operands(&self) -> impl Iterator<Item = NodeId> {
        let (a, b) = match *self {
            Node::Const(_) | Node::Var(_) => (None, None),
            Node::Neg(a) | Node::PowI(a, _) | Node::PowF(a, _) | Node::Func(_, a) => {
                (Some(a), None)
            }
            Node::Add(a, b)
            | Node::Sub(a, b)
            | Node::Mul(a, b)
            | Node::Div(a, b)
            | Node::Pow(a, b) => (Some(a), Some(b)),
        };
        a.into_iter().chain(b)
    }

    /// The same operation with every operand id passed through `f` (in operand order).
    pub fn map_operands(&self, mut f: impl FnMut(NodeId) -> NodeId) -> Node {
        match *self {
            Node::Const(_) | Node::Var(_) => *self,
            Node::Add(a, b) => {
                let a = f(a);
                Node::Add(a, f(b))
            }
            Node::Sub(a, b) => {
                let a = f(a);
                Node::Sub(a, f(b))
            }
            Node::Mul(a, b) => {
                let a = f(a);
                Node::Mul(a, f(b))
            }
            Node::Div(a, b) => {
                let a = f(a);
                Node::Div(a, f(b))
            }
            Node::Pow(a, b) => {
                let a = f(a);
                Node::Pow(a, f(b))
            }
            Node::Neg(a) => Node::Neg(f(a)),
            Node::PowI(a, n) => Node::PowI(f(a), n),
            Node::PowF(a, c) => Node::PowF(f(a), c),
            Node::Func(g, a) => Node::Func(g, f(a)),
        }
    }

    /// Hash key: the variant and its fields, with floats by bit pattern.
    fn key(&self) -> (u8, usize, usize, u64) {
        match *self {
            Node::Const(c) => (0, 0, 0, c.to_bits()),
            Node::Var(i) => (1, i, 0, 0),
            Node::Add(a, b) => (2, a, b, 0),
            Node::Sub(a, b) => (3, a, b, 0),
            Node::Mul(a, b) => (4, a, b, 0),
            Node::Div(a, b) => (5, a, b, 0),
            Node::Neg(a) => (6, a, 0, 0),
            Node::PowI(a, n) => (7, a, 0, n as u64),
            Node::PowF(a, c) => (8, a, 0, c.to_bits()),
            Node::Pow(a, b) => (9, a, b, 0),
            Node::Func(f, a) => (10, a, f as usize, 0),
        }
    }
}

/// A hash-consed expression DAG over `nvars` variables.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<(u8, usize, usize, u64), NodeId>,
}

impl Graph {
    /// The nodes in topological order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Builds the DAG of `expr`; `vars` gives each variable name its index.
    /// Every name in `expr` must be in `vars` (the parser guarantees it).
    pub fn from_expr(expr: &Expr, vars: &[String]) -> (Graph, NodeId) {
        let mut g = Graph::default();
        let root = g.lower(expr, vars);
        (g, root)
    }

    fn lower(&mut self, e: &Expr, vars: &[String]) -> NodeId {
        match e {
            Expr::Num(x) => self.constant(*x),
            Expr::Const(c) => self.constant(c.value()),
            Expr::Var(name) => {
                let i = vars
                    .iter()
                    .position(|v| v == name)
                    .expect("parser admits only listed variables");
                self.var(i)
            }
            Expr::Neg(a) => {
                let a = self.lower(a, vars);
                self.neg(a)
            }
            Expr::Call(f, a) => {
                let a = self.lower(a, vars);
                self.func(*f, a)
            }
            Expr::Binary(op, a, b) => {
                let base_is_e = matches!(**a, Expr::Const(crate::ast::Constant::E));
                let a = self.lower(a, vars);
                let b = self.lower(b, vars);
                match op {
                    BinOp::Add => self.add(a, b),
                    BinOp::Sub => self.sub(a, b),
                    BinOp::Mul => self.mul(a, b),
                    BinOp::Div => self.div(a, b),
                    BinOp::Pow if base_is_e => self.func(Func::Exp, b),
                    BinOp::Pow => self.pow(a, b),
                }
            }
        }
    }

    fn push(&mut self, node: Node) -> NodeId {
        if let Some(node) = self.fold(node) {
            return self.push_raw(node);
        }
        self.push_raw(node)
    }

    fn push_raw(&mut self, node: Node) -> NodeId {
        let key = node.key();
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        self.nodes.push(node);
        let id = self.nodes.len() - 1;
        self.index.insert(key, id);
        id
    }

    /// The constant this node folds to, when all its operands are constants.
    fn fold(&self, node: Node) -> Option<Node> {
        if matches!(node, Node::Const(_) | Node::Var(_)) {
            return None;
        }
        let mut consts = Vec::with_capacity(2);
        for o in node.operands() {
            consts.push(self.as_const(o)?);
        }
        // Re-point the operands at the small `consts` table and evaluate there.
        let mut k = 0;
        let local = node.map_operands(|_| {
            k += 1;
            k - 1
        });
        Some(Node::Const(local.apply(&consts, &[])))
    }

    /// The value of a constant node.
    pub fn as_const(&self, id: NodeId) -> Option<f64> {
        match self.nodes[id] {
            Node::Const(c) => Some(c),
            _ => None,
        }
    }

    /// A constant node.
    pub fn constant(&mut self, c: f64) -> NodeId {
        self.push_raw(Node::Const(c))
    }

    /// The variable with index `i`.
    pub fn var(&mut self, i: usize) -> NodeId {
        self.push_raw(Node::Var(i))
    }

    fn is_const(&self, id: NodeId, c: f64) -> bool {
        self.as_const(id) == Some(c)
    }

    /// `a + b`
    pub fn add(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.is_const(b, 0.0) {
            return a;
        }
        if self.is_const(a, 0.0) {
            return b;
        }
        if let Node::Neg(nb) = self.nodes[b] {
            return self.sub(a, nb);
        }
        if let Node::Neg(na) = self.nodes[a] {
            return self.sub(b, na);
        }
        let (a, b) = self.commutative_order(a, b);
        self.push(Node::Add(a, b))
    }

    /// `a − b`
    pub fn sub(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.is_const(b, 0.0) {
            return a;
        }
        if self.is_const(a, 0.0) {
            return self.neg(b);
        }
        if let Node::Neg(nb) = self.nodes[b] {
            return self.add(a, nb);
        }
        self.push(Node::Sub(a, b))
    }

    /// `a · b`
    pub fn mul(&mut self, a: NodeId, b: NodeId) -> NodeId {
        let (a, b) = self.commutative_order(a, b);
        if let Some(c) = self.as_const(a) {
            if self.as_const(b).is_none() {
                if c == 1.0 {
                    return b;
                }
                if c == -1.0 {
                    return self.neg(b);
                }
                match self.nodes[b] {
                    Node::Mul(b1, b2) if self.as_const(b1).is_some() => {
                        let c = self.constant(c * self.as_const(b1).unwrap_or(1.0));
                        return self.mul(c, b2);
                    }
                    Node::Neg(nb) => {
                        let c = self.constant(-c);
                        return self.mul(c, nb);
                    }
                    _ => {}
                }
            }
        } else {
            // Gather constant factors at the front: (c·a)·b = c·(a·b).
            for (x, y) in [(a, b), (b, a)] {
                if let Node::Mul(c, x1) = self.nodes[x] {
                    if self.as_const(c).is_some() {
                        let inner = self.mul(x1, y);
                        return self.mul(c, inner);
                    }
                }
            }
        }
        self.push(Node::Mul(a, b))
    }

    /// `a / b`
    pub fn div(&mut self, a: NodeId, b: NodeId) -> NodeId {
        if self.is_const(b, 1.0) {
            return a;
        }
        self.push(Node::Div(a, b))
    }

    /// `−a`
    pub fn neg(&mut self, a: NodeId) -> NodeId {
        match self.nodes[a] {
            Node::Neg(x) => x,
            Node::Sub(x, y) => self.sub(y, x),
            Node::Mul(c, x) if self.as_const(c).is_some() => {
                let c = self.constant(-self.as_const(c).unwrap_or(1.0));
                self.mul(c, x)
            }
            _ => self.push(Node::Neg(a)),
        }
    }

    /// `a^n` for an integer constant `n`.
    pub fn powi(&mut self, a: NodeId, n: i32) -> NodeId {
        match n {
            0 => self.constant(1.0),
            1 => a,
            _ => self.push(Node::PowI(a, n)),
        }
    }

    /// `a^b`: integer constant exponents become [`Node::PowI`], other constants
    /// [`Node::PowF`], variable exponents [`Node::Pow`].
    pub fn pow(&mut self, a: NodeId, b: NodeId) -> NodeId {
        match self.as_const(b) {
            Some(c) if c.fract() == 0.0 && c.abs() <= f64::from(i32::MAX) => self.powi(a, c as i32),
            Some(c) => self.push(Node::PowF(a, c)),
            None => self.push(Node::Pow(a, b)),
        }
    }

    /// `a^c` for a constant `c`.
    pub fn powf(&mut self, a: NodeId, c: f64) -> NodeId {
        let c = self.constant(c);
        self.pow(a, c)
    }

    /// `f(a)`
    pub fn func(&mut self, f: Func, a: NodeId) -> NodeId {
        self.push(Node::Func(f, a))
    }

    /// Commutative operands in canonical order (constants first, then by id), so that
    /// `a·b` and `b·a` hash to the same node.
    fn commutative_order(&self, a: NodeId, b: NodeId) -> (NodeId, NodeId) {
        let rank = |id: NodeId| (self.as_const(id).is_none(), id);
        if rank(a) <= rank(b) {
            (a, b)
        } else {
            (b, a)
        }
    }

    /// The sub-DAG reachable from `roots`, renumbered compactly in the same order;
    /// returns it with the new ids of the roots.
    pub fn prune(&self, roots: &[NodeId]) -> (Graph, Vec<NodeId>) {
        let mut live = vec![false; self.nodes.len()];
        for &r in roots {
            live[r] = true;
        }
        for id in (0..self.nodes.len()).rev() {
            if live[id] {
                for o in self.nodes[id].operands() {
                    live[o] = true;
                }
            }
        }
        let mut map = vec![usize::MAX; self.nodes.len()];
        let mut g = Graph::default();
        for (id, node) in self.nodes.iter().enumerate() {
            if !live[id] {
                continue;
            }
            let remapped = node.map_operands(|o| map[o]);
            map[id] = g.push_raw(remapped);
        }
        let roots = roots.iter().map(|&r| map[r]).collect();
        (g, roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::parse;

    fn build(src: &str) -> (Graph, NodeId) {
        let p = parse(src, None).unwrap();
        Graph::from_expr(&p.expr, &p.vars)
    }

    #[test]
    fn shared_subexpressions_are_one_node() {
        let (g, root) = build("(x + y)^2 + (y + x)^3");
        let (g, _) = g.prune(&[root]);
        // x, y, x+y, ^2, ^3, + : six nodes.
        assert_eq!(g.nodes().len(), 6, "{:?}", g.nodes());
    }

    #[test]
    fn constants_fold_and_identities_apply() {
        let (g, root) = build("2*3 + 0*1 + x*1 - (-x)");
        let (g, r) = g.prune(&[root]);
        // 6, x, 6 + x, (6 + x) + x
        assert_eq!(
            g.nodes(),
            [
                Node::Const(6.0),
                Node::Var(0),
                Node::Add(0, 1),
                Node::Add(1, 2)
            ]
        );
        assert_eq!(r, [3]);
        let (g, root) = build("2*(3*x)");
        let (g, r) = g.prune(&[root]);
        assert_eq!(g.nodes(), [Node::Var(0), Node::Const(6.0), Node::Mul(1, 0)]);
        assert_eq!(r, [2]);
    }

    #[test]
    fn powers_pick_their_kind() {
        let (g, root) = build("x^3");
        assert!(matches!(g.nodes()[root], Node::PowI(_, 3)));
        let (g, root) = build("x^-(1/2)");
        assert!(matches!(g.nodes()[root], Node::PowF(_, c) if c == -0.5));
        let (g, root) = build("x^y");
        assert!(matches!(g.nodes()[root], Node::Pow(..)));
        let (g, root) = build("e^x");
        assert!(matches!(g.nodes()[root], Node::Func(Func::Exp, _)));
    }
}
