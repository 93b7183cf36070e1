//! Comparisons of the optimizer with its central flow (docs/central-flows.md "Columns"),
//! built when `processes` contains `central`:
//!
//! - `delta_sq_1 … delta_sq_K` (a `discrete` column, so unprefixed; needs `discrete`): the
//!   squared displacement of the optimizer from the central flow in the eigenbasis of the
//!   oscillation covariance, `(QᵀU₀ᵀP₀(w_GD − w_CF))²` with `U₀`, `P₀` the flow's tracked basis
//!   and preconditioner and `Q` the eigenvectors of its substep-averaged `X̄` (ordered as
//!   `central.sigma_1 …`): its time average is what `central.sigma_i` predicts;
//! - `output_j` for every process (`[process.central] outputs = m`): the network's output on
//!   test example `j`, for the central flow its prediction `f(w) + ½⟨U_cᵀ∇²f U_c, X⟩` of the
//!   optimizer's time average;
//! - scalar RMSProp: `effective_lr = η/(√ν + ε)` of every process, and `central.edge_lr =
//!   2/S` (`S` the top Hessian eigenvalue at the central flow), which the central flow's
//!   effective step size locks to;
//! - RMSProp: `nu[i]` of every process at the parameter indices of
//!   `process.central.nu_coordinates` (the central flow's is its prediction of the optimizer's
//!   `ν`).
//!
//! All every step.

use gdscope_core::optimizer::Rule;

use super::{Observation, Observer};
use crate::driver::RunSpec;
use crate::problem::Problem;
use crate::process::central::MAX_K;
use crate::process::{AnyProcess, ProcessName};
use crate::record::{column_name, Schema};
use crate::tracker::{operator_for, Operator};

/// The comparison observers of a run with a `central` process (none otherwise).
pub(crate) fn build(
    spec: &RunSpec,
    rule: &Rule,
    problem: Problem<'_>,
    schema: &mut Schema,
) -> Vec<Box<dyn Observer>> {
    let names = &spec.processes;
    let Some(central) = names.iter().position(|&p| p == ProcessName::Central) else {
        return Vec::new();
    };
    let settings = &spec.process.central;
    let mut out: Vec<Box<dyn Observer>> = Vec::new();
    if let Some(discrete) = names.iter().position(|&p| p == ProcessName::Discrete) {
        out.push(Box::new(Oscillation {
            discrete,
            central,
            columns: (1..=settings.k_max.min(MAX_K))
                .map(|i| schema.add_optional(format!("delta_sq_{i}")))
                .collect(),
            delta: Vec::new(),
        }));
    }
    let m = problem.observables.map_or(0, |o| o.count());
    if m > 0 {
        out.push(Box::new(Outputs {
            central,
            columns: names
                .iter()
                .map(|p| {
                    (1..=m)
                        .map(|j| schema.add(column_name(p.as_str(), &format!("output_{j}"))))
                        .collect()
                })
                .collect(),
        }));
    }
    let n = problem.objective.dim();
    let buffers = rule.zero_state(n).buffers.len();
    if buffers == 1 {
        out.push(Box::new(StepSize {
            effective_lr: names
                .iter()
                .map(|p| schema.add(column_name(p.as_str(), "effective_lr")))
                .collect(),
            central,
            edge_lr: schema.add(column_name("central", "edge_lr")),
            precond: Vec::new(),
        }));
    } else if buffers == n && n > 0 {
        let coordinates = settings.nu_coordinates(n);
        out.push(Box::new(Nu {
            columns: names
                .iter()
                .map(|p| {
                    coordinates
                        .iter()
                        .map(|i| schema.add(column_name(p.as_str(), &format!("nu[{i}]"))))
                        .collect()
                })
                .collect(),
            coordinates,
        }));
    }
    out
}

/// `delta_sq_i`; see the module docs.
struct Oscillation {
    discrete: usize,
    central: usize,
    columns: Vec<usize>,
    delta: Vec<f64>,
}

impl Observer for Oscillation {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let (AnyProcess::Central(c), gd) =
            (&o.processes[self.central], &o.processes[self.discrete])
        else {
            return Ok(());
        };
        let gd = gd.get();
        let Some((_, m)) = c.oscillation_frame() else {
            return Ok(());
        };
        if gd.halted().is_some() {
            return Ok(());
        }
        let cf = crate::process::Process::point(c);
        self.delta.clear();
        self.delta
            .extend(gd.point().iter().zip(cf).map(|(a, b)| a - b));
        for (j, &col) in self.columns.iter().enumerate().take(m.ncols()) {
            let d: f64 = m
                .column(j)
                .iter()
                .zip(&self.delta)
                .map(|(m, d)| m * d)
                .sum();
            o.record.set(col, d * d);
        }
        Ok(())
    }
}

/// `output_j`; see the module docs.
struct Outputs {
    central: usize,
    /// Per process, the column of each observable.
    columns: Vec<Vec<usize>>,
}

impl Observer for Outputs {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some(observables) = o.ctx.problem.observables else {
            return Ok(());
        };
        for (index, columns) in self.columns.iter().enumerate() {
            let p = &o.processes[index];
            if p.get().halted().is_some() {
                continue;
            }
            for (j, &col) in columns.iter().enumerate() {
                let f = observables.observable(j);
                let value = match p {
                    AnyProcess::Central(c) if index == self.central => c.predict(f),
                    other => Some(f.value(other.get().point())),
                };
                if let Some(v) = value {
                    o.record.set(col, v);
                }
            }
        }
        Ok(())
    }
}

/// Scalar RMSProp's step sizes; see the module docs.
struct StepSize {
    effective_lr: Vec<usize>,
    central: usize,
    edge_lr: usize,
    precond: Vec<f64>,
}

impl Observer for StepSize {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let rule = o.ctx.rule;
        for (index, &col) in self.effective_lr.iter().enumerate() {
            let p = o.processes[index].get();
            if p.halted().is_some() {
                continue;
            }
            let lr = rule.lr_at(p.state().t);
            let op = operator_for(true, rule, p.state(), p.kind(), &mut self.precond);
            if let Operator::Preconditioned(pre) = op {
                o.record.set(col, lr / pre[0]);
            }
        }
        if let AnyProcess::Central(c) = &o.processes[self.central] {
            if let Some(r) = c.report() {
                // Scalar P: the top Hessian eigenvalue is the effective one times P.
                o.record
                    .set(self.edge_lr, 2.0 / (r.eigenvalues[0] * r.preconditioner[0]));
            }
        }
        Ok(())
    }
}

/// RMSProp's `ν` at chosen coordinates; see the module docs.
struct Nu {
    coordinates: Vec<usize>,
    columns: Vec<Vec<usize>>,
}

impl Observer for Nu {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        for (index, columns) in self.columns.iter().enumerate() {
            let p = o.processes[index].get();
            let buffers = &p.state().buffers;
            if p.halted().is_some() || buffers.is_empty() {
                continue;
            }
            for (&i, &col) in self.coordinates.iter().zip(columns) {
                o.record.set(col, buffers[i]);
            }
        }
        Ok(())
    }
}
