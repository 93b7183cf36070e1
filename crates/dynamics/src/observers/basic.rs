//! Every step, every process: `loss`, `lr`, `threshold`, `grad_norm` (on the examples of the
//! step) and the process's own metrics (for `stable`: `substeps`, `effective_sharpness`).

use gdscope_core::linalg::norm;

use super::{Columns, ObserveContext, Observer};
use crate::process::{AnyProcess, ProcessName};
use crate::record::Record;
use crate::Timings;

pub(crate) struct Basic {
    process: usize,
    loss: usize,
    lr: usize,
    threshold: usize,
    grad_norm: usize,
    metrics: Vec<usize>,
    values: Vec<f64>,
}

impl Basic {
    pub(crate) fn new(process: usize, name: ProcessName, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            loss: cols.add("loss"),
            lr: cols.add("lr"),
            threshold: cols.add("threshold"),
            grad_norm: cols.add("grad_norm"),
            metrics: name.metrics().iter().map(|m| cols.add(m)).collect(),
            values: Vec::new(),
        }
    }
}

impl Observer for Basic {
    fn key(&self) -> String {
        format!("basic/{}", self.process)
    }

    fn observe(
        &mut self,
        ctx: &ObserveContext<'_>,
        processes: &mut [AnyProcess],
        record: &mut Record,
        _timings: &mut Timings,
    ) -> anyhow::Result<()> {
        let p = processes[self.process].get();
        let t = p.state().t;
        record.set(self.lr, ctx.rule.lr_at(t));
        record.set(self.threshold, ctx.rule.threshold_at(t));
        if p.halted().is_some() {
            return Ok(());
        }
        record.set(self.loss, p.loss());
        record.set(self.grad_norm, norm(p.grad()));
        p.metrics(&mut self.values);
        for (&col, &v) in self.metrics.iter().zip(&self.values) {
            record.set(col, v);
        }
        Ok(())
    }
}
