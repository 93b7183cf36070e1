//! Every `tracking.every` steps: the process's top eigenpairs at its point (`sharpness`
//! = `eig_1`, `eig_1 … eig_K`, the largest relative residual, HVPs and iterations spent).
//! Columns beyond the largest k measured are dropped from the final table.

use super::{Columns, Observation, Observer};
use crate::config::TrackingConfig;

pub(crate) struct Eigen {
    process: usize,
    every: u64,
    sharpness: usize,
    residual: usize,
    hvps: usize,
    iterations: usize,
    eigenvalues: Vec<usize>,
}

impl Eigen {
    pub(crate) fn new(process: usize, tracking: &TrackingConfig, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            every: tracking.every,
            sharpness: cols.add("sharpness"),
            residual: cols.add("eig_residual"),
            hvps: cols.add("eig_hvps"),
            iterations: cols.add("eig_iterations"),
            eigenvalues: (1..=tracking.k_cap())
                .map(|i| cols.add_optional(&format!("eig_{i}")))
                .collect(),
        }
    }
}

impl Observer for Eigen {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, self.every) else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        let parts = p.parts();
        let (ctx, record) = (out.ctx, out.record);
        let measured = parts.curvature.measure(
            ctx.step,
            ctx.problem.objective,
            ctx.rule,
            parts.point.values(),
            parts.state,
            parts.kind,
        )?;
        out.timings.eigen_s += clock.elapsed().as_secs_f64();
        if let Some(m) = measured {
            record.set(self.sharpness, m.values[0]);
            record.set(self.residual, m.max_residual);
            record.set(self.hvps, m.hvps as f64);
            record.set(self.iterations, m.iterations as f64);
            for (&col, &v) in self.eigenvalues.iter().zip(&m.values) {
                record.set(col, v);
            }
        }
        Ok(())
    }
}
