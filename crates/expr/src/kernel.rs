//! The batch gradient kernel: `∇f` at many points at once, for basin maps and sweeps.
//!
//! Design (`docs/expressions.md` § Batch gradient kernel): the symbolic gradient
//! ([`crate::symbolic`]) of the hash-consed DAG is pruned to the nodes the gradient needs
//! and compiled to a flat list of instructions. Each instruction works on a whole chunk of
//! `m` points stored structure-of-arrays (one contiguous `[f64; m]` lane buffer per value)
//! as one tight loop, which the compiler vectorizes. Lane buffers are reused as soon as a
//! value is dead, so a chunk of a few hundred points keeps its working set in L1 cache.

use crate::func::Func;
use crate::graph::{Graph, Node, NodeId};
use crate::symbolic;

/// Where an instruction reads a lane buffer from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Src {
    /// The coordinates of input variable `i`.
    Input(usize),
    /// Scratch buffer `k`.
    Slot(usize),
    /// Gradient output `i` (already written by an earlier instruction).
    Grad(usize),
}

/// Where an instruction writes: a scratch buffer, or directly a gradient output.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Dst {
    Slot(usize),
    Grad(usize),
}

/// One lane-wise operation (`c` a constant, `a`, `b` lane buffers).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Fill(f64),
    Add(Src, Src),
    Sub(Src, Src),
    Mul(Src, Src),
    Div(Src, Src),
    /// `a + c`
    AddC(Src, f64),
    /// `c · a`
    MulC(Src, f64),
    /// `c − a`
    SubFromC(f64, Src),
    /// `a / c`
    DivC(Src, f64),
    /// `c / a`
    CDiv(f64, Src),
    Neg(Src),
    Square(Src),
    PowI(Src, i32),
    PowF(Src, f64),
    /// `a^b = exp(b·ln a)`
    Pow(Src, Src),
    Func(Func, Src),
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Instr {
    op: Op,
    out: Dst,
}

/// How one gradient component is produced after the instructions ran.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Output {
    Const(f64),
    Copy(Src),
}

/// A compiled gradient `x ↦ ∇f(x)` evaluated over chunks of points (see module docs).
/// Build it with [`crate::ExprObjective::gradient_kernel`].
#[derive(Debug, Clone)]
pub struct GradientKernel {
    instrs: Vec<Instr>,
    outputs: Vec<Output>,
    nslots: usize,
}

/// Reusable lane buffers for [`GradientKernel::eval_grad_batch`]; one per thread.
#[derive(Debug, Clone)]
pub struct KernelScratch {
    slots: Vec<Vec<f64>>,
}

impl KernelScratch {
    /// Buffers for chunks of up to `m` points (larger chunks grow them on first use).
    pub fn new(kernel: &GradientKernel, m: usize) -> Self {
        KernelScratch {
            slots: vec![vec![0.0; m]; kernel.nslots],
        }
    }
}

/// Lane operand of a node while compiling: a constant is kept as a scalar until an
/// instruction needs it as a lane buffer.
#[derive(Debug, Clone, Copy)]
enum Val {
    Const(f64),
    Lanes(Src),
}

struct Compiler {
    instrs: Vec<Instr>,
    free: Vec<usize>,
    nslots: usize,
}

impl Compiler {
    fn alloc(&mut self) -> usize {
        self.free.pop().unwrap_or_else(|| {
            self.nslots += 1;
            self.nslots - 1
        })
    }

    /// `v` as a lane buffer, filling a fresh slot for a constant.
    fn lanes(&mut self, v: Val) -> Src {
        match v {
            Val::Lanes(s) => s,
            Val::Const(c) => {
                let out = self.alloc();
                self.instrs.push(Instr {
                    op: Op::Fill(c),
                    out: Dst::Slot(out),
                });
                Src::Slot(out)
            }
        }
    }
}

