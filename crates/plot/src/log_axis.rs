//! A logarithmic axis whose ticks stay readable at every span: powers of ten (thinned
//! when there are many decades), then 1-2-5 or 1…9 multiples within decades, and plain
//! 1-2-5 steps when the range lies within a single decade (plotters' own log axis
//! shows no tick at all there).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// `[lo, hi]` with `0 < lo < hi`, mapped by `log10`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LogAxis {
    pub lo: f64,
    pub hi: f64,
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (p0, p1): (i32, i32)) -> i32 {
        let t = (value.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10());
        let t = if t.is_finite() {
            t.clamp(-10.0, 11.0)
        } else {
            -10.0
        };
        (f64::from(p0) + t * f64::from(p1 - p0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        ticks(self.lo, self.hi, hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

/// At most `max` tick values in `[lo, hi]` (the densest readable set).
pub(crate) fn ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) || max == 0 {
        return Vec::new();
    }
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let within = |v: &f64| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12);
    // Thinned powers of ten are the multiples of `every` (10⁰ among them when in range).
    let decades = |mults: &[f64], every: i32| -> Vec<f64> {
        (d0..=d1)
            .filter(|d| d.rem_euclid(every) == 0)
            .flat_map(|d| mults.iter().map(move |m| m * 10f64.powi(d)))
            .filter(within)
            .collect()
    };
    let all: Vec<f64> = (1..10).map(f64::from).collect();
    let mut best = Vec::new();
    for mults in [&[1.0][..], &[1.0, 2.0, 5.0], &all] {
        let t = decades(mults, 1);
        if t.len() > max {
            break;
        }
        best = t;
    }
    if best.len() >= 2 {
        return best;
    }
    if best.is_empty() && decades(&[1.0], 1).len() > max {
        // Many decades: every k-th power of ten.
        let every = (d1 - d0) / max.max(1) as i32 + 1;
        return decades(&[1.0], every);
    }
    linear_ticks(lo, hi, max)
}

/// 1-2-5 steps inside `[lo, hi]`, the finest with at most `max` of them.
fn linear_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let raw = (hi - lo) / max.max(1) as f64;
    let mag = 10f64.powi(raw.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0, 20.0, 50.0]
        .iter()
        .map(|m| {
            let step = m * mag;
            // The tolerance keeps ticks at the ends despite rounding in `step`.
            let first = (lo / step - 1e-9).ceil() as i64;
            let last = (hi / step + 1e-9).floor() as i64;
            (first..=last).map(|k| k as f64 * step).collect::<Vec<_>>()
        })
        .find(|t| t.len() <= max)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_for_each_span() {
        assert_eq!(ticks(1e-3, 10.0, 10), [1e-3, 1e-2, 1e-1, 1.0, 10.0]);
        assert_eq!(
            ticks(1.0, 100.0, 10),
            [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        );
        assert_eq!(
            ticks(15.0, 25.0, 12),
            [15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0]
        );
        assert_eq!(ticks(15.0, 25.0, 10), [16.0, 18.0, 20.0, 22.0, 24.0]);
        assert_eq!(ticks(15.0, 25.0, 4), [15.0, 20.0, 25.0]);
        let many = ticks(1e-300, 1e300, 10);
        assert!(many.len() <= 10 && many.len() >= 5, "{many:?}");
        // Thinned decades are multiples of the step, so 10⁰ is a tick.
        let exponents: Vec<i32> = ticks(3e-34, 2e3, 10)
            .iter()
            .map(|v| v.log10().round() as i32)
            .collect();
        assert_eq!(exponents, [-32, -28, -24, -20, -16, -12, -8, -4, 0]);
        assert!(ticks(0.0, 1.0, 10).is_empty());
        assert!(ticks(2.0, 1.0, 10).is_empty());
    }

    #[test]
    fn map_is_logarithmic() {
        let a = LogAxis { lo: 1.0, hi: 100.0 };
        assert_eq!(a.map(&1.0, (0, 200)), 0);
        assert_eq!(a.map(&10.0, (0, 200)), 100);
        assert_eq!(a.map(&100.0, (0, 200)), 200);
        assert_eq!(a.map(&10.0, (500, 100)), 300);
    }
}
