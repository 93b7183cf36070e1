//! `update_cosine = cos⟨Δw_t, Δw_{t−1}⟩` of consecutive applied updates of a process (paper
//! eq. 32), recorded after the step is applied. Processes without updates of their own
//! (`midpoint`) leave it `NaN` (and the column is dropped from the final table).

use super::{Columns, ObserveContext, Observer, Phase};
use crate::diagnostics::UpdateCosine;
use crate::process::{AnyProcess, ProcessName};
use crate::record::Record;
use crate::Timings;

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
    fn key(&self) -> String {
        format!("cosine/{}", self.process)
    }

    fn phase(&self) -> Phase {
        Phase::Applied
    }

    fn observe(
        &mut self,
        _ctx: &ObserveContext<'_>,
        processes: &mut [AnyProcess],
        record: &mut Record,
        _timings: &mut Timings,
    ) -> anyhow::Result<()> {
        let p = processes[self.process].get();
        if p.halted().is_some() {
            return Ok(());
        }
        if let Some(update) = p.update() {
            record.set(self.column, self.memory.observe(update).unwrap_or(f64::NAN));
        }
        Ok(())
    }

    fn save(&self) -> anyhow::Result<Vec<u8>> {
        Ok(postcard::to_stdvec(&self.memory)?)
    }

    fn load(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.memory = postcard::from_bytes(bytes)?;
        Ok(())
    }
}
