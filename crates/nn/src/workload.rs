//! The benchmark workloads, generated in Rust, plus exact GEMM flop counts of each jet pass
//! for GFLOP/s reporting:
//!
//! - **A** (`shared/bench`'s workload A): MLP 3072→256→256→4, GELU tanh approximation;
//! - **eos**: the edge-of-stability demo network MLP 20→256→256→4, GELU tanh approximation
//!   (`gdscope reproduce eos`, `eos_a_jax.py`): the shapes every step of that run computes on.
//!
//! Both: MSE on one-hot labels of a random linear teacher, LeCun-normal init. Data:
//! `X ~ N(0,1)^(n×d)`, teacher `T ~ N(0,1)^(d×4)`, labels `argmax(X T)`, drawn from
//! `Xoshiro256PlusPlus::seed_from_u64(0)` (the Python scripts use NumPy's generator, so values
//! differ; sizes, distributions and therefore timings match). Weights: `Model::init(LeCun, 1)`.

use crate::algebra::Algebra;
use crate::layer::Init;
use crate::loss::Loss;
use crate::objective::{Dtype, NetworkObjective};
use gdscope_core::Block;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// Layer widths of workload A.
pub const SIZES: [usize; 4] = [3072, 256, 256, 4];
/// Model spec of workload A.
pub const SPEC: &str = "mlp:3072-256-256-4:gelu-tanh";
/// Layer widths of the edge-of-stability demo network.
pub const EOS_SIZES: [usize; 4] = [20, 256, 256, 4];
/// Model spec of the edge-of-stability demo (`gdscope reproduce eos`, `eos_a_jax.py`).
pub const EOS_SPEC: &str = "mlp:20-256-256-4:gelu-tanh";

/// The timed operations, in table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Loss and gradient.
    LossGrad,
    /// One Hessian-vector product.
    Hvp,
    /// A block of three HVPs (one pass).
    HvpBlock3,
    /// One third-order vector `∇(uᵀHv)`.
    ThirdOrder,
    /// One full-batch GD step `w − η∇L(w)` into a new vector (as `jit(w - lr * grad)` in the
    /// reference scripts), with the workload's learning rate.
    GdStep,
}

impl Op {
    /// All operations.
    pub const ALL: [Op; 5] = [
        Op::LossGrad,
        Op::Hvp,
        Op::HvpBlock3,
        Op::ThirdOrder,
        Op::GdStep,
    ];

    /// JSON key (matches `bench_a_jax.py` where it has one).
    pub fn key(self) -> &'static str {
        match self {
            Op::LossGrad => "loss_grad",
            Op::Hvp => "hvp",
            Op::HvpBlock3 => "hvp_block3",
            Op::ThirdOrder => "third_order",
            Op::GdStep => "gd_step",
        }
    }

    /// The algebra and requested coefficients of the pass that computes this op.
    fn pass(self) -> (Algebra, Vec<usize>) {
        match self {
            Op::LossGrad | Op::GdStep => (Algebra::primal(), vec![0]),
            Op::Hvp => (Algebra::tangents(1), vec![1]),
            Op::HvpBlock3 => (Algebra::tangents(3), vec![1, 2, 3]),
            Op::ThirdOrder => {
                let alg = Algebra::hyper_dual();
                let m = alg.pair(0, 1).unwrap_or(3);
                (alg, vec![m])
            }
        }
    }

    /// GEMM floating-point operations (2 per multiply-add) of this op's jet pass through an
    /// MLP of widths `sizes` with `n` examples, counted from the rules the linear layer executes.
    pub fn gemm_flops(self, sizes: &[usize], n: usize) -> f64 {
        let (alg, want) = self.pass();
        mlp_pass_flops(sizes, n, &alg, &want)
    }
}

/// GEMM flops of one jet pass through an MLP with the given widths (see `layers/linear.rs`):
/// forward `s + #{(a,m) ∈ a·εᵢ = m : a stored}` products per layer (`s` stored input
/// coefficients: 1 for the data, all otherwise), reverse `#{(a,b) : a·b = m, a stored}` per
/// requested `m`, and `M + Σᵢ #(a·εᵢ)` for the input cotangent of every layer but the first.
pub fn mlp_pass_flops(sizes: &[usize], n: usize, alg: &Algebra, want: &[usize]) -> f64 {
    let m = alg.len();
    let mut gemms_per_layer = Vec::new();
    for l in 0..sizes.len() - 1 {
        let stored = if l == 0 { 1 } else { m };
        let dir_terms = |limit: usize| -> usize {
            (0..alg.directions())
                .map(|i| alg.times_dir(i).iter().filter(|(a, _)| *a < limit).count())
                .sum()
        };
        let forward = stored + dir_terms(stored);
        let weight: usize = want
            .iter()
            .map(|&w| alg.terms(w).iter().filter(|(a, _)| *a < stored).count())
            .sum();
        let input = if l == 0 { 0 } else { m + dir_terms(m) };
        gemms_per_layer
            .push((forward + weight + input) as f64 * 2.0 * (n * sizes[l] * sizes[l + 1]) as f64);
    }
    gemms_per_layer.iter().sum()
}

/// `X ~ N(0,1)^(n×d)` and one-hot labels `argmax(X T)` of a teacher `T ~ N(0,1)^(d×k)`, both
/// drawn from `Xoshiro256PlusPlus::seed_from_u64(0)`.
pub fn teacher_data(n: usize, d: usize, k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(0);
    let x: Vec<f64> = (0..n * d).map(|_| rng.sample(StandardNormal)).collect();
    let t: Vec<f64> = (0..d * k).map(|_| rng.sample(StandardNormal)).collect();
    let mut y = vec![0.0; n * k];
    for r in 0..n {
        let scores: Vec<f64> = (0..k)
            .map(|j| (0..d).map(|c| x[r * d + c] * t[c * k + j]).sum())
            .collect();
        let best = (0..k).fold(0, |b, j| if scores[j] > scores[b] { j } else { b });
        y[r * k + best] = 1.0;
    }
    (x, y)
}