impl GradientKernel {
    /// Compiles `∇f` for `f = root` of `graph` over `nvars` variables.
    pub(crate) fn compile(graph: &Graph, root: NodeId, nvars: usize) -> GradientKernel {
        let mut g = graph.clone();
        let grads = symbolic::gradient(&mut g, root, nvars);
        let (g, grads) = g.prune(&grads);
        let nodes = g.nodes();

        // Last node (in evaluation order) reading each node; outputs live to the end.
        let mut last_use = vec![0usize; nodes.len()];
        for (id, node) in nodes.iter().enumerate() {
            for o in node.operands() {
                last_use[o] = id;
            }
        }
        for &o in &grads {
            last_use[o] = usize::MAX;
        }
        // A computed gradient component is written straight into the caller's output
        // buffer (the first variable whose gradient it is; others copy it at the end).
        let mut writes_grad: Vec<Option<usize>> = vec![None; nodes.len()];
        for (i, &o) in grads.iter().enumerate().rev() {
            writes_grad[o] = Some(i);
        }

        let mut c = Compiler {
            instrs: Vec::new(),
            free: Vec::new(),
            nslots: 0,
        };
        let mut vals: Vec<Val> = Vec::with_capacity(nodes.len());
        // Slots filled for constants, freed with the constant's last use.
        let mut const_slots: Vec<Option<Src>> = vec![None; nodes.len()];
        for (id, node) in nodes.iter().enumerate() {
            let val = match *node {
                Node::Const(x) => Val::Const(x),
                Node::Var(i) => Val::Lanes(Src::Input(i)),
                _ => {
                    let mut lane = |c: &mut Compiler, o: NodeId| match vals[o] {
                        Val::Lanes(s) => s,
                        Val::Const(_) => *const_slots[o].get_or_insert_with(|| c.lanes(vals[o])),
                    };
                    let op = match *node {
                        Node::Add(a, b) => match (vals[a], vals[b]) {
                            (Val::Const(k), Val::Lanes(s)) | (Val::Lanes(s), Val::Const(k)) => {
                                Op::AddC(s, k)
                            }
                            _ => Op::Add(lane(&mut c, a), lane(&mut c, b)),
                        },
                        Node::Mul(a, b) => match (vals[a], vals[b]) {
                            (Val::Const(k), Val::Lanes(s)) | (Val::Lanes(s), Val::Const(k)) => {
                                Op::MulC(s, k)
                            }
                            _ if a == b => Op::Square(lane(&mut c, a)),
                            _ => Op::Mul(lane(&mut c, a), lane(&mut c, b)),
                        },
                        Node::Sub(a, b) => match (vals[a], vals[b]) {
                            (Val::Lanes(s), Val::Const(k)) => Op::AddC(s, -k),
                            (Val::Const(k), Val::Lanes(s)) => Op::SubFromC(k, s),
                            _ => Op::Sub(lane(&mut c, a), lane(&mut c, b)),
                        },
                        Node::Div(a, b) => match (vals[a], vals[b]) {
                            (Val::Lanes(s), Val::Const(k)) => Op::DivC(s, k),
                            (Val::Const(k), Val::Lanes(s)) => Op::CDiv(k, s),
                            _ => Op::Div(lane(&mut c, a), lane(&mut c, b)),
                        },
                        Node::Neg(a) => Op::Neg(lane(&mut c, a)),
                        Node::PowI(a, 2) => Op::Square(lane(&mut c, a)),
                        Node::PowI(a, n) => Op::PowI(lane(&mut c, a), n),
                        Node::PowF(a, k) => Op::PowF(lane(&mut c, a), k),
                        Node::Pow(a, b) => Op::Pow(lane(&mut c, a), lane(&mut c, b)),
                        Node::Func(f, a) => Op::Func(f, lane(&mut c, a)),
                        Node::Const(_) | Node::Var(_) => unreachable!("handled above"),
                    };
                    let (out, src) = match writes_grad[id] {
                        Some(i) => (Dst::Grad(i), Src::Grad(i)),
                        None => {
                            let k = c.alloc();
                            (Dst::Slot(k), Src::Slot(k))
                        }
                    };
                    c.instrs.push(Instr { op, out });
                    Val::Lanes(src)
                }
            };
            vals.push(val);
            // Release operands whose last reader is this node.
            for o in node.operands() {
                if last_use[o] == id {
                    let slot = match (vals[o], const_slots[o]) {
                        (Val::Lanes(Src::Slot(k)), _) | (Val::Const(_), Some(Src::Slot(k))) => {
                            Some(k)
                        }
                        _ => None,
                    };
                    if let Some(k) = slot {
                        if !c.free.contains(&k) {
                            c.free.push(k);
                        }
                    }
                }
            }
        }
        let outputs = grads
            .iter()
            .map(|&o| match vals[o] {
                Val::Const(k) => Output::Const(k),
                Val::Lanes(s) => Output::Copy(s),
            })
            .collect();
        GradientKernel {
            instrs: c.instrs,
            outputs,
            nslots: c.nslots,
        }
    }

    /// Number of variables (gradient components).
    pub fn nvars(&self) -> usize {
        self.outputs.len()
    }

    /// Number of lane-wise instructions per evaluation (a cost measure).
    pub fn num_instructions(&self) -> usize {
        self.instrs.len()
    }

