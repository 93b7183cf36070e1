//! `update_cosine = cos⟨Δw_t, Δw_{t−1}⟩` of consecutive applied updates of a process (paper
//! eq. 32), recorded after the step is applied. Processes without updates of their own
//! (`midpoint`) leave it `NaN` (and the column is dropped from the final table).

use super::{Columns, Memory, Observation, Observer, Phase};
use crate::diagnostics::UpdateCosine;
use crate::process::ProcessName;

pub(crate) struct Cosine {
    process: usize,
    column: usize,
    memory: UpdateCosine,
}

impl Cosine {
    pub(crate) fn new(process: usize, name: ProcessName, cols: &mut Columns<'_>) -> Self {
        let column = if name == ProcessName::Discrete {
            cols.add("update_cosine")
        } else {
            cols.add_optional("update_cosine")
        };
        Self {
            process,
            column,
            memory: UpdateCosine::default(),
        }
    }
}

impl Observer for Cosine {
    fn phase(&self) -> Phase {
        Phase::Applied
    }

    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        if let Some((p, out)) = o.process(self.process, 1) {
            if let Some(update) = p.update_values() {
                let c = self.memory.observe_values(update).unwrap_or(f64::NAN);
                out.record.set(self.column, c);
            }
        }
        Ok(())
    }

    fn memory(&mut self) -> Option<&mut dyn Memory> {
        Some(&mut self.memory)
    }
}
