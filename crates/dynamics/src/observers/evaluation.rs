//! Every `tracking.eval_every` steps: full-batch training loss and accuracy and test metrics
//! at the process's point, from the problem's evaluator; without one, the full-batch loss
//! only (the step's own loss when it already is full batch).

use super::{Columns, Observation, Observer};
use crate::config::TrackingConfig;
use crate::process::ProcessName;

pub(crate) struct Evaluation {
    process: usize,
    full_batch_loss: bool,
    every: u64,
    train_loss: usize,
    train_accuracy: usize,
    test_loss: usize,
    test_accuracy: usize,
}

impl Evaluation {
    pub(crate) fn new(
        process: usize,
        name: ProcessName,
        tracking: &TrackingConfig,
        cols: &mut Columns<'_>,
    ) -> Self {
        Self {
            process,
            // Flows follow the full-batch loss even in minibatch runs.
            full_batch_loss: name == ProcessName::Stable,
            every: tracking.eval_every,
            train_loss: cols.add("train_loss"),
            train_accuracy: cols.add("train_accuracy"),
            test_loss: cols.add("test_loss"),
            test_accuracy: cols.add("test_accuracy"),
        }
    }
}

impl Observer for Evaluation {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, self.every) else {
            return Ok(());
        };
        let (ctx, record) = (out.ctx, out.record);
        if let Some(ev) = ctx.problem.evaluator {
            let e = ev.evaluate(p.point());
            let nan = f64::NAN;
            record.set(self.train_loss, e.train_loss);
            record.set(self.train_accuracy, e.train_accuracy.unwrap_or(nan));
            record.set(self.test_loss, e.test_loss.unwrap_or(nan));
            record.set(self.test_accuracy, e.test_accuracy.unwrap_or(nan));
        } else if ctx.minibatch && !self.full_batch_loss {
            record.set(self.train_loss, ctx.problem.objective.value(p.point()));
        } else {
            record.set(self.train_loss, p.loss());
        }
        Ok(())
    }
}
