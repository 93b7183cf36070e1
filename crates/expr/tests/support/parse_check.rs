//! The property both the fuzz target (`fuzz/fuzz_targets/expr_parse.rs`) and the proptest
//! (`tests/parse_robustness.rs`) check on arbitrary text: parsing never panics, and when it
//! succeeds, the printed tree parses back to the same tree and the objective it defines can
//! be evaluated (value, gradient, Hessian, batch kernel) — results may be NaN or infinite,
//! but nothing panics.

use gdscope_core::Objective;
use gdscope_expr::{parse, ExprObjective, KernelScratch};

/// Checks one source text (see the module documentation).
pub fn check(src: &str) {
    let Ok(parsed) = parse(src, None) else {
        return;
    };
    let printed = parsed.expr.to_string();
    let vars = (!parsed.vars.is_empty()).then_some(&parsed.vars[..]);
    let again = parse(&printed, vars)
        .unwrap_or_else(|e| panic!("{src:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again.expr, parsed.expr, "{src:?} printed as {printed:?}");
    let f = ExprObjective::new(src, None)
        .unwrap_or_else(|e| panic!("{src:?} parses but does not build: {e}"));
    let n = f.vars().len();
    let x: Vec<f64> = (0..n).map(|i| 0.5 - 0.25 * i as f64).collect();
    let mut g = vec![0.0; n];
    f.value_grad(&x, &mut g);
    if n <= 6 {
        f.hessian(&x);
    }
    if n >= 1 {
        let kernel = f.gradient_kernel();
        let mut scratch = KernelScratch::new(&kernel, 4);
        let cols: Vec<Vec<f64>> = x.iter().map(|&v| vec![v, -v, 2.0 * v, 0.0]).collect();
        let xs: Vec<&[f64]> = cols.iter().map(Vec::as_slice).collect();
        let mut out = vec![vec![0.0; 4]; n];
        let mut grads: Vec<&mut [f64]> = out.iter_mut().map(Vec::as_mut_slice).collect();
        kernel.eval_grad_batch(&xs, &mut grads, &mut scratch);
    }
}