/// The edge-of-stability demo network on teacher data (n = 1000, d = 20, 4 classes, MSE) and
/// its LeCun-normal initial point (seed 1).
pub fn eos_demo(dtype: Dtype) -> (NetworkObjective, Vec<f64>) {
    let w = Workload::eos(1000, dtype);
    (w.objective, w.w)
}

/// A benchmark workload: the objective and the fixed point and directions the benchmark uses.
pub struct Workload {
    /// `"A"` or `"eos"`.
    pub name: &'static str,
    /// Model spec.
    pub spec: &'static str,
    /// Layer widths (input … output).
    pub sizes: &'static [usize],
    /// Number of examples.
    pub n: usize,
    /// The network objective.
    pub objective: NetworkObjective,
    /// LeCun-normal parameters (seed 1).
    pub w: Vec<f64>,
    /// Direction u ~ N(0, I) (seed 123).
    pub u: Vec<f64>,
    /// Direction v ~ N(0, I).
    pub v: Vec<f64>,
    /// Three directions for the block HVP.
    pub block3: Block,
    /// Learning rate of the GD step (`bench_a_jax.py`: 0.02; `eos_a_jax.py`: 0.08).
    pub lr: f64,
}

impl Workload {
    /// Workload A with `n` examples in the given dtype.
    pub fn a(n: usize, dtype: Dtype) -> Self {
        Self::build("A", SPEC, &SIZES, n, dtype, 0.02)
    }

    /// The edge-of-stability demo network with `n` examples (the demo uses 1000).
    pub fn eos(n: usize, dtype: Dtype) -> Self {
        Self::build("eos", EOS_SPEC, &EOS_SIZES, n, dtype, 0.08)
    }

    fn build(
        name: &'static str,
        spec: &'static str,
        sizes: &'static [usize],
        n: usize,
        dtype: Dtype,
        lr: f64,
    ) -> Self {
        let (d, k) = (sizes[0], sizes[sizes.len() - 1]);
        let (x, y) = teacher_data(n, d, k);
        let objective = NetworkObjective::new(spec, &x, &y, n, Loss::Mse, dtype)
            .expect("workload shapes are consistent by construction");
        let w = objective.init(Init::LeCun, 1);
        let p = w.len();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(123);
        let mut draw =
            |len: usize| -> Vec<f64> { (0..len).map(|_| rng.sample(StandardNormal)).collect() };
        let u = draw(p);
        let v = draw(p);
        let block3 = Block::from_vec(p, 3, draw(3 * p));
        Self {
            name,
            spec,
            sizes,
            n,
            objective,
            w,
            u,
            v,
            block3,
            lr,
        }
    }

    /// GEMM flops of `op` on this workload.
    pub fn gemm_flops(&self, op: Op) -> f64 {
        op.gemm_flops(self.sizes, self.n)
    }

    /// `(m, k, n)` of the largest product of a plain pass (`n_examples × fan_in × fan_out` of
    /// the widest layer): the shape of the GEMM floor.
    pub fn floor_shape(&self) -> (usize, usize, usize) {
        let (fi, fo) = self
            .sizes
            .windows(2)
            .map(|w| (w[0], w[1]))
            .max_by_key(|(a, b)| a * b)
            .expect("at least two widths");
        (self.n, fi, fo)
    }

    /// Runs one operation once (the timed unit).
    pub fn run(&self, op: Op) {
        use gdscope_core::Objective;
        let obj = &self.objective;
        let p = self.w.len();
        match op {
            Op::LossGrad => {
                let mut g = vec![0.0; p];
                obj.value_grad(&self.w, &mut g);
            }
            Op::Hvp => {
                let mut out = vec![0.0; p];
                obj.hvp(&self.w, &self.v, &mut out);
            }
            Op::HvpBlock3 => {
                obj.block_hvp(&self.w, &self.block3);
            }
            Op::ThirdOrder => {
                let mut out = vec![0.0; p];
                obj.third_order(&self.w, &self.u, &self.v, &mut out);
            }
            Op::GdStep => {
                let mut g = vec![0.0; p];
                obj.value_grad(&self.w, &mut g);
                let next: Vec<f64> = self
                    .w
                    .iter()
                    .zip(&g)
                    .map(|(w, g)| w - self.lr * g)
                    .collect();
                std::hint::black_box(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand count for one HVP on a 2-layer net: forward 2 (first layer) + 3, weight grads
    /// 1 + 2, input cotangent of layer 2: 2 + 1.
    #[test]
    fn flop_count_matches_hand_count() {
        let alg = Algebra::tangents(1);
        let f = mlp_pass_flops(&[10, 5, 2], 7, &alg, &[1]);
        let unit1 = 2.0 * 7.0 * 50.0;
        let unit2 = 2.0 * 7.0 * 10.0;
        assert_eq!(f, (2.0 + 1.0) * unit1 + (3.0 + 2.0 + 3.0) * unit2);
        assert_eq!(
            Op::LossGrad.gemm_flops(&SIZES, 1),
            2.0 * (2.0 * 3072.0 * 256.0) + 3.0 * 2.0 * (256.0 * 256.0 + 256.0 * 4.0)
        );
    }
}
