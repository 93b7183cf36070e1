//! Colours and tick labels.

use plotters::style::RGBColor;

/// Tableau 10, the matplotlib default cycle.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Palette colour `i` (cycled).
pub(crate) fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Whether palette colour `i` repeats one of the first ten (an odd pass through the cycle):
/// such series are drawn dashed, their markers hollow, so that no two entries of a legend of
/// up to twenty read alike.
pub(crate) fn repeats_colour(i: usize) -> bool {
    (i / PALETTE.len()) % 2 == 1
}

/// Colours of reference lines: dark red, then grey and purple.
pub(crate) fn reference(i: usize) -> RGBColor {
    const REF: [RGBColor; 3] = [
        RGBColor(178, 24, 43),
        RGBColor(90, 90, 90),
        RGBColor(118, 42, 131),
    ];
    REF[i % REF.len()]
}

/// Viridis sampled at 9 evenly spaced points.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// Viridis at `t ∈ [0, 1]` (clamped), linearly interpolated between the samples.
pub(crate) fn viridis(t: f64) -> [u8; 3] {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let s = t * (VIRIDIS.len() - 1) as f64;
    let k = (s.floor() as usize).min(VIRIDIS.len() - 2);
    let f = s - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + f * (f64::from(q) - f64::from(p))).round() as u8;
    [mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2)]
}

/// `c` blended towards white by `amount ∈ [0, 1]`.
pub(crate) fn lighten([r, g, b]: [u8; 3], amount: f64) -> [u8; 3] {
    let l = |c: u8| (f64::from(c) + amount * (255.0 - f64::from(c))).round() as u8;
    [l(r), l(g), l(b)]
}

/// A short tick label: six significant digits, plain notation for magnitudes in
/// [1e-3, 1e5) and exponent notation (`1e-6`) otherwise.
pub(crate) fn tick(v: &f64) -> String {
    let v = *v;
    if v == 0.0 || !v.is_finite() {
        return format!("{}", if v == 0.0 { 0.0 } else { v });
    }
    let rounded: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    if (1e-3..1e5).contains(&rounded.abs()) {
        format!("{rounded}")
    } else {
        format!("{rounded:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(&0.30000000000000004), "0.3");
        assert_eq!(tick(&1e-6), "1e-6");
        assert_eq!(tick(&2.5e7), "2.5e7");
        assert_eq!(tick(&-0.0), "0");
        assert_eq!(tick(&100.0), "100");
        assert_eq!(tick(&f64::INFINITY), "inf");
    }

    #[test]
    fn colormap_ends_and_lighten() {
        assert_eq!(viridis(0.0), [68, 1, 84]);
        assert_eq!(viridis(1.0), [253, 231, 37]);
        assert_eq!(viridis(f64::NAN), [68, 1, 84]);
        assert_eq!(lighten([0, 100, 255], 1.0), [255, 255, 255]);
        assert_eq!(lighten([0, 100, 255], 0.0), [0, 100, 255]);
    }
}
