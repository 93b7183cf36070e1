//! The run precision of a process (docs/ARCHITECTURE.md "Run precision"): what an `f32`
//! process hands out when a caller asks for `f64`, and the typed views observers read
//! without converting.
//!
//! A process in `f32` keeps its weights, gradient, update and optimizer buffers in `f32`.
//! Observers that can read them typed ([`Point`], [`State`], [`Process::values`] …) do; the
//! `f64` accessors ([`Process::point`], [`Process::grad`], …) stay available to every other
//! caller and widen on the first request after each change ([`Widened`]): a conversion
//! happens only when, and as often as, a caller asks for `f64`.
//!
//! [`Process::values`]: crate::process::Process::values
//! [`Process::point`]: crate::process::Process::point
//! [`Process::grad`]: crate::process::Process::grad

use std::sync::{Mutex, OnceLock};

use gdscope_core::optimizer::RuleState;
use gdscope_core::Values;

/// A widened (`f64`) copy of an `f32` quantity, made on the first request after each
/// [`invalidate`](Self::invalidate) and kept until the next; its buffer is reused, so
/// repeated requests allocate nothing in steady state.
#[derive(Debug, Default)]
pub struct Widened<T> {
    cell: OnceLock<T>,
    spare: Mutex<T>,
}

impl<T: Default> Widened<T> {
    /// The widened value, filled by `fill` (into a reused buffer) if not yet made.
    pub(crate) fn get(&self, fill: impl FnOnce(&mut T)) -> &T {
        self.cell.get_or_init(|| {
            let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
            let mut value = std::mem::take(&mut *spare);
            fill(&mut value);
            value
        })
    }

    /// Forgets the copy (the source changed); its buffer is kept for the next one.
    pub(crate) fn invalidate(&mut self) {
        if let Some(value) = self.cell.take() {
            *self.spare.get_mut().unwrap_or_else(|e| e.into_inner()) = value;
        }
    }
}

/// A fresh, empty view (a clone of a process widens again on request).
impl<T: Default> Clone for Widened<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// `out ← x` widened to `f64`.
pub(crate) fn widen_into(x: &[f32], out: &mut Vec<f64>) {
    Values::F32(x).to_f64(out);
}

/// A process's measured point in its precision, with the way to `f64`.
#[derive(Clone, Copy)]
pub enum Point<'a> {
    /// A double-precision process's point.
    F64(&'a [f64]),
    /// A single-precision process's point and its widened view.
    F32(&'a [f32], &'a Widened<Vec<f64>>),
}

impl<'a> Point<'a> {
    /// The point as it is stored.
    pub fn values(self) -> Values<'a> {
        match self {
            Point::F64(w) => Values::F64(w),
            Point::F32(w, _) => Values::F32(w),
        }
    }

    /// The point in `f64` (widened on the first request of the step for `f32`).
    pub fn f64(self) -> &'a [f64] {
        match self {
            Point::F64(w) => w,
            Point::F32(w, wide) => wide.get(|out| widen_into(w, out)),
        }
    }
}

/// A process's optimizer state in its precision, with the way to `f64`.
#[derive(Clone, Copy)]
pub enum State<'a> {
    /// A double-precision state.
    F64(&'a RuleState),
    /// A single-precision state and its widened view.
    F32(&'a RuleState<f32>, &'a Widened<RuleState>),
}

impl<'a> State<'a> {
    /// The step counter `t` (no conversion).
    pub fn t(self) -> f64 {
        match self {
            State::F64(s) => s.t,
            State::F32(s, _) => s.t,
        }
    }

    /// The state in `f64` (buffers widened on the first request of the step for `f32`).
    pub fn f64(self) -> &'a RuleState {
        match self {
            State::F64(s) => s,
            State::F32(s, wide) => wide.get(|out| s.convert_into(out)),
        }
    }
}
