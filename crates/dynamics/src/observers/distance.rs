//! Every step, every pair of processes: `distance.<a>-<b> = ‖w_a − w_b‖` between their
//! measured points, names in alphabetical order (as in the central-flows code). `NaN` once
//! either process has halted.

use super::{Observation, Observer};
use crate::process::ProcessName;
use crate::record::Schema;

pub(crate) struct Distances {
    pairs: Vec<(usize, usize, usize)>,
}

impl Distances {
    pub(crate) fn new(processes: &[ProcessName], schema: &mut Schema) -> Self {
        let mut pairs = Vec::new();
        for a in 0..processes.len() {
            for b in a + 1..processes.len() {
                let (first, second) = if processes[a].as_str() <= processes[b].as_str() {
                    (a, b)
                } else {
                    (b, a)
                };
                let name = format!(
                    "distance.{}-{}",
                    processes[first].as_str(),
                    processes[second].as_str()
                );
                pairs.push((first, second, schema.add(name)));
            }
        }
        Self { pairs }
    }
}

impl Observer for Distances {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        for &(a, b, col) in &self.pairs {
            let (pa, pb) = (o.processes[a].get(), o.processes[b].get());
            if pa.halted().is_none() && pb.halted().is_none() {
                let d2: f64 = pa
                    .point()
                    .iter()
                    .zip(pb.point())
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum();
                o.record.set(col, d2.sqrt());
            }
        }
        Ok(())
    }
}