    /// Writes `∇f` at `m` points: `grads[i][p] = ∂f/∂xᵢ` at the point whose coordinates
    /// are `xs[0][p], xs[1][p], …`. Both have [`nvars`](Self::nvars) slices of one common
    /// length `m` (any `m`; a few hundred keeps everything in L1 cache).
    ///
    /// # Panics
    /// If `xs` or `grads` does not hold `nvars` slices, or the slices differ in length
    /// (a caller bug, not a data condition).
    pub fn eval_grad_batch(
        &self,
        xs: &[&[f64]],
        grads: &mut [&mut [f64]],
        scratch: &mut KernelScratch,
    ) {
        let n = self.nvars();
        assert_eq!(xs.len(), n, "xs must hold one slice per variable ({n})");
        assert_eq!(
            grads.len(),
            n,
            "grads must hold one slice per variable ({n})"
        );
        let m = xs.first().map_or(0, |x| x.len());
        assert!(
            xs.iter().all(|x| x.len() == m) && grads.iter().all(|g| g.len() == m),
            "every slice of xs and grads must have the same length"
        );
        if scratch.slots.len() < self.nslots {
            scratch.slots.resize(self.nslots, Vec::new());
        }
        for s in &mut scratch.slots[..self.nslots] {
            if s.len() < m {
                s.resize(m, 0.0);
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                return unsafe { self.exec_avx512(xs, grads, &mut scratch.slots, m) };
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.exec_avx2(xs, grads, &mut scratch.slots, m) };
            }
        }
        self.exec(xs, grads, &mut scratch.slots, m);
    }

    /// [`exec`](Self::exec) compiled for AVX-512 (eight f64 lanes per vector).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn exec_avx512(
        &self,
        xs: &[&[f64]],
        grads: &mut [&mut [f64]],
        slots: &mut [Vec<f64>],
        m: usize,
    ) {
        self.exec(xs, grads, slots, m);
    }

    /// [`exec`](Self::exec) compiled for AVX2 (four f64 lanes per vector).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn exec_avx2(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], slots: &mut [Vec<f64>], m: usize) {
        self.exec(xs, grads, slots, m);
    }

    /// Runs the instructions, then fills constant and copied outputs. Inlined into the
    /// SIMD-specific entry points so each gets its own vectorized loops. No fused
    /// multiply-add is formed, so every path rounds identically.
    #[inline(always)]
    fn exec(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], slots: &mut [Vec<f64>], m: usize) {
        for instr in &self.instrs {
            match instr.out {
                Dst::Slot(k) => {
                    let mut out = std::mem::take(&mut slots[k]);
                    run(instr.op, &mut out[..m], xs, slots, grads, m);
                    slots[k] = out;
                }
                Dst::Grad(i) => {
                    let out = std::mem::take(&mut grads[i]);
                    run(instr.op, &mut out[..m], xs, slots, grads, m);
                    grads[i] = out;
                }
            }
        }
        for (i, out) in self.outputs.iter().enumerate() {
            match *out {
                Output::Const(k) => grads[i].fill(k),
                Output::Copy(Src::Grad(j)) if j == i => {}
                Output::Copy(s) => {
                    let g = std::mem::take(&mut grads[i]);
                    g.copy_from_slice(lanes(s, xs, slots, grads, m));
                    grads[i] = g;
                }
            }
        }
    }
}

#[inline(always)]
fn lanes<'a>(
    s: Src,
    xs: &[&'a [f64]],
    slots: &'a [Vec<f64>],
    grads: &'a [&mut [f64]],
    m: usize,
) -> &'a [f64] {
    match s {
        Src::Input(i) => &xs[i][..m],
        Src::Slot(k) => &slots[k][..m],
        Src::Grad(i) => &grads[i][..m],
    }
}

#[inline(always)]
fn map1(o: &mut [f64], a: &[f64], f: impl Fn(f64) -> f64) {
    for (o, &a) in o.iter_mut().zip(a) {
        *o = f(a);
    }
}

#[inline(always)]
fn map2(o: &mut [f64], a: &[f64], b: &[f64], f: impl Fn(f64, f64) -> f64) {
    for ((o, &a), &b) in o.iter_mut().zip(a).zip(b) {
        *o = f(a, b);
    }
}

/// Executes one instruction over `m` lanes into `o`.
#[inline(always)]
fn run(op: Op, o: &mut [f64], xs: &[&[f64]], slots: &[Vec<f64>], grads: &[&mut [f64]], m: usize) {
    let l = |s: Src| lanes(s, xs, slots, grads, m);
    match op {
        Op::Fill(c) => o.fill(c),
        Op::Add(a, b) => map2(o, l(a), l(b), |a, b| a + b),
        Op::Sub(a, b) => map2(o, l(a), l(b), |a, b| a - b),
        Op::Mul(a, b) => map2(o, l(a), l(b), |a, b| a * b),
        Op::Div(a, b) => map2(o, l(a), l(b), |a, b| a / b),
        Op::AddC(a, c) => map1(o, l(a), |a| a + c),
        Op::MulC(a, c) => map1(o, l(a), |a| c * a),
        Op::SubFromC(c, a) => map1(o, l(a), |a| c - a),
        Op::DivC(a, c) => map1(o, l(a), |a| a / c),
        Op::CDiv(c, a) => map1(o, l(a), |a| c / a),
        Op::Neg(a) => map1(o, l(a), |a| -a),
        Op::Square(a) => map1(o, l(a), |a| a * a),
        Op::PowI(a, n) => map1(o, l(a), |a| a.powi(n)),
        Op::PowF(a, c) => map1(o, l(a), |a| a.powf(c)),
        Op::Pow(a, b) => map2(o, l(a), l(b), |a, b| (b * a.ln()).exp()),
        Op::Func(f, a) => map1(o, l(a), |a| f.eval(a)),
    }
}
