//! What a flow needs from an optimizer written as preconditioned GD (docs/theory.md §5):
//! `w ← w − P(s)⁻¹ g` with a diagonal `P` and a state `s = (t, b)` (step counter and flat
//! buffers) whose discrete update `b ← U(b, g)` is matched by an ODE `db/dt = f(b, g)`.
//!
//! This is the flow half of the update-rule contract of `gdscope_core::rules` (being added
//! by the process layer); [`Dynamics`] states exactly the five operations the flows use, so
//! that it can be implemented by (or replaced with) that contract without touching the flow
//! code. [`Gd`] is gradient descent: `P = 1/η`, no buffers.

use serde::{Deserialize, Serialize};

/// An optimizer state `s = (t, b)` together with the weights it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// Weights `w`.
    pub w: Vec<f64>,
    /// Step counter / flow time `t` (in steps).
    pub t: f64,
    /// State buffers `b` (empty for GD).
    pub buffers: Vec<f64>,
}

/// The flow operations of a preconditioned-GD optimizer.
pub trait Dynamics: Send + Sync {
    /// Length of the buffers for `n` parameters.
    fn buffers_len(&self, n: usize) -> usize;

    /// `P(s)` in flow units (`dw/dt = −P⁻¹∇L`; GD `1/η`), one entry per parameter, into `p`.
    /// Every entry must come out finite and positive.
    fn preconditioner(&self, t: f64, buffers: &[f64], p: &mut [f64]);

    /// The discrete state update `b ← U(b, g)` (primes a flow from a discrete state).
    fn update_state(&self, buffers: &mut [f64], grad: &[f64]);

    /// The state ODE `db/dt = f(b, g)` into `out`.
    fn state_derivative(&self, buffers: &[f64], grad: &[f64], out: &mut [f64]);

    /// `½ ∇²_g f(b, g)[a, c]` into `out`.
    fn state_curvature(&self, buffers: &[f64], a: &[f64], c: &[f64], out: &mut [f64]);

    /// `d/dτ uᵀ P(s(τ)) v` along `ds/dτ = (1, direction)`; `p` holds `P(s)`.
    fn preconditioner_derivative(
        &self,
        t: f64,
        buffers: &[f64],
        p: &[f64],
        u: &[f64],
        v: &[f64],
        direction: &[f64],
    ) -> f64;
}

/// Gradient descent with a constant learning rate: `P = 1/η`, no state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gd {
    /// Learning rate `η` (finite, > 0).
    pub lr: f64,
}

impl Dynamics for Gd {
    fn buffers_len(&self, _n: usize) -> usize {
        0
    }
    fn preconditioner(&self, _t: f64, _buffers: &[f64], p: &mut [f64]) {
        p.fill(1.0 / self.lr);
    }
    fn update_state(&self, _buffers: &mut [f64], _grad: &[f64]) {}
    fn state_derivative(&self, _buffers: &[f64], _grad: &[f64], _out: &mut [f64]) {}
    fn state_curvature(&self, _buffers: &[f64], _a: &[f64], _c: &[f64], _out: &mut [f64]) {}
    fn preconditioner_derivative(
        &self,
        _t: f64,
        _buffers: &[f64],
        _p: &[f64],
        _u: &[f64],
        _v: &[f64],
        _direction: &[f64],
    ) -> f64 {
        0.0
    }
}
