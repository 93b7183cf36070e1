//! The state of a flow: weights `w` and the optimizer state `s = (t, b)` of the update-rule
//! contract (`gdscope_core::rules`, docs/theory.md §5): step counter / flow time `t` in steps
//! and the flat buffers `b` (empty for GD, `ν` for the RMSProp family). The flow of a rule is
//! `dw/dt = −P(s)⁻¹∇L`, `db/dt = f(b, g)`, `dt/dt = 1` ([`gdscope_core::optimizer::Flow`]).

use gdscope_core::optimizer::Rule;
use gdscope_core::rules::RuleState;
use gdscope_core::Objective;
use serde::{Deserialize, Serialize};

use crate::error::FlowError;

/// Weights and optimizer state of a flow (serializable: a checkpoint restores it bit for bit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// Weights `w`.
    pub w: Vec<f64>,
    /// Optimizer state `(t, b)`.
    pub optimizer: RuleState,
}

impl FlowState {
    /// `w0` with a fresh optimizer state (`t = 0`, zero buffers): the start of a discrete run.
    pub fn fresh(rule: &Rule, w0: &[f64]) -> Self {
        Self {
            w: w0.to_vec(),
            optimizer: rule.zero_state(w0.len()),
        }
    }

    /// `w0` with the fresh buffers primed by one discrete state update at `∇L(w₀)`: the
    /// state in effect during the first discrete step, where a flow started beside a discrete
    /// run begins (the contract of `gdscope_core::rules`, as in the reference code).
    pub fn primed(obj: &dyn Objective, rule: &Rule, w0: &[f64]) -> Result<Self, FlowError> {
        let mut state = Self::fresh(rule, w0);
        let mut grad = vec![0.0; w0.len()];
        obj.value_grad(w0, &mut grad);
        rule.flow()?
            .rule()
            .update_state(&mut state.optimizer.buffers, &grad);
        Ok(state)
    }

    /// Forward Euler: `w += dt·dw/dt`, `b += dt·db/dt`, `t += dt`. Errors if the result is
    /// not finite.
    pub fn advance(&mut self, dw_dt: &[f64], db_dt: &[f64], dt: f64) -> Result<(), FlowError> {
        self.w.iter_mut().zip(dw_dt).for_each(|(w, v)| *w += dt * v);
        let b = &mut self.optimizer.buffers;
        b.iter_mut().zip(db_dt).for_each(|(b, v)| *b += dt * v);
        self.optimizer.t += dt;
        if self.w.iter().chain(b.iter()).all(|v| v.is_finite()) {
            Ok(())
        } else {
            Err(FlowError::Diverged {
                t: self.optimizer.t,
            })
        }
    }
}
