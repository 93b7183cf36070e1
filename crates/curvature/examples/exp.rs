use gdscope_core::Block;
use gdscope_curvature::synthetic::SpectrumOperator;
use gdscope_curvature::*;
struct Pert<'a> { a: &'a SpectrumOperator, w: Block, eps: f64 }
impl LinearOperator for Pert<'_> {
    fn dim(&self) -> usize { self.a.dim() }
    fn apply(&self, v: &Block) -> Block { self.a.apply(v) + &self.w * (self.w.transpose() * v) * self.eps }
}
fn main() {
    let n = 20000;
    let mut values: Vec<f64> = (0..n - 5).map(|i| -40.0 + 80.0 * (i as f64) / (n as f64)).collect();
    values.extend([50.0, 49.5, 49.0, 46.0, -49.8]);
    let a = SpectrumOperator::new(&values, 1).unwrap();
    let w = Block::from_fn(n, 2, |i, j| (((i * 7 + j * 13) % 101) as f64 / 50.0 - 1.0) / (n as f64 / 3.0).sqrt());
    for eps in [1e-3, 1e-2, 1e-1] {
    for tol in [1e-6, 1e-10] {
        let o = EigOptions { k: 3, tol, max_iters: 1000, seed: 0 };
        let r = top_eigenpairs(&a, None, &o).unwrap();
        let b = Pert { a: &a, w: w.clone(), eps };
        let c = top_eigenpairs(&b, None, &o).unwrap();
        let t = std::time::Instant::now();
        let wr = top_eigenpairs(&b, Some(&r.vectors), &o).unwrap();
        println!("eps {eps:e} tol {tol:e}: cold {} hvps | warm {} hvps {} it {:?} {:?}", c.hvps, wr.hvps, wr.iterations, wr.values, t.elapsed());
    }}
}
