//! Axis ranges and clipping. Clipping happens in "axis space" (log10 of the value on a
//! log axis), where the visible region is a rectangle and lines stay straight.

/// One axis: visible range in data units and whether it is logarithmic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub log: bool,
}

impl Axis {
    /// Whether `v` can be placed on this axis at all.
    pub fn admits(&self, v: f64) -> bool {
        v.is_finite() && (!self.log || v > 0.0)
    }

    fn to_space(self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }

    fn data_at(self, s: f64) -> f64 {
        if self.log {
            10f64.powf(s)
        } else {
            s
        }
    }

    /// A given range `(lo, hi)`; it must be finite with `lo < hi` (and `lo > 0` on a log axis).
    pub fn fixed((lo, hi): (f64, f64), log: bool) -> anyhow::Result<Axis> {
        let axis = Axis { lo, hi, log };
        if !(axis.admits(lo) && axis.admits(hi) && lo < hi) {
            anyhow::bail!(
                "axis range ({lo}, {hi}) must be finite with low < high{}",
                if log {
                    " and low > 0 on a log axis"
                } else {
                    ""
                }
            );
        }
        Ok(axis)
    }

    /// A range covering `values` (those the axis admits) and `extra`, padded by 5% of the
    /// span (of the decades on a log axis); a sensible default when nothing is admissible.
    pub fn fit(values: impl IntoIterator<Item = f64>, log: bool) -> Axis {
        let probe = Axis {
            lo: 1.0,
            hi: 1.0,
            log,
        };
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.into_iter().filter(|&v| probe.admits(v)) {
            let s = probe.to_space(v);
            lo = lo.min(s);
            hi = hi.max(s);
        }
        if lo > hi {
            (lo, hi) = (0.0, 1.0);
        } else if hi - lo <= 1e-12 * lo.abs().max(hi.abs()).max(1e-300) {
            let pad = if log { 0.5 } else { 0.5 * lo.abs().max(1.0) };
            (lo, hi) = (lo - pad, hi + pad);
        } else {
            let pad = 0.05 * (hi - lo);
            (lo, hi) = (lo - pad, hi + pad);
        }
        Axis {
            lo: probe.data_at(lo),
            hi: probe.data_at(hi),
            log,
        }
    }
}

/// The visible rectangle of a chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub x: Axis,
    pub y: Axis,
}

impl Frame {
    /// Splits the polyline through `xs`, `ys` into the pieces that are visible: a point
    /// the axes cannot show breaks the line, and segments are cut at the frame's edges
    /// (Liang–Barsky in axis space). Pieces of a single point are dropped.
    pub fn clip_polyline(&self, xs: &[f64], ys: &[f64]) -> Vec<Vec<(f64, f64)>> {
        let (x0, x1) = (self.x.to_space(self.x.lo), self.x.to_space(self.x.hi));
        let (y0, y1) = (self.y.to_space(self.y.lo), self.y.to_space(self.y.hi));
        let mut pieces: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut current: Vec<(f64, f64)> = Vec::new();
        let mut prev: Option<(f64, f64)> = None;
        for (&x, &y) in xs.iter().zip(ys) {
            let p = (self.x.admits(x) && self.y.admits(y))
                .then(|| (self.x.to_space(x), self.y.to_space(y)));
            match (prev, p) {
                (Some(a), Some(b)) => match clip_segment(a, b, (x0, x1), (y0, y1)) {
                    Some((ca, cb)) => {
                        if current.last() != Some(&ca) {
                            if !current.is_empty() {
                                pieces.push(std::mem::take(&mut current));
                            }
                            current.push(ca);
                        }
                        current.push(cb);
                        if cb != b {
                            pieces.push(std::mem::take(&mut current));
                        }
                    }
                    None => {
                        if !current.is_empty() {
                            pieces.push(std::mem::take(&mut current));
                        }
                    }
                },
                (None, Some(b)) => {
                    if (x0..=x1).contains(&b.0) && (y0..=y1).contains(&b.1) {
                        current.push(b);
                    }
                }
                (_, None) => {
                    if !current.is_empty() {
                        pieces.push(std::mem::take(&mut current));
                    }
                }
            }
            prev = p;
        }
        if !current.is_empty() {
            pieces.push(current);
        }
        pieces
            .into_iter()
            .filter(|piece| piece.len() >= 2)
            .map(|piece| {
                piece
                    .into_iter()
                    .map(|(sx, sy)| (self.x.data_at(sx), self.y.data_at(sy)))
                    .collect()
            })
            .collect()
    }

    /// The points the frame shows (for markers), in data units.
    pub fn visible_points(&self, xs: &[f64], ys: &[f64]) -> Vec<(f64, f64)> {
        xs.iter()
            .zip(ys)
            .filter(|&(&x, &y)| {
                self.x.admits(x)
                    && self.y.admits(y)
                    && (self.x.lo..=self.x.hi).contains(&x)
                    && (self.y.lo..=self.y.hi).contains(&y)
            })
            .map(|(&x, &y)| (x, y))
            .collect()
    }
}

/// A corner of the frame, for placing the legend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Corner {
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
}

