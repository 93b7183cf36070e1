//! The layer abstraction: one type per layer, its forward rule and its reverse jet rule side by
//! side. Adding a layer = a new file in `layers/` implementing [`Layer`] + one line in the
//! model-spec parser (docs/engine.md §"Adding a layer").

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use rand::rngs::Xoshiro256PlusPlus;
use std::ops::Range;

/// Weight initialization schemes (biases are always zero). `fan_in`, `fan_out` are the
/// weight's input and output widths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// LeCun normal: `N(0, 1/fan_in)` (JAX `lecun_normal` without truncation, `jaxmlp.py`).
    LeCun,
    /// He (Kaiming) normal: `N(0, 2/fan_in)`.
    He,
    /// Xavier (Glorot) normal: `N(0, 2/(fan_in + fan_out))`.
    Xavier,
}

impl Init {
    /// Standard deviation of the weight entries.
    pub fn std(self, fan_in: usize, fan_out: usize) -> f64 {
        match self {
            Init::LeCun => (1.0 / fan_in as f64).sqrt(),
            Init::He => (2.0 / fan_in as f64).sqrt(),
            Init::Xavier => (2.0 / (fan_in + fan_out) as f64).sqrt(),
        }
    }
}

/// A named parameter tensor of a layer (a view into the flat parameter vector).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamShape {
    /// `"weight"`, `"bias"`, ….
    pub name: &'static str,
    /// Shape, row-major.
    pub shape: Vec<usize>,
}

impl ParamShape {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True for a zero-sized tensor.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A layer's parameters as a jet: value `primal` plus one direction per `εᵢ` (parameters are
/// linear in ε: `p + Σ εᵢ uᵢ`), each restricted to this layer's range of the flat vector.
///
/// The directions are stored back to back (direction `i` of the whole model at
/// `dirs[i·stride ..]`), so narrowing to a layer or a child layer is a change of range, not a
/// new allocation.
pub struct ParamJet<'a, T> {
    primal: &'a [T],
    dirs: &'a [T],
    stride: usize,
    range: Range<usize>,
}

impl<'a, T> ParamJet<'a, T> {
    /// Parameters `primal` (length `P`) with `dirs.len() / P` directions stored back to back.
    pub fn new(primal: &'a [T], dirs: &'a [T]) -> Self {
        let stride = primal.len();
        assert!(
            stride == 0 || dirs.len() % stride == 0,
            "directions must be whole multiples of the parameter count"
        );
        Self {
            primal,
            dirs,
            stride,
            range: 0..stride,
        }
    }

    /// The same jet restricted to `range`, relative to the current range.
    pub fn sub(&self, range: Range<usize>) -> Self {
        debug_assert!(range.end <= self.range.len());
        Self {
            primal: self.primal,
            dirs: self.dirs,
            stride: self.stride,
            range: self.range.start + range.start..self.range.start + range.end,
        }
    }

    /// Parameter values.
    pub fn primal(&self) -> &'a [T] {
        &self.primal[self.range.clone()]
    }

    /// Number of directions `K`.
    pub fn num_dirs(&self) -> usize {
        self.dirs.len().checked_div(self.stride).unwrap_or(0)
    }

    /// Direction `i`, restricted to this range.
    pub fn dir(&self, i: usize) -> &'a [T] {
        let base = i * self.stride;
        &self.dirs[base + self.range.start..base + self.range.end]
    }

    /// The directions in order.
    pub fn dirs(&self) -> impl Iterator<Item = &'a [T]> + '_ {
        (0..self.num_dirs()).map(|i| self.dir(i))
    }
}

/// Where a layer writes its parameter-gradient coefficients: one slot per coefficient the
/// caller asked for (only those are computed), slot `s` holding monomial `monomial(s)`.
///
/// The slots are full-length gradient buffers stored back to back; a layer sees its own range,
/// a container narrows it further with [`sub`](Self::sub) — no allocation either way.
pub struct ParamGrads<'a, T> {
    want: &'a [usize],
    bufs: &'a mut [T],
    stride: usize,
    range: Range<usize>,
}

impl<'a, T> ParamGrads<'a, T> {
    /// `want.len()` gradient buffers of length `bufs.len() / want.len()` stored back to back.
    pub fn new(want: &'a [usize], bufs: &'a mut [T]) -> Self {
        let stride = if want.is_empty() {
            0
        } else {
            bufs.len() / want.len()
        };
        assert_eq!(stride * want.len(), bufs.len(), "one buffer per slot");
        Self {
            want,
            bufs,
            stride,
            range: 0..stride,
        }
    }

    /// Number of slots.
    pub fn len(&self) -> usize {
        self.want.len()
    }

    /// True when no coefficient is wanted.
    pub fn is_empty(&self) -> bool {
        self.want.is_empty()
    }

    /// The requested monomials in slot order.
    pub fn monomials(&self) -> &'a [usize] {
        self.want
    }

    /// Slot `s`: its monomial and this range of its buffer.
    pub fn slot(&mut self, s: usize) -> (usize, &mut [T]) {
        let base = s * self.stride;
        (
            self.want[s],
            &mut self.bufs[base + self.range.start..base + self.range.end],
        )
    }

    /// The slots restricted to `range`, relative to the current range.
    pub fn sub(&mut self, range: Range<usize>) -> ParamGrads<'_, T> {
        debug_assert!(range.end <= self.range.len());
        ParamGrads {
            want: self.want,
            bufs: &mut *self.bufs,
            stride: self.stride,
            range: self.range.start + range.start..self.range.start + range.end,
        }
    }
}

/// A differentiable layer mapping a batch `rows × in_width` to `rows × out_width`.
///
/// `forward` evaluates the layer in the jet algebra; `backward` is the reverse-mode rule
/// evaluated in the same algebra: given the cotangent jet `gy` of the output it writes the
/// requested coefficients of the parameter gradient into `grads` (overwriting) and, when `gx`
/// is given, writes the cotangent jet of the input (all algebra coefficients).
///
/// Output buffers come from the caller's workspace (docs/engine.md §"Workspaces"): `y` and
/// `gx` arrive with the right shape but **unspecified contents**, and the layer must write
/// every element of them.
pub trait Layer<T: Float>: Send + Sync {
    /// Human-readable description, e.g. `linear(20→64)`.
    fn describe(&self) -> String;
    /// Input features per example.
    fn in_width(&self) -> usize;
    /// Output features per example.
    fn out_width(&self) -> usize;
    /// Parameter tensors in flat-vector order (empty for parameter-free layers).
    fn param_shapes(&self) -> Vec<ParamShape>;
    /// Fills this layer's parameters (`out`, length = total of `param_shapes`).
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]);
    /// Forward rule in the jet algebra `alg`: writes all `alg.len()` coefficients of the output
    /// into `y` (shaped `alg.len() × x.rows × out_width`, contents unspecified).
    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>);
    /// Reverse rule in the jet algebra (see the trait docs). `y` is this layer's forward output.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        alg: &Algebra,
        p: &ParamJet<'_, T>,
        x: JetRef<'_, T>,
        y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        grads: &mut ParamGrads<'_, T>,
    );
}
