use gdscope_core::Objective;
use gdscope_nn::{Dtype, Init, Loss, NetworkObjective};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let spec = &args[1];
    let n: usize = args[2].parse().unwrap();
    let dtype = if args[3] == "f32" { Dtype::F32 } else { Dtype::F64 };
    let m = gdscope_nn::Model::<f64>::from_spec(spec).unwrap();
    let (d, k) = (m.in_width(), m.out_width());
    let x: Vec<f64> = (0..n * d).map(|i| ((i * 7919 % 1000) as f64 / 500.0 - 1.0)).collect();
    let mut y = vec![0.0; n * k];
    for i in 0..n { y[i * k + i % k] = 1.0; }
    let obj = NetworkObjective::new(spec, &x, &y, n, Loss::CrossEntropy, dtype).unwrap();
    let w = obj.init(Init::He, 1);
    let u: Vec<f64> = (0..w.len()).map(|i| ((i * 31 % 97) as f64 / 97.0 - 0.5)).collect();
    let mut g = vec![0.0; w.len()];
    for (name, f) in [
        ("grad", Box::new(|| { obj.value_grad(&w, &mut g.clone()); }) as Box<dyn Fn()>),
        ("hvp", Box::new(|| { obj.hvp(&w, &u, &mut g.clone()); })),
        ("third", Box::new(|| { obj.third_order(&w, &u, &u, &mut g.clone()); })),
    ] {
        f();
        let t = Instant::now();
        let reps = 3;
        for _ in 0..reps { f(); }
        println!("{spec} n={n} {:?} {name}: {:.1} ms", dtype, t.elapsed().as_secs_f64() * 1e3 / reps as f64);
    }
    let _ = &mut g;
}
