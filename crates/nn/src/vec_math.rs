//! Branch-free elementary functions for the activation kernels: written with selects instead
//! of branches and without library calls, so that the loops calling them vectorise
//! (docs/engine.md §"Elementwise kernels"). Each is checked against the library function.

/// `tanh` for `f32` as `x·P(x²)/Q(x²)` on `|x| ≤ 7.905` (beyond it `tanh` rounds to ±1 in
/// `f32`), `x` itself for `|x| < 4e-4`. Coefficients: Eigen's `generic_fast_tanh_float`.
#[inline]
pub fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        -2.760_768_5e-16,
        2.000_188e-13,
        -8.604_672e-11,
        5.122_297e-8,
        1.485_722_4e-5,
        6.372_619_3e-4,
        4.893_524_6e-3,
    ];
    const BETA: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    let xc = x.clamp(-CLAMP, CLAMP);
    let x2 = xc * xc;
    let p = ALPHA.iter().fold(0.0f32, |acc, &a| acc * x2 + a) * xc;
    let q = BETA.iter().fold(0.0f32, |acc, &b| acc * x2 + b);
    if x.abs() < 4e-4 {
        x
    } else {
        p / q
    }
}

/// `tanh` for `f64`: `x + x³P(x²)/Q(x²)` for `|x| < 0.625` (the rational form of Cephes'
/// `tanh`), else `±(1 − 2/(e^{2|x|} + 1))` with [`exp_f64`]; both are evaluated and one is
/// selected, so the function has no branch. Within 3 ulp of the library `tanh` (tested), odd,
/// ±1 beyond `|x| = 20`, NaN for NaN.
#[inline]
pub fn tanh_f64(x: f64) -> f64 {
    const P: [f64; 3] = [
        -9.643_991_794_250_523e-1,
        -9.928_772_310_019_185e1,
        -1.614_687_684_417_084_5e3,
    ];
    const Q: [f64; 3] = [
        1.128_116_784_916_329_3e2,
        2.235_488_390_601_004_4e3,
        4.844_063_053_251_255e3,
    ];
    let a = x.abs();
    let z = x * x;
    let p = (P[0] * z + P[1]) * z + P[2];
    let q = ((z + Q[0]) * z + Q[1]) * z + Q[2];
    let small = (x + x * z * (p / q)).copysign(x); // keeps tanh(−0) = −0
                                                   // e^{2|x|} ≥ e^{1.25} on the branch that uses it; 2|x| ≤ 40 keeps it finite, and beyond
                                                   // |x| = 20 the result rounds to ±1 anyway.
    let e = exp_f64((2.0 * a).min(40.0));
    let large = (1.0 - 2.0 / (e + 1.0)).copysign(x);
    let y = if a < 0.625 { small } else { large };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `eˣ` for `f64` on `[−700, 700]`, without branches: `x = n·ln2 + r` (Cody–Waite, `|r| ≤ ½ln2`),
/// `eʳ = 1 + 2r·P(r²)/(Q(r²) − r·P(r²))` (Cephes' Padé form, about 1 ulp), scaled by `2ⁿ`
/// built from its bits. The rounding of `n` uses the `1.5·2⁵²` shift, so no float-to-integer
/// conversion is needed and the loop vectorises with AVX2 alone.
#[inline]
pub fn exp_f64(x: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const C1: f64 = 6.931_457_519_531_25e-1;
    const C2: f64 = 1.428_606_820_309_417_2e-6;
    const P: [f64; 3] = [1.261_771_930_748_106e-4, 3.029_944_077_074_419_6e-2, 1.0];
    const Q: [f64; 4] = [
        3.001_985_051_386_644_6e-6,
        2.524_483_403_496_841e-3,
        2.272_655_482_081_550_3e-1,
        2.0,
    ];
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²: adding it rounds to an integer
    let t = x * LOG2E + SHIFT;
    let n = t - SHIFT;
    let r = x - n * C1 - n * C2;
    let rr = r * r;
    let px = r * ((P[0] * rr + P[1]) * rr + P[2]);
    let qx = ((Q[0] * rr + Q[1]) * rr + Q[2]) * rr + Q[3];
    let er = 1.0 + 2.0 * (px / (qx - px));
    // The low bits of `t` hold n (two's complement, |n| < 2⁵¹): 2ⁿ has exponent field n + 1023.
    let n_bits = t.to_bits().wrapping_sub(SHIFT.to_bits());
    let scale = f64::from_bits(n_bits.wrapping_add(1023) << 52);
    er * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 activation tanh stays within 3 ulp-ish of the exact value over the range that
    /// matters, is odd, saturates to ±1 and propagates NaN.
    #[test]
    fn f32_tanh_is_accurate() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5;
            let exact = f64::from(x).tanh();
            let got = f64::from(tanh_f32(x));
            let err = (got - exact).abs() / exact.abs().max(1e-30);
            worst = worst.max(err);
            assert_eq!(tanh_f32(x), -tanh_f32(-x));
        }
        assert!(
            worst < 4.0 * f64::from(f32::EPSILON),
            "max relative error {worst:e}"
        );
        assert_eq!(tanh_f32(20.0), 1.0);
        assert_eq!(tanh_f32(-1e30), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    /// Distance in units in the last place of `want`.
    fn ulps(got: f64, want: f64) -> f64 {
        if got == want {
            return 0.0;
        }
        let ulp = f64::from_bits(want.abs().to_bits() + 1) - want.abs();
        (got - want).abs() / ulp
    }

    /// The f64 activation tanh is within 3 ulp of the library `tanh` on a dense grid (and on
    /// tiny and huge arguments), odd, exact at ±0 and ±1 in the tails, NaN for NaN.
    #[test]
    fn f64_tanh_is_within_3_ulp_of_the_library() {
        let mut worst = 0.0f64;
        let grid = (-1_000_000..=1_000_000).map(|i| i as f64 * 2.5e-5);
        let spread = (-300..=300).map(|e| 1.17f64.powi(e));
        for x in grid.chain(spread) {
            for x in [x, -x] {
                worst = worst.max(ulps(tanh_f64(x), x.tanh()));
                assert_eq!(
                    tanh_f64(x).to_bits(),
                    (-tanh_f64(-x)).to_bits(),
                    "odd at {x}"
                );
            }
        }
        assert!(worst <= 3.0, "max error {worst} ulp");
        assert_eq!(tanh_f64(0.0).to_bits(), 0.0f64.to_bits());
        assert_eq!(tanh_f64(-0.0).to_bits(), (-0.0f64).to_bits());
        assert_eq!(tanh_f64(25.0), 1.0);
        assert_eq!(tanh_f64(f64::NEG_INFINITY), -1.0);
        assert!(tanh_f64(f64::NAN).is_nan());
    }

    #[test]
    fn f64_exp_is_within_2_ulp_of_the_library() {
        let mut worst = 0.0f64;
        for i in -700_000..=700_000 {
            let x = i as f64 * 1e-3 + 3.7e-7;
            worst = worst.max(ulps(exp_f64(x), x.exp()));
        }
        assert!(worst <= 2.0, "max error {worst} ulp");
        assert_eq!(exp_f64(0.0), 1.0);
    }
}
