//! The layer abstraction: one type per layer, its forward rule and its reverse jet rule side by
//! side. Adding a layer = a new file in `layers/` implementing [`Layer`] + one line in the
//! model-spec parser (docs/engine.md §"Adding a layer").

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use rand::rngs::Xoshiro256PlusPlus;

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

/// A layer's parameters as a jet: value `primal` plus one direction slice per `εᵢ`
/// (parameters are linear in ε: `p + Σ εᵢ uᵢ`). All slices are this layer's range of the
/// flat vector.
pub struct ParamJet<'a, T> {
    /// Parameter values.
    pub primal: &'a [T],
    /// Direction `i` restricted to this layer.
    pub dirs: Vec<&'a [T]>,
}

/// Where a layer writes its parameter-gradient coefficients: one `(monomial, slice)` per
/// coefficient the caller asked for (only those are computed).
pub struct ParamGrads<'a, T> {
    /// `(monomial index, this layer's range of that gradient coefficient)`.
    pub slots: Vec<(usize, &'a mut [T])>,
}

/// A differentiable layer mapping a batch `rows × in_width` to `rows × out_width`.
///
/// `forward` evaluates the layer in the jet algebra; `backward` is the reverse-mode rule
/// evaluated in the same algebra: given the cotangent jet `gy` of the output it adds the
/// requested coefficients of the parameter gradient into `grads` (overwriting) and, when `gx`
/// is given, writes the cotangent jet of the input (all algebra coefficients).
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
    /// Forward rule in the jet algebra `alg`; the result has `alg.len()` coefficients.
    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>) -> Jet<T>;
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
