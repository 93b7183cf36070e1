//! Network outputs as observables of the weights (docs/central-flows.md "Network outputs"):
//! `f_j(w)` = the first output of the network on example `j`, with exact derivatives, so the
//! central flow can predict its time average `f(w) + ½⟨U_cᵀ∇²f U_c, X⟩` along the optimizer.
//!
//! The network engine differentiates losses, so an output is written as a difference of two
//! ½-MSE losses on the one example, against the targets `e₁` and `0`:
//! `½‖f − 0‖² − ½‖f − e₁‖² = f₁ − ½`, so `f₁ = ℓ₀ − ℓ₁ + ½` and every derivative of `f₁` is
//! the difference of the losses' (the other outputs cancel exactly in the algebra; in floating
//! point to `ε·‖f‖²`).

use gdscope_core::{Block, Objective};
use gdscope_data::Dataset;
use gdscope_dynamics::Observables;
use gdscope_nn::{Dtype, Loss, NetworkObjective};

/// The first output of a network on one example.
pub struct NetworkOutput {
    zero: NetworkObjective,
    one: NetworkObjective,
}

impl NetworkOutput {
    /// Output 1 of model `spec` on example `j` of `data`.
    pub fn new(spec: &str, data: &Dataset, j: usize, dtype: Dtype) -> anyhow::Result<Self> {
        anyhow::ensure!(j < data.n, "example {j} of a data set of {}", data.n);
        let d = data.x.len() / data.n;
        let x = &data.x[j * d..(j + 1) * d];
        let mut y = vec![0.0; data.k];
        let zero = NetworkObjective::new(spec, x, &y, 1, Loss::Mse, dtype)?;
        y[0] = 1.0;
        let one = NetworkObjective::new(spec, x, &y, 1, Loss::Mse, dtype)?;
        Ok(Self { zero, one })
    }
}

impl Objective for NetworkOutput {
    fn dim(&self) -> usize {
        self.zero.dim()
    }

    fn value(&self, w: &[f64]) -> f64 {
        self.zero.value(w) - self.one.value(w) + 0.5
    }

    fn value_grad(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let mut other = vec![0.0; grad.len()];
        let v = self.zero.value_grad(w, grad) - self.one.value_grad(w, &mut other);
        grad.iter_mut().zip(&other).for_each(|(g, o)| *g -= o);
        v + 0.5
    }

    fn hvp(&self, w: &[f64], v: &[f64], out: &mut [f64]) {
        let mut other = vec![0.0; out.len()];
        self.zero.hvp(w, v, out);
        self.one.hvp(w, v, &mut other);
        out.iter_mut().zip(&other).for_each(|(a, b)| *a -= b);
    }

    fn block_hvp(&self, w: &[f64], vs: &Block) -> Block {
        self.zero.block_hvp(w, vs) - self.one.block_hvp(w, vs)
    }

    fn third_order(&self, w: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        let mut other = vec![0.0; out.len()];
        self.zero.third_order(w, u, v, out);
        self.one.third_order(w, u, v, &mut other);
        out.iter_mut().zip(&other).for_each(|(a, b)| *a -= b);
    }
}

/// The outputs on the first `m` examples of a data set.
pub struct NetworkOutputs(Vec<NetworkOutput>);

impl NetworkOutputs {
    /// Outputs of model `spec` on examples `0..m` of `data` (all of them if it has fewer).
    pub fn new(spec: &str, data: &Dataset, m: usize, dtype: Dtype) -> anyhow::Result<Self> {
        (0..m.min(data.n))
            .map(|j| NetworkOutput::new(spec, data, j, dtype))
            .collect::<anyhow::Result<_>>()
            .map(Self)
    }
}

impl Observables for NetworkOutputs {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn observable(&self, j: usize) -> &dyn Objective {
        &self.0[j]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Value, gradient and HVP of the output against the network itself (finite differences
    /// of `outputs`) on a 2-output tanh MLP.
    #[test]
    fn output_derivatives_match_finite_differences() {
        let spec = "mlp:3-5-2:tanh";
        let x = vec![0.3, -0.7, 1.1, 0.5, 0.2, -0.4];
        let data = Dataset::new("t", x.clone(), vec![3], vec![0.0; 4], 2, None).unwrap();
        let f = NetworkOutput::new(spec, &data, 1, Dtype::F64).unwrap();
        let net = NetworkObjective::new(spec, &x, &[0.0; 4], 2, Loss::Mse, Dtype::F64).unwrap();
        let w: Vec<f64> = (0..f.dim())
            .map(|i| ((i * 7) as f64 * 0.37).sin() * 0.6)
            .collect();
        let out = |w: &[f64]| net.outputs(w)[2];
        assert!((f.value(&w) - out(&w)).abs() < 1e-14);
        let mut g = vec![0.0; w.len()];
        f.value_grad(&w, &mut g);
        let v: Vec<f64> = (0..w.len())
            .map(|i| ((i * 3) as f64 * 0.91).cos())
            .collect();
        let h = 1e-5;
        let shifted = |s: f64| -> Vec<f64> { w.iter().zip(&v).map(|(a, b)| a + s * b).collect() };
        let fd = (out(&shifted(h)) - out(&shifted(-h))) / (2.0 * h);
        let gv: f64 = g.iter().zip(&v).map(|(a, b)| a * b).sum();
        assert!((fd - gv).abs() < 1e-8, "{fd} vs {gv}");
        let mut hv = vec![0.0; w.len()];
        f.hvp(&w, &v, &mut hv);
        let vhv: f64 = hv.iter().zip(&v).map(|(a, b)| a * b).sum();
        let fd2 = (out(&shifted(h)) - 2.0 * out(&w) + out(&shifted(-h))) / (h * h);
        assert!(
            (fd2 - vhv).abs() < 1e-4 * vhv.abs().max(1.0),
            "{fd2} vs {vhv}"
        );
        let block = f.block_hvp(&w, &Block::from_column_slice(w.len(), 1, &v));
        assert!(block
            .column(0)
            .iter()
            .zip(&hv)
            .all(|(a, b)| (a - b).abs() < 1e-12));
    }
}
