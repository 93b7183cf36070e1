//! Fused, vectorised jet kernels of an elementwise activation (docs/engine.md §"Elementwise
//! kernels").
//!
//! A jet stores one contiguous matrix per monomial, so an activation never gathers an
//! element's coefficients: it walks blocks of [`BLOCK`] elements, evaluates the activation's
//! table `f, f′, f″, f‴` once per element into small arrays (only the orders the rule needs),
//! then forms every output coefficient with one contiguous loop:
//!
//! - forward `y = compose([f, f′, f″], x)`: `y₁ = f`, `y_{εᵢ} = f′xᵢ`,
//!   `y_{εᵢεⱼ} = f′xᵢⱼ + w f″ xᵢxⱼ` (`w = ½` on squares, 1 otherwise);
//! - reverse `ḡ_x = ḡ_y · D`, `D = compose([f′, f″, f‴], x)`: `(ḡ_x)_m = Σ_{a·b=m} (ḡ_y)_a D_b`,
//!   each `D_b` formed on the fly from `f′, f″, f‴` and `x` (no scratch jet).
//!
//! The operations and their order are those of [`Algebra::compose`] and [`Algebra::mul`] applied
//! per element, so the result is bitwise the same as that reference (tested below); the loops
//! are compiled at the CPU's SIMD level by [`crate::simd::dispatch`] and split over threads only
//! above [`crate::par::PAR_MIN_WORK`].

use crate::algebra::Algebra;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layers::activation::{Activation, TableUser};
use crate::par::{for_each_range, tasks_for, DisjointCoeffs};
use crate::simd::{self, Kernel, Level};
use std::ops::Range;

/// Elements per block: the block's derivative arrays and coefficient slices stay in L1.
pub const BLOCK: usize = 256;

/// What a monomial's coefficient of `D = compose([f′, f″, f‴], x)` is, per element.
#[derive(Clone, Copy)]
enum Mono {
    /// `1`: `f′`.
    One,
    /// `εᵢ`: `f″·xᵢ`.
    Dir(usize),
    /// `εᵢεⱼ` at index `m`: `f″·x_m + w·f‴·(xᵢ·xⱼ)`.
    Pair { m: usize, i: usize, j: usize },
}

fn classify(alg: &Algebra, m: usize) -> Mono {
    let k = alg.directions();
    if m == 0 {
        Mono::One
    } else if m <= k {
        Mono::Dir(m - 1)
    } else {
        let (i, j) = alg.pairs()[m - 1 - k];
        Mono::Pair { m, i, j }
    }
}

/// Weight of the cross term of pair `(i, j)`: the Taylor factor ½ on squares.
#[inline(always)]
fn pair_weight<T: Float>(i: usize, j: usize) -> T {
    if i == j {
        c::<T>(0.5)
    } else {
        T::one()
    }
}

/// `y = f(x)` in the algebra of `y` (`alg.len()` coefficients; `x` may store fewer — the rest
/// are zero). Runs at the CPU's SIMD level.
pub fn forward<T: Float>(act: Activation, alg: &Algebra, x: JetRef<'_, T>, y: &mut Jet<T>) {
    forward_at(Level::detect(), act, alg, x, y);
}

/// `ḡ_x = ḡ_y · f′(x)` in the algebra (all coefficients of `gx`). Runs at the CPU's SIMD level.
pub fn backward<T: Float>(
    act: Activation,
    alg: &Algebra,
    x: JetRef<'_, T>,
    gy: &Jet<T>,
    gx: &mut Jet<T>,
) {
    backward_at(Level::detect(), act, alg, x, gy, gx);
}

/// [`forward`] at a given SIMD level (tests compare levels).
pub fn forward_at<T: Float>(
    level: Level,
    act: Activation,
    alg: &Algebra,
    x: JetRef<'_, T>,
    y: &mut Jet<T>,
) {
    let (size, m) = (y.size(), y.coeffs);
    debug_assert_eq!(m, alg.len());
    debug_assert_eq!(x.rows * x.cols, size);
    let out = DisjointCoeffs::new(&mut y.data, m, size);
    for_each_range(size, tasks_for(size * m), BLOCK, |range| {
        simd::run_at(
            level,
            Task {
                act,
                alg,
                x,
                gy: None,
                out: &out,
                range,
            },
        );
    });
}