impl Frame {
    /// The corner whose quarter-size box (40% of each axis) holds the fewest of the
    /// given points; ties go to upper right, upper left, lower right, lower left.
    pub fn emptiest_corner<'a>(
        &self,
        points: impl IntoIterator<Item = (&'a [f64], &'a [f64])>,
    ) -> Corner {
        let frac = |a: &Axis, v: f64| {
            (a.to_space(v) - a.to_space(a.lo)) / (a.to_space(a.hi) - a.to_space(a.lo))
        };
        let mut counts = [0usize; 4];
        for (xs, ys) in points {
            for (&x, &y) in xs.iter().zip(ys) {
                if !(self.x.admits(x) && self.y.admits(y)) {
                    continue;
                }
                let (u, v) = (frac(&self.x, x), frac(&self.y, y));
                let (right, left, top, bottom) = (u >= 0.6, u <= 0.4, v >= 0.6, v <= 0.4);
                for (k, inside) in [top && right, top && left, bottom && right, bottom && left]
                    .into_iter()
                    .enumerate()
                {
                    counts[k] += usize::from(inside);
                }
            }
        }
        let best = (0..4).min_by_key(|&k| counts[k]).unwrap_or(0);
        [
            Corner::UpperRight,
            Corner::UpperLeft,
            Corner::LowerRight,
            Corner::LowerLeft,
        ][best]
    }
}

/// Liang–Barsky: the part of segment `a→b` inside `[x0,x1]×[y0,y1]`, if any.
fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - x0),
        (dx, x1 - a.0),
        (-dy, a.1 - y0),
        (dy, y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lin(lo: f64, hi: f64) -> Axis {
        Axis { lo, hi, log: false }
    }

    fn assert_pieces(got: Vec<Vec<(f64, f64)>>, want: Vec<Vec<(f64, f64)>>) {
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.len(), w.len(), "{got:?}");
            for (a, b) in g.iter().zip(w) {
                assert!(
                    (a.0 - b.0).abs() < 1e-12 && (a.1 - b.1).abs() < 1e-12,
                    "{got:?}"
                );
            }
        }
    }

    #[test]
    fn fit_pads_and_skips_what_the_axis_cannot_show() {
        let a = Axis::fit([0.0, 10.0, f64::NAN, f64::INFINITY], false);
        assert_eq!((a.lo, a.hi), (-0.5, 10.5));
        let a = Axis::fit([0.0, -1.0, 1e-3, 1e3], true);
        assert!((a.lo.log10() + 3.3).abs() < 1e-12 && (a.hi.log10() - 3.3).abs() < 1e-12);
        let a = Axis::fit([0.0, -5.0], true);
        assert_eq!((a.lo, a.hi), (1.0, 10.0));
        let a = Axis::fit([2.0, 2.0], false);
        assert!(a.lo < 2.0 && a.hi > 2.0);
    }

    #[test]
    fn clipping_breaks_at_gaps_and_edges() {
        let f = Frame {
            x: lin(0.0, 10.0),
            y: lin(0.0, 10.0),
        };
        let xs = [1.0, 2.0, f64::NAN, 4.0, 5.0, 20.0, 6.0, 7.0];
        let ys = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0];
        assert_pieces(
            f.clip_polyline(&xs, &ys),
            vec![
                vec![(1.0, 1.0), (2.0, 2.0)],
                vec![(4.0, 4.0), (5.0, 5.0), (10.0, 5.0)],
                vec![(10.0, 5.0), (6.0, 5.0), (7.0, 5.0)],
            ],
        );
        // A segment that crosses the frame entirely is kept as its visible chord.
        assert_pieces(
            f.clip_polyline(&[-5.0, 15.0], &[5.0, 5.0]),
            vec![vec![(0.0, 5.0), (10.0, 5.0)]],
        );
        assert!(f.clip_polyline(&[-5.0, -4.0], &[5.0, 5.0]).is_empty());
    }

    #[test]
    fn legend_goes_where_the_data_are_not() {
        let f = Frame {
            x: lin(0.0, 10.0),
            y: lin(0.0, 10.0),
        };
        let rising: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(
            f.emptiest_corner([(&rising[..], &rising[..])]),
            Corner::UpperLeft
        );
        let falling: Vec<f64> = rising.iter().map(|v| 10.0 - v).collect();
        assert_eq!(
            f.emptiest_corner([(&rising[..], &falling[..])]),
            Corner::UpperRight
        );
        let top = [9.0; 11];
        assert_eq!(
            f.emptiest_corner([(&rising[..], &top[..])]),
            Corner::LowerRight
        );
    }

    #[test]
    fn log_axes_skip_non_positive_points() {
        let f = Frame {
            x: lin(0.0, 10.0),
            y: Axis {
                lo: 1e-3,
                hi: 1e3,
                log: true,
            },
        };
        let pieces = f.clip_polyline(&[1.0, 2.0, 3.0, 4.0], &[1.0, 0.0, 10.0, 100.0]);
        assert_eq!(pieces.len(), 1);
        assert_eq!(pieces[0].len(), 2);
        assert!((pieces[0][1].1 - 100.0).abs() < 1e-9);
        assert_eq!(
            f.visible_points(&[1.0, 2.0], &[-1.0, 5.0]),
            vec![(2.0, 5.0)]
        );
    }
}
