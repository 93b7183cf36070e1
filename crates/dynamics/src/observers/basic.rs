//! Every step, every process: `loss`, `lr`, `threshold`, `grad_norm` (on the examples of the
//! step) and the process's own metrics (for `stable`: `substeps`, `effective_sharpness`).

use super::{Columns, Observation, Observer};
use crate::process::ProcessName;

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
            metrics: name
                .metrics()
                .iter()
                .map(|m| cols.add_optional(m))
                .collect(),
            values: Vec::new(),
        }
    }
}

impl Observer for Basic {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let p = o.processes[self.process].get();
        let t = p.t();
        o.record.set(self.lr, o.ctx.rule.lr_at(t));
        o.record.set(self.threshold, o.ctx.rule.threshold_at(t));
        let Some((p, out)) = o.process(self.process, 1) else {
            return Ok(());
        };
        out.record.set(self.loss, p.loss());
        out.record.set(self.grad_norm, p.grad_values().norm());
        p.metrics(&mut self.values);
        for (&col, &v) in self.metrics.iter().zip(&self.values) {
            out.record.set(col, v);
        }
        Ok(())
    }
}