/// [`backward`] at a given SIMD level.
pub fn backward_at<T: Float>(
    level: Level,
    act: Activation,
    alg: &Algebra,
    x: JetRef<'_, T>,
    gy: &Jet<T>,
    gx: &mut Jet<T>,
) {
    let (size, m) = (gx.size(), gx.coeffs);
    debug_assert_eq!(m, alg.len());
    debug_assert_eq!(gy.coeffs, m);
    let out = DisjointCoeffs::new(&mut gx.data, m, size);
    for_each_range(size, tasks_for(size * m), BLOCK, |range| {
        simd::run_at(
            level,
            Task {
                act,
                alg,
                x,
                gy: Some(gy.view()),
                out: &out,
                range,
            },
        );
    });
}

/// One thread's share of a forward (`gy = None`) or reverse kernel: elements `range`.
struct Task<'a, T> {
    act: Activation,
    alg: &'a Algebra,
    x: JetRef<'a, T>,
    gy: Option<JetRef<'a, T>>,
    out: &'a DisjointCoeffs<'a, T>,
    range: Range<usize>,
}

impl<T: Float> Kernel for Task<'_, T> {
    #[inline(always)]
    fn run(self) {
        self.act.with_table(self);
    }
}

impl<T: Float> TableUser<T> for Task<'_, T> {
    #[inline(always)]
    fn run<F: Fn(T) -> [T; 4] + Copy>(self, f: F) {
        let zeros = [T::zero(); BLOCK];
        let mut start = self.range.start;
        while start < self.range.end {
            let block = start..(start + BLOCK).min(self.range.end);
            // Coefficient `m` of the input on this block (zeros when not stored).
            let xc = |m: usize| -> &[T] {
                match self.x.coeff(m) {
                    Some(v) => &v[block.clone()],
                    None => &zeros[..block.len()],
                }
            };
            // SAFETY (both calls): this task owns `block` (a piece of its own range) and takes
            // each coefficient's slice once per block, so no two live slices overlap.
            match self.gy {
                None => forward_block(f, self.alg, &xc, |m| unsafe {
                    self.out.range(m, block.clone())
                }),
                Some(gy) => {
                    let gyc =
                        |m: usize| -> &[T] { &gy.coeff(m).expect("full cotangent")[block.clone()] };
                    backward_block(f, self.alg, &xc, &gyc, |m| unsafe {
                        self.out.range(m, block.clone())
                    })
                }
            }
            start = block.end;
        }
    }
}

/// Forward rule on one block: `y_m` for every monomial. Loops are zips over slices of one
/// length (no bounds checks), which LLVM vectorises.
#[inline(always)]
fn forward_block<'a, T: Float, F: Fn(T) -> [T; 4]>(
    f: F,
    alg: &Algebra,
    x: &impl Fn(usize) -> &'a [T],
    mut y: impl FnMut(usize) -> &'a mut [T],
) {
    let x0 = x(0);
    let len = x0.len();
    let y0 = &mut y(0)[..len];
    if alg.len() == 1 {
        for (yv, xv) in y0.iter_mut().zip(x0) {
            *yv = f(*xv)[0];
        }
        return;
    }
    let (mut d1, mut d2) = ([T::zero(); BLOCK], [T::zero(); BLOCK]);
    let (d1, d2) = (&mut d1[..len], &mut d2[..len]);
    if alg.pairs().is_empty() {
        // Tangent algebras have no εᵢεⱼ terms: f″ is not needed (and not computed).
        for ((xv, yv), a) in x0.iter().zip(y0).zip(d1.iter_mut()) {
            let v = f(*xv);
            *yv = v[0];
            *a = v[1];
        }
    } else {
        for (((xv, yv), a), b) in x0.iter().zip(y0).zip(d1.iter_mut()).zip(d2.iter_mut()) {
            let v = f(*xv);
            *yv = v[0];
            *a = v[1];
            *b = v[2];
        }
    }
    let k = alg.directions();
    for i in 0..k {
        let (xi, yi) = (&x(1 + i)[..len], &mut y(1 + i)[..len]);
        for ((yv, a), xv) in yi.iter_mut().zip(&*d1).zip(xi) {
            *yv = *a * *xv;
        }
    }
    for (p, &(i, j)) in alg.pairs().iter().enumerate() {
        let m = 1 + k + p;
        let (xm, xi, xj) = (&x(m)[..len], &x(1 + i)[..len], &x(1 + j)[..len]);
        let ym = &mut y(m)[..len];
        let w = pair_weight::<T>(i, j);
        let lanes = ym.iter_mut().zip(&*d1).zip(&*d2).zip(xm).zip(xi).zip(xj);
        for (((((yv, a), b), xmv), xiv), xjv) in lanes {
            *yv = *a * *xmv + w * *b * (*xiv * *xjv);
        }
    }
}

/// Reverse rule on one block: `(ḡ_x)_m = Σ_{a·b=m} (ḡ_y)_a D_b` for every monomial, summed from
/// zero in the order of `alg.terms(m)` (as [`Algebra::mul`] does).
#[inline(always)]
fn backward_block<'a, T: Float, F: Fn(T) -> [T; 4]>(
    f: F,
    alg: &Algebra,
    x: &impl Fn(usize) -> &'a [T],
    gy: &impl Fn(usize) -> &'a [T],
    mut gx: impl FnMut(usize) -> &'a mut [T],
) {
    let x0 = x(0);
    let len = x0.len();
    if alg.len() == 1 {
        let (g0, gy0) = (&mut gx(0)[..len], &gy(0)[..len]);
        for ((g, gyv), xv) in g0.iter_mut().zip(gy0).zip(x0) {
            *g = T::zero() + *gyv * f(*xv)[1];
        }
        return;
    }
    let (mut d1, mut d2, mut d3) = ([T::zero(); BLOCK], [T::zero(); BLOCK], [T::zero(); BLOCK]);
    let (d1, d2, d3) = (&mut d1[..len], &mut d2[..len], &mut d3[..len]);
    if alg.pairs().is_empty() {
        // No εᵢεⱼ terms: f‴ is not needed (and not computed).
        for ((xv, a), b) in x0.iter().zip(d1.iter_mut()).zip(d2.iter_mut()) {
            let v = f(*xv);
            *a = v[1];
            *b = v[2];
        }
    } else {
        let lanes = x0
            .iter()
            .zip(d1.iter_mut())
            .zip(d2.iter_mut())
            .zip(d3.iter_mut());
        for (((xv, a), b), c) in lanes {
            let v = f(*xv);
            *a = v[1];
            *b = v[2];
            *c = v[3];
        }
    }
    for m in 0..alg.len() {
        let out = &mut gx(m)[..len];
        out.fill(T::zero());
        for &(a, b) in alg.terms(m) {
            let ga = &gy(a)[..len];
            match classify(alg, b) {
                Mono::One => {
                    for ((o, g), d) in out.iter_mut().zip(ga).zip(&*d1) {
                        *o = *o + *g * *d;
                    }
                }
                Mono::Dir(i) => {
                    let xi = &x(1 + i)[..len];
                    for (((o, g), d), xv) in out.iter_mut().zip(ga).zip(&*d2).zip(xi) {
                        *o = *o + *g * (*d * *xv);
                    }
                }
                Mono::Pair { m: bm, i, j } => {
                    let (xm, xi, xj) = (&x(bm)[..len], &x(1 + i)[..len], &x(1 + j)[..len]);
                    let w = pair_weight::<T>(i, j);
                    let lanes = out
                        .iter_mut()
                        .zip(ga)
                        .zip(&*d2)
                        .zip(&*d3)
                        .zip(xm)
                        .zip(xi)
                        .zip(xj);
                    for ((((((o, g), b2), b3), xmv), xiv), xjv) in lanes {
                        *o = *o + *g * (*b2 * *xmv + w * *b3 * (*xiv * *xjv));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A jet with `coeffs` stored coefficients of a `rows × cols` batch, values spread over
    /// the range where the activations bend (and a few exact zeros for relu's kink).
    fn jet<T: Float>(coeffs: usize, rows: usize, cols: usize, seed: f64) -> Jet<T> {
        let mut j = Jet::<T>::default();
        j.reset(coeffs, rows, cols);
        for (e, v) in j.data.iter_mut().enumerate() {
            let t = ((e as f64 + 1.0) * seed).sin() * 3.0;
            *v = T::from_f64(if e % 97 == 0 { 0.0 } else { t });
        }
        j
    }

    /// Reference: the per-element rules of `Algebra::compose` and `Algebra::mul`.
    fn reference<T: Float>(
        act: Activation,
        alg: &Algebra,
        x: &Jet<T>,
        gy: Option<&Jet<T>>,
    ) -> Vec<T> {
        let (m, size) = (alg.len(), x.size());
        let mut out = vec![T::zero(); m * size];
        let (mut xe, mut ge, mut de, mut oe) = (
            vec![T::zero(); m],
            vec![T::zero(); m],
            vec![T::zero(); m],
            vec![T::zero(); m],
        );
        for e in 0..size {
            for (mm, v) in xe.iter_mut().enumerate() {
                *v = x.view().coeff(mm).map_or(T::zero(), |c| c[e]);
            }
            let [f0, f1, f2, f3] = act.derivatives(xe[0]);
            match gy {
                None => alg.compose([f0, f1, f2], &xe, &mut oe),
                Some(g) => {
                    for (mm, v) in ge.iter_mut().enumerate() {
                        *v = g.coeff(mm)[e];
                    }
                    alg.compose([f1, f2, f3], &xe, &mut de);
                    alg.mul(&ge, &de, &mut oe);
                }
            }
            for (mm, v) in oe.iter().enumerate() {
                out[mm * size + e] = *v;
            }
        }
        out
    }

    fn check_all_levels<T: Float>() {
        let algebras = [
            Algebra::primal(),
            Algebra::tangents(3),
            Algebra::taylor2(),
            Algebra::hyper_dual(),
            Algebra::all_pairs(3),
        ];
        // 700 elements: two full blocks and a ragged one; large enough for two tasks with
        // all-pairs (10 coefficients).
        let (rows, cols) = (7, 100);
        for (name, act) in Activation::ALL {
            for alg in &algebras {
                let m = alg.len();
                for stored in [1, m] {
                    let x = jet::<T>(stored, rows, cols, 0.37);
                    let gy = jet::<T>(m, rows, cols, 1.71);
                    let want_y = reference(act, alg, &x, None);
                    let want_g = reference(act, alg, &x, Some(&gy));
                    for level in [Level::Portable, Level::Avx2, Level::Avx512] {
                        let mut y = Jet::<T>::default();
                        y.reset(m, rows, cols);
                        y.data.fill(T::nan());
                        forward_at(level, act, alg, x.view(), &mut y);
                        let same = |a: &[T], b: &[T]| {
                            a.iter().zip(b).all(|(p, q)| {
                                p.as_f64().to_bits() == q.as_f64().to_bits()
                                    || (p.is_nan() && q.is_nan())
                            })
                        };
                        assert!(same(&y.data, &want_y), "{name} forward {level:?} {alg:?}");
                        let mut gx = Jet::<T>::default();
                        gx.reset(m, rows, cols);
                        gx.data.fill(T::nan());
                        backward_at(level, act, alg, x.view(), &gy, &mut gx);
                        assert!(same(&gx.data, &want_g), "{name} backward {level:?} {alg:?}");
                    }
                }
            }
        }
    }

    /// Every SIMD level gives bitwise the per-element reference (`Algebra::compose`/`mul` on
    /// the activation's table), for every activation and algebra, in both precisions.
    #[test]
    fn vectorised_kernels_equal_the_per_element_rules_bitwise_at_every_level() {
        check_all_levels::<f64>();
        check_all_levels::<f32>();
    }
}
